// The runner itself: statistics merged across workers, a worker's set-up failure rethrown on the
// calling thread without a hang, each worker's workspace handed back after the join, and the
// batch orders it builds samplers by (--batch-order shard).
#include "algorithms/runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"
#include "models/batch_sampler.hpp"

namespace psgd {
namespace {

std::unique_ptr<Algorithm> make_named(std::string_view name, int threads) {
  static const AlgorithmSettings defaults;
  return builtin_algorithms().make(name, AlgorithmSetup{defaults, 1, threads});
}

TEST(WorkerStatsMerge, AddsCountsTimesHistogramsAndSlotLosses) {
  WorkerStats a;
  a.staleness = Histogram(4);
  a.attempts = Histogram(4);
  a.slot_loss_sum = {1.0, 2.0};
  a.slot_loss_count = {1, 2};
  WorkerStats b = a;
  a.computed = 3;
  a.applied = 2;
  a.dropped = 1;
  a.failed_attempts = 5;
  a.lock_wait_seconds = 0.5;
  a.staleness.add(1);
  b.computed = 4;
  b.applied = 4;
  b.discarded_at_end = 1;
  b.backoff_seconds = 0.25;
  b.staleness.add(9);  // overflow bin
  const std::vector<WorkerStats> workers = {a, b};
  const WorkerStats t = merge_workers(workers);
  EXPECT_EQ(t.computed, 7);
  EXPECT_EQ(t.applied, 6);
  EXPECT_EQ(t.dropped, 1);
  EXPECT_EQ(t.discarded_at_end, 1);
  EXPECT_EQ(t.failed_attempts, 5);
  EXPECT_EQ(t.lock_wait_seconds, 0.5);
  EXPECT_EQ(t.backoff_seconds, 0.25);
  EXPECT_EQ(t.staleness.count(), 2);
  EXPECT_EQ(t.staleness.overflow(), 1);
  EXPECT_EQ(t.staleness.max(), 9);
  EXPECT_EQ(t.slot_loss_sum, (std::vector<double>{2.0, 4.0}));
  EXPECT_EQ(t.slot_loss_count, (std::vector<std::int64_t>{2, 4}));
}

TEST(Runner, AWorkerSetUpFailureIsRethrownHereWithoutAHang) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  for (int failing : {0, 2}) {
    const std::unique_ptr<Algorithm> algo = make_named("mutex", 3);
    RunnerOptions o;
    o.threads = 3;
    o.batch_size = 4;
    o.total_updates = 1000;
    o.on_worker_start = [failing](int worker) {
      if (worker == failing) throw EnvironmentError("worker " + std::to_string(worker) + " failed");
    };
    try {
      (void)run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
      ADD_FAILURE() << "no exception";
    } catch (const EnvironmentError& e) {
      EXPECT_EQ(std::string(e.what()), "worker " + std::to_string(failing) + " failed");
    }
  }
}

// n samples whose one feature is the sample's index.
Dataset indexed(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
  return Dataset::from_floats(ImageShape{1, 1, 1}, std::move(x), std::vector<std::int32_t>(n, 0),
                              1);
}

// A one-parameter model with a zero gradient whose workspace logs the samples the worker drew.
class SampleLogWorkspace final : public Workspace {
 public:
  std::vector<std::size_t> seen;
};
class SampleLog final : public Model {
 public:
  [[nodiscard]] std::string spec() const override { return "toy-sample-log"; }
  [[nodiscard]] std::size_t num_params() const override { return 1; }
  [[nodiscard]] std::vector<ParamBlock> layout() const override {
    return {ParamBlock{"w", {1}, 0, 1, 1, false}};
  }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t) const override {
    return std::make_unique<SampleLogWorkspace>();
  }
  float loss_and_gradient(std::span<const float>, const Batch& batch, std::span<float> grad,
                          Workspace& ws) const noexcept override {
    auto& log = static_cast<SampleLogWorkspace&>(ws);
    for (std::size_t j = 0; j < batch.size; ++j) {
      log.seen.push_back(static_cast<std::size_t>(batch.features[j]));
    }
    grad[0] = 0.0F;
    return 0.0F;
  }
  EvalSums evaluate(std::span<const float>, const Batch& batch,
                    Workspace&) const noexcept override {
    return EvalSums{0.0, 0, static_cast<std::int64_t>(batch.size)};
  }
};

// --batch-order shard through the runner: every sample a worker drew lies in its own slice.
TEST(Runner, ShardOrderKeepsEachWorkerInItsSlice) {
  const SampleLog model;
  const Dataset data = indexed(100);
  for (const char* name : {"mutex", "local-sgd", "async-exchange"}) {
    const std::unique_ptr<Algorithm> algo = make_named(name, 3);
    RunnerOptions o;
    o.threads = 3;
    o.batch_size = 4;
    o.total_updates = 60;
    o.batch_order = BatchOrder::kShard;
    const TrainingOutcome r = run_training(*algo, model, data, std::vector<float>(1, 0.0F), o);
    ASSERT_EQ(r.workspaces.size(), 3U);
    std::size_t drawn = 0;
    for (std::size_t w = 0; w < 3; ++w) {
      const SampleRange slice = shard_slice(100, w, 3);
      for (const std::size_t i : static_cast<const SampleLogWorkspace&>(*r.workspaces[w]).seen) {
        EXPECT_GE(i, slice.begin) << name << " worker " << w;
        EXPECT_LT(i, slice.end) << name << " worker " << w;
        ++drawn;
      }
    }
    EXPECT_EQ(static_cast<std::int64_t>(drawn), 4 * merge_workers(r.workers).computed) << name;
  }
}

// The parameter server's slot 0 never computes (without --server-trains), so shard cuts the set
// over the 2 gradient workers only: in sync mode each computes one gradient per update, and one
// pass (20 gradients of 5 samples) reads every one of the 100 samples exactly once.
TEST(Runner, ShardCutsTheSetOverTheGradientSourcesOnly) {
  const SampleLog model;
  const Dataset data = indexed(100);
  const AlgorithmEntry& entry = builtin_algorithms().at("param-server");
  const AlgorithmSetup setup{entry.settings_with({{"ps-mode", "sync"}}), 1, 3};
  const std::unique_ptr<Algorithm> algo = entry.make.build<float>(setup);
  RunnerOptions o;
  o.threads = 3;
  o.batch_size = 5;
  o.total_updates = 20;
  o.total_gradients = 20;
  o.batch_order = BatchOrder::kShard;
  o.first_source = entry.first_source(setup);
  ASSERT_EQ(o.first_source, 1);
  const TrainingOutcome r = run_training(*algo, model, data, std::vector<float>(1, 0.0F), o);
  ASSERT_EQ(r.workspaces.size(), 3U);
  EXPECT_TRUE(static_cast<const SampleLogWorkspace&>(*r.workspaces[0]).seen.empty());
  std::vector<int> reads(100, 0);
  for (std::size_t w = 1; w < 3; ++w) {
    const SampleRange slice = shard_slice(100, w - 1, 2);
    for (const std::size_t i : static_cast<const SampleLogWorkspace&>(*r.workspaces[w]).seen) {
      EXPECT_GE(i, slice.begin) << "worker " << w;
      EXPECT_LT(i, slice.end) << "worker " << w;
      ++reads[i];
    }
  }
  EXPECT_EQ(reads, std::vector<int>(100, 1));
}

// At one thread the one slice is the whole set and the stream the same: shard is the worker
// order bit for bit, so one thread of every method stays sequential SGD under either.
TEST(Runner, OneThreadShardIsTheWorkerOrderBitForBit) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  std::vector<std::vector<float>> finals;
  for (const BatchOrder order : {BatchOrder::kWorker, BatchOrder::kShard}) {
    SequentialSgd<float> seq;
    RunnerOptions o;
    o.batch_size = 4;
    o.total_updates = 50;  // past three reshuffles of 16 batches
    o.batch_order = order;
    finals.push_back(run_training(seq, model, data, std::vector<float>(model.num_params(), 0.0F), o)
                         .final_params);
  }
  ASSERT_EQ(finals[0].size(), finals[1].size());
  EXPECT_EQ(std::memcmp(finals[0].data(), finals[1].data(), finals[0].size() * sizeof(float)), 0);
}

// A slice smaller than one batch cannot give a worker a batch: a ConfigError with the numbers.
TEST(Runner, AShardSmallerThanABatchIsAConfigError) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(10, 4, 3, 1);
  const std::unique_ptr<Algorithm> algo = make_named("mutex", 3);
  RunnerOptions o;
  o.threads = 3;
  o.batch_size = 4;
  o.batch_order = BatchOrder::kShard;
  try {
    static_cast<void>(
        run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "--batch-order shard: 10 training samples over 3 workers leave a slice of 3 "
                 "samples, fewer than one batch of 4");
  }
  o.batch_size = 3;  // fits
  EXPECT_NO_THROW(check_shards_fit(10, o));
  o.batch_order = BatchOrder::kWorker;  // the whole set per worker
  o.batch_size = 4;
  EXPECT_NO_THROW(check_shards_fit(10, o));
}

TEST(Runner, HandsBackEveryWorkersWorkspace) {
  const testing::Affine model(4);
  const Dataset data = testing::random_integers(64, 4, 3);
  const std::unique_ptr<Algorithm> algo = make_named("leashed", 2);
  RunnerOptions o;
  o.threads = 2;
  o.batch_size = 4;
  o.total_updates = 100;
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  ASSERT_EQ(r.workspaces.size(), 2U);
  std::int64_t logged = 0;
  for (const auto& ws : r.workspaces) {
    ASSERT_NE(ws, nullptr);
    logged += static_cast<const testing::AffineWorkspace&>(*ws).count;
  }
  EXPECT_EQ(logged, merge_workers(r.workers).computed);
  EXPECT_EQ(r.applied_updates, 100);
}

// A limit beyond what the clock can hold is no limit: 1e10 s once overflowed into the past and
// stopped every run after its first update with stop_reason time_limit.
TEST(Runner, ATimeLimitTooLargeForTheClockDoesNotCutTheRunShort) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  for (const double limit : {9.3e9, 1e10, 1e18, 1e308}) {
    SCOPED_TRACE(limit);
    for (const char* name : {"mutex", "leashed"}) {
      const std::unique_ptr<Algorithm> algo = make_named(name, 2);
      RunnerOptions o;
      o.threads = 2;
      o.batch_size = 4;
      o.total_updates = 40;
      o.time_limit_seconds = limit;
      const TrainingOutcome r =
          run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
      EXPECT_EQ(r.applied_updates, 40) << name;
      EXPECT_EQ(r.stop_reason, StopReason::kNone) << name;
    }
  }
}

// The pace's streams (--delay, --comm-delay draws) by global worker id: one process keeps the
// index it always had (threads + 1 + w), and across R ranks x T threads every worker's stream is
// its own and none is a batch stream's (0..R*T-1). Seeded by local id, every rank's worker w
// drew the same latencies.
TEST(Runner, PaceStreamsAreSeededByGlobalWorkerId) {
  RunnerOptions one;
  one.threads = 3;
  for (std::size_t w = 0; w < 3; ++w) EXPECT_EQ(pace_stream(one, w), 4 + w);
  constexpr int kRanks = 3;
  constexpr int kThreads = 2;
  std::vector<std::uint64_t> seen;
  for (int r = 0; r < kRanks; ++r) {
    RunnerOptions rank;
    rank.threads = kThreads;
    rank.first_worker = r * kThreads;
    rank.total_workers = kRanks * kThreads;
    for (std::size_t w = 0; w < kThreads; ++w) {
      const std::uint64_t stream = pace_stream(rank, w);
      EXPECT_GT(stream, static_cast<std::uint64_t>(kRanks * kThreads)) << "a batch stream's";
      EXPECT_EQ(std::count(seen.begin(), seen.end(), stream), 0) << "rank " << r << " worker " << w;
      seen.push_back(stream);
    }
  }
}

}  // namespace
}  // namespace psgd
