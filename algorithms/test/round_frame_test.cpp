// algorithms/test/round_frame_test.cpp — the round frame of the barrier-round methods on its
// own: the slices cover every coordinate exactly once for awkward sizes, the shared-memory
// combine's sums (worker order, x / 1 exact), and a scripted rule through the real runner: the
// combine is called once per worker per round over the worker's slice, the budget is exact with
// a shortened last round, and the stop decision (a round not combined, the run's stop flag).
#include "algorithms/round_frame.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "algorithms/combine.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

TEST(Slices, CoverEveryCoordinateExactlyOnceInWorkerOrder) {
  for (std::size_t dim : {0UL, 1UL, 2UL, 5UL, 7UL, 64UL, 1001UL}) {
    for (std::size_t n : {1UL, 2UL, 3UL, 4UL, 7UL, 8UL, 13UL}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + " workers " + std::to_string(n));
      std::vector<int> hits(dim, 0);
      std::size_t next = 0;
      for (std::size_t w = 0; w < n; ++w) {
        const Slice s = slice_of(dim, w, n);
        ASSERT_EQ(s.lo, next);  // contiguous, in worker order
        ASSERT_LE(s.lo, s.hi);
        EXPECT_LE(s.size(), dim / n + 1);  // balanced: sizes differ by at most one
        EXPECT_GE(s.size(), dim / n);
        for (std::size_t i = s.lo; i < s.hi; ++i) ++hits[i];
        next = s.hi;
      }
      EXPECT_EQ(next, dim);
      for (std::size_t i = 0; i < dim; ++i) EXPECT_EQ(hits[i], 1) << "coordinate " << i;
    }
  }
}

TEST(SharedMemoryCombine, MeanAndWeightedSumRunInWorkerOrderOverTheSlice) {
  SharedMemoryCombine<float> c;
  c.init(heap_shared_memory(), 4, 3);
  ASSERT_EQ(c.workers(), 3U);
  const std::vector<std::vector<float>> values = {
      {1.0F, 1e8F, 3.0F, 4.0F}, {2.0F, 1.0F, 5.0F, 6.0F}, {3.0F, -1e8F, 7.0F, 8.0F}};
  for (std::size_t w = 0; w < 3; ++w)
    std::copy(values[w].begin(), values[w].end(), c.buffer(w).begin());
  std::vector<float> out(4, -1.0F);
  c.mean(Slice{1, 3}, std::span<float>(out).subspan(1, 2));
  // (1e8 + 1) rounds to 1e8 before -1e8 is added: the worker-order sum is 0, not 1/3.
  EXPECT_EQ(out[1], 0.0F);
  EXPECT_EQ(out[2], 5.0F);
  EXPECT_EQ(out[0], -1.0F);  // outside the slice: untouched
  EXPECT_EQ(out[3], -1.0F);
  const std::vector<float> weights = {0.5F, 0.0F, 0.25F};
  c.weighted_sum(Slice{0, 4}, weights, out);
  EXPECT_EQ(out[0], 0.5F * 1.0F + 0.25F * 3.0F);
  EXPECT_EQ(out[3], 0.5F * 4.0F + 0.25F * 8.0F);

  SharedMemoryCombine<double> one;  // one worker: the mean is the buffer bit for bit
  one.init(heap_shared_memory(), 3, 1);
  const std::vector<double> x = {0.1, 1.0 / 3.0, -7e-300};
  std::copy(x.begin(), x.end(), one.buffer(0).begin());
  std::vector<double> mean(3);
  one.mean(Slice{0, 3}, mean);
  EXPECT_TRUE(testing::same_bits<double>(mean, x));
}

// The reductions run block by block (combine.hpp); each coordinate must still get the additions
// of the coordinate-by-coordinate loop, in worker order: compared bit for bit with that loop on
// random values of mixed magnitudes, over a slice that starts inside a block and spans several.
TEST(SharedMemoryCombine, BlockedReductionsAreTheCoordinateLoopBitForBit) {
  constexpr std::size_t kDim = 5000;
  constexpr std::size_t kWorkers = 3;
  SharedMemoryCombine<float> c;
  c.init(heap_shared_memory(), kDim, kWorkers);
  std::uint32_t state = 12345;
  auto next = [&state] {  // a fixed LCG: values of magnitudes 1e-3 to 1e3, both signs
    state = state * 1664525U + 1013904223U;
    const float unit = static_cast<float>(state >> 8) / 16777216.0F;
    return (unit - 0.5F) * static_cast<float>(std::pow(10.0, (state % 7) - 3.0));
  };
  for (std::size_t w = 0; w < kWorkers; ++w) {
    for (float& v : c.buffer(w)) v = next();
  }
  const Slice s{37, 4711, 1};
  const std::vector<float> weights = {0.3F, -1.7F, 2.5F};
  std::vector<float> want_sum(s.size()), want_mean(s.size()), want_weighted(s.size());
  for (std::size_t i = s.lo; i < s.hi; ++i) {
    float sum = c.buffer(0)[i];
    float weighted = weights[0] * c.buffer(0)[i];
    for (std::size_t w = 1; w < kWorkers; ++w) {
      sum += c.buffer(w)[i];
      weighted += weights[w] * c.buffer(w)[i];
    }
    want_sum[i - s.lo] = sum;
    want_mean[i - s.lo] = sum / static_cast<float>(kWorkers);
    want_weighted[i - s.lo] = weighted;
  }
  std::vector<float> got(s.size());
  c.sum(s, got);
  EXPECT_TRUE(testing::same_bits<float>(got, want_sum));
  c.mean(s, got);
  EXPECT_TRUE(testing::same_bits<float>(got, want_mean));
  c.weighted_sum(s, weights, got);
  EXPECT_TRUE(testing::same_bits<float>(got, want_weighted));
}

// A RoundCombine that counts its calls and, per coordinate, the reductions that covered it.
class CountingCombine {
 public:
  void init(SharedMemory& memory, std::size_t dim, std::size_t workers) {
    inner_.init(memory, dim, workers);
    hits_ = std::vector<std::atomic<int>>(dim);
  }
  [[nodiscard]] std::span<float> buffer(std::size_t w) noexcept { return inner_.buffer(w); }
  [[nodiscard]] std::size_t workers() const noexcept { return inner_.workers(); }
  [[nodiscard]] std::size_t total_workers() const noexcept { return inner_.total_workers(); }
  void agree(RoundTally& tally) noexcept { inner_.agree(tally); }
  // relaxed: plain counters, read by the test after the runner joined the workers.
  void mean(Slice s, std::span<float> out) const noexcept {
    calls_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = s.lo; i < s.hi; ++i) hits_[i].fetch_add(1, std::memory_order_relaxed);
    inner_.mean(s, out);
  }
  void weighted_sum(Slice s, std::span<const float> weights, std::span<float> out) const noexcept {
    inner_.weighted_sum(s, weights, out);
  }
  [[nodiscard]] int calls() const noexcept { return calls_.load(std::memory_order_relaxed); }
  [[nodiscard]] int hits(std::size_t i) const noexcept {
    return hits_[i].load(std::memory_order_relaxed);
  }

 private:
  SharedMemoryCombine<float> inner_;
  mutable std::vector<std::atomic<int>> hits_;
  mutable std::atomic<int> calls_{0};
};
static_assert(RoundCombine<CountingCombine, float>);

// A scripted rule: every round applies `round` updates (fewer at the budget's end); worker w's
// buffer is theta + (w + 1), so a combined round adds the mean (W + 1) / 2 to every coordinate.
// Round `fail_round` is not combined; in round `stop_round` worker 0 raises the run's stop flag.
class ScriptedRounds final : public Algorithm {
 public:
  ScriptedRounds(std::int64_t round, std::int64_t fail_round, std::int64_t stop_round)
      : round_(round), fail_round_(fail_round), stop_round_(stop_round) {}
  [[nodiscard]] std::string_view name() const override { return "scripted-rounds"; }
  void init(std::span<const float> theta0, const BasicTrainingSetup<float>& setup) override {
    frame_.init(theta0, setup);
    calls_ = 0;
  }
  void run_worker(BasicWorkerContext<float>& ctx) noexcept override { frame_.run(ctx); }
  void read_params(std::span<float> out) const override { frame_.read_params(out); }
  const CountingCombine& combine() { return frame_.combine(); }
  [[nodiscard]] std::int64_t rounds() const noexcept { return frame_.rounds(); }
  [[nodiscard]] std::int64_t end_of_local_calls() const noexcept { return calls_; }

 private:
  friend class RoundFrame<float, ScriptedRounds, CountingCombine>;
  void local_phase(BasicWorkerContext<float>& ctx, RoundLeft /*left*/) noexcept {
    const auto me = static_cast<std::size_t>(ctx.worker_id);
    const std::span<float> theta = frame_.theta();
    const std::span<float> mine = frame_.combine().buffer(me);
    for (std::size_t i = 0; i < theta.size(); ++i) mine[i] = theta[i] + static_cast<float>(me + 1);
    ++ctx.stats->computed;  // one "gradient" per round, for the frame's discard count
    if (me == 0 && calls_ == stop_round_) ctx.control->request_stop(StopReason::kTimeLimit);
  }
  RoundOutcome<float> end_of_local(RoundLeft left) noexcept {
    const bool combined = calls_++ != fail_round_;
    return {combined, std::min(round_, left.updates), 0.5F};
  }
  void combine_slice(BasicWorkerContext<float>& /*ctx*/, Slice s) noexcept {
    frame_.combine().mean(s, s.of(frame_.theta()));
  }
  void discard(BasicWorkerContext<float>& /*ctx*/) noexcept {}

  std::int64_t round_;
  std::int64_t fail_round_;
  std::int64_t stop_round_;
  RoundFrame<float, ScriptedRounds, CountingCombine> frame_{*this};
  std::int64_t calls_ = 0;  // end_of_local only (one thread per round); read after the join
};

struct Scripted {
  TrainingOutcome outcome;
  std::int64_t rounds = 0;
  std::int64_t calls = 0;
  int combine_calls = 0;
  std::vector<int> hits;
};

Scripted run_scripted(int threads, std::size_t features, std::int64_t budget, std::int64_t round,
                      std::int64_t fail_round, std::int64_t stop_round) {
  const testing::LeastSquares model(features);
  const Dataset data = testing::random_floats(32, features, 2, 1);
  RunnerOptions o = testing::small_run(threads, 5);
  o.total_updates = budget;
  o.updates_per_epoch = 4;
  ScriptedRounds algo(round, fail_round, stop_round);
  Scripted s;
  s.outcome = run_training(algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  s.rounds = algo.rounds();
  s.calls = algo.end_of_local_calls();
  s.combine_calls = algo.combine().calls();
  for (std::size_t i = 0; i < model.num_params(); ++i) s.hits.push_back(algo.combine().hits(i));
  return s;
}

TEST(RoundFrame, CombinesEverySliceOncePerRoundAndAppliesExactlyTheBudget) {
  for (int threads : {1, 2, 3}) {
    for (std::size_t features : {1UL, 6UL}) {  // 2 and 7 parameters: empty and uneven slices
      SCOPED_TRACE("threads " + std::to_string(threads) + " params " +
                   std::to_string(features + 1));
      const Scripted s = run_scripted(threads, features, 10, 3, -1, -1);
      EXPECT_EQ(s.outcome.applied_updates, 10);  // rounds of 3, 3, 3 and the remainder 1
      EXPECT_EQ(s.outcome.stop_reason, StopReason::kNone);
      EXPECT_EQ(s.rounds, 4);
      EXPECT_EQ(s.calls, 4);  // the rule's decision: once per round
      EXPECT_EQ(s.combine_calls, 4 * threads);
      for (int h : s.hits) EXPECT_EQ(h, 4);
      const float per_round = static_cast<float>(threads + 1) / 2.0F;  // exact for these W
      for (float v : s.outcome.final_params) EXPECT_EQ(v, 4.0F * per_round);
      EXPECT_EQ(s.outcome.workers[0].applied, 10);
      EXPECT_EQ(s.outcome.workers[0].staleness.count(), 10);
      for (std::size_t w = 1; w < s.outcome.workers.size(); ++w) {
        EXPECT_EQ(s.outcome.workers[w].applied, 0);
      }
      // Every epoch of 4 updates is checkpointed by the round that completes it.
      testing::expect_round_snapshots(s.outcome, 3, 4, 8);
    }
  }
}

TEST(RoundFrame, ARoundNotCombinedStopsTheRunAndIsDiscarded) {
  for (int threads : {1, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const Scripted s = run_scripted(threads, 6, 100, 3, /*fail_round=*/2, -1);
    EXPECT_EQ(s.calls, 3);
    EXPECT_EQ(s.rounds, 2);
    EXPECT_EQ(s.outcome.applied_updates, 6);
    EXPECT_EQ(s.combine_calls, 2 * threads);
    for (const WorkerStats& w : s.outcome.workers) {
      EXPECT_EQ(w.computed, 3);
      EXPECT_EQ(w.discarded_at_end, 1);  // the round not combined
    }
  }
}

TEST(RoundFrame, TheStopFlagEndsTheRunAfterItsRoundIsCombined) {
  for (int threads : {1, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const Scripted s = run_scripted(threads, 6, 100, 3, -1, /*stop_round=*/1);
    EXPECT_EQ(s.outcome.stop_reason, StopReason::kTimeLimit);
    EXPECT_EQ(s.rounds, 2);
    EXPECT_EQ(s.outcome.applied_updates, 6);
    for (const WorkerStats& w : s.outcome.workers) EXPECT_EQ(w.discarded_at_end, 0);
  }
}

}  // namespace
}  // namespace psgd
