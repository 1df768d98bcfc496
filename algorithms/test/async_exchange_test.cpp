// algorithms/test/async_exchange_test.cpp — `async-exchange` on the toy problems: one thread with
// H = 1 and merge overwrite is seq bit for bit, the exact budget and computed = applied +
// discarded (nothing dropped) for every merge rule and 1..4 threads, every reserved interval
// merged when all workers pulled at once, staleness in merges, convergence, stops (at most one
// merge interval lost per worker).
#include "algorithms/async_exchange.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

using testing::full_loss;
using testing::LeastSquares;

// LeastSquares whose first gradient on each worker waits until `workers` workers have made
// theirs: every worker has pulled (and reserved its interval) before any merges. The wait gives
// up after 30 s, so a worker that never comes shows as a failed count, not a hang.
class Rendezvous final : public BasicModel<float> {
 public:
  Rendezvous(std::size_t num_features, int workers) : inner_(num_features), workers_(workers) {}
  [[nodiscard]] std::string spec() const override { return "toy-rendezvous"; }
  [[nodiscard]] std::size_t num_params() const override { return inner_.num_params(); }
  [[nodiscard]] std::vector<ParamBlock> layout() const override { return inner_.layout(); }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t) const override {
    return std::make_unique<Arrival>();
  }
  float loss_and_gradient(std::span<const float> theta, const Batch& batch, std::span<float> grad,
                          Workspace& ws) const noexcept override {
    auto& arrival = static_cast<Arrival&>(ws);
    if (!arrival.arrived) {
      arrival.arrived = true;
      // acq_rel / acquire: only a count to wait on; the parameters pass through the algorithm's
      // own lock.
      arrivals_.fetch_add(1, std::memory_order_acq_rel);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (arrivals_.load(std::memory_order_acquire) < workers_ &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
    }
    return inner_.loss_and_gradient(theta, batch, grad, ws);  // LeastSquares keeps nothing in ws
  }
  EvalSums evaluate(std::span<const float> theta, const Batch& batch,
                    Workspace& ws) const noexcept override {
    return inner_.evaluate(theta, batch, ws);
  }

 private:
  struct Arrival final : Workspace {
    bool arrived = false;
  };
  LeastSquares<float> inner_;
  int workers_;
  mutable std::atomic<int> arrivals_{0};
};

// Every worker's counts add up: nothing dropped, every computed step merged or (on a stop)
// discarded, at most one interval of H steps per worker; the merges in report() match.
void expect_conserved(const TrainingOutcome& r, const nlohmann::json& report, std::int64_t h) {
  std::int64_t applied = 0, merges = 0;
  for (const WorkerStats& s : r.workers) {
    EXPECT_EQ(s.dropped, 0);
    EXPECT_EQ(s.computed, s.applied + s.discarded_at_end);
    EXPECT_LE(s.discarded_at_end, h);
    EXPECT_EQ(s.staleness.count(), s.applied);
    applied += s.applied;
  }
  EXPECT_EQ(applied, r.applied_updates);
  for (const nlohmann::json& m : report.at("merges_per_worker")) merges += m.get<std::int64_t>();
  EXPECT_EQ(merges, report.at("merges").get<std::int64_t>());
  EXPECT_EQ(report.at("merge_staleness").at("count").get<std::int64_t>(), merges);
  EXPECT_GE(merges * h, applied);  // no merge carries more than H steps
}

RunnerOptions toy_options(int threads) {
  RunnerOptions o = testing::small_run(threads, 11);
  o.total_updates = 503;
  return o;
}

TEST(AsyncExchange, OneThreadOneStepOverwriteMatchesSeqBitForBit) {
  AsyncExchange<float> one_step(1, MergeRule::kOverwrite);
  testing::expect_one_thread_matches_seq<float>(one_step);
  // Overwrite with any H and one worker is still seq: the replica is theta.
  AsyncExchange<float> five_steps(5, MergeRule::kOverwrite);
  testing::expect_one_thread_final_state_matches_seq<float>(five_steps);
}

TEST(AsyncExchange, ExactBudgetAndAccounting) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (MergeRule rule : {MergeRule::kAverage, MergeRule::kOverwrite, MergeRule::kDelta}) {
    for (std::int64_t h : {1, 4}) {
      for (int threads : {1, 2, 3, 4}) {
        SCOPED_TRACE(std::string(name_of(kMergeRules, rule)) + " H " + std::to_string(h) +
                     " threads " + std::to_string(threads));
        AsyncExchange algo(h, rule);
        const TrainingOutcome r = run_training(
            algo, model, data, std::vector<float>(model.num_params()), toy_options(threads));
        EXPECT_EQ(r.applied_updates, 503);
        EXPECT_EQ(r.stop_reason, StopReason::kNone);
        expect_conserved(r, algo.report(), h);
        for (const WorkerStats& s : r.workers) EXPECT_EQ(s.discarded_at_end, 0);
        for (std::int64_t v = 100; v <= 500; v += 100) {
          const std::size_t k = r.checkpoints->slot_of(v);
          ASSERT_TRUE(r.checkpoints->slot(k).filled) << "update " << v;
          EXPECT_GE(r.checkpoints->slot(k).updates, v);
        }
      }
    }
  }
}

// All W workers pull before any merges, with a budget that leaves the last one a short interval
// (H (W - 1) + 2 steps): every reservation is merged, each merge in turn (staleness 0, 1, ...,
// W - 1 other merges), and nothing is dropped. (Before reservations, every worker planned H
// steps from the budget it saw at its pull and the last merge, past the budget, was dropped.)
TEST(AsyncExchange, EveryWorkersIntervalIsMergedAtTheBudgetsEnd) {
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  constexpr std::int64_t kH = 4;
  for (int threads : {2, 3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const Rendezvous model(6, threads);
    RunnerOptions o = toy_options(threads);
    o.total_updates = kH * (threads - 1) + 2;
    AsyncExchange algo(kH, MergeRule::kDelta);
    const TrainingOutcome r =
        run_training(algo, model, data, std::vector<float>(model.num_params()), o);
    const nlohmann::json report = algo.report();
    EXPECT_EQ(r.applied_updates, o.total_updates);
    expect_conserved(r, report, kH);
    std::int64_t computed = 0;
    for (const WorkerStats& s : r.workers) computed += s.computed;
    EXPECT_EQ(computed, o.total_updates);  // every gradient computed was applied
    EXPECT_EQ(report.at("merges"), threads);
    EXPECT_EQ(report.at("merges_per_worker"), std::vector<std::int64_t>(threads, 1));
    EXPECT_EQ(report.at("merge_staleness").at("histogram"), std::vector<std::int64_t>(threads, 1));
    EXPECT_EQ(report.at("merge_staleness").at("max"), threads - 1);
  }
}

// At one thread no one else merges: merge staleness 0 for every one of the ceil(U / H) merges.
TEST(AsyncExchange, OneThreadMergeStalenessIsZero) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  AsyncExchange algo(4, MergeRule::kAverage);
  const TrainingOutcome r =
      run_training(algo, model, data, std::vector<float>(model.num_params()), toy_options(1));
  const nlohmann::json report = algo.report();
  expect_conserved(r, report, 4);
  EXPECT_EQ(report.at("merges"), 126);  // 125 of 4 steps, the last of 3: 503 in all
  EXPECT_EQ(report.at("merges_per_worker"), std::vector<std::int64_t>{126});
  EXPECT_EQ(report.at("merge_staleness").at("histogram"), std::vector<std::int64_t>{126});
  EXPECT_EQ(report.at("merge_staleness").at("max"), 0);
  EXPECT_EQ(r.workers[0].staleness.max(), 0);
}

// Every rule converges on the convex toy: overwrite and delta near seq's loss; average (which
// halves every merge's progress) well below the initial loss.
TEST(AsyncExchange, ConvergesOnConvexToy) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(256, 6, 3, 4);
  const std::vector<float> theta0(model.num_params(), 0.0F);
  RunnerOptions o = toy_options(1);
  o.step = 0.05F;
  o.total_updates = 3000;
  SequentialSgd<float> seq;
  const double initial = full_loss(model, data, theta0);
  const double want =
      full_loss(model, data, run_training(seq, model, data, theta0, o).final_params);
  for (MergeRule rule : {MergeRule::kAverage, MergeRule::kOverwrite, MergeRule::kDelta}) {
    for (int threads : {1, 2, 4}) {
      o.threads = threads;
      AsyncExchange algo(4, rule);
      const double got =
          full_loss(model, data, run_training(algo, model, data, theta0, o).final_params);
      const double bound = rule == MergeRule::kAverage ? 0.5 * initial : 1.25 * want;
      EXPECT_LT(got, bound) << name_of(kMergeRules, rule) << " threads " << threads;
    }
  }
}

TEST(AsyncExchange, DivergenceAndTimeLimitStopEveryWorker) {
  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  RunnerOptions o = toy_options(3);
  o.step = 1e18F;
  o.total_updates = 10'000'000;
  o.updates_per_epoch = 5000;
  AsyncExchange diverging(3, MergeRule::kDelta);
  const TrainingOutcome d =
      run_training(diverging, model, data, std::vector<float>(model.num_params(), 1.0F), o);
  EXPECT_EQ(d.stop_reason, StopReason::kDiverged);
  EXPECT_LT(d.applied_updates, 100000);
  expect_conserved(d, diverging.report(), 3);
  o.step = 0.01F;
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.time_limit_seconds = 0.05;
  AsyncExchange timed(1000, MergeRule::kAverage);
  const TrainingOutcome t =
      run_training(timed, model, data, std::vector<float>(model.num_params()), o);
  EXPECT_EQ(t.stop_reason, StopReason::kTimeLimit);
  EXPECT_LT(t.wall_seconds, 10.0);
  expect_conserved(t, timed.report(), 1000);
}

}  // namespace
}  // namespace psgd
