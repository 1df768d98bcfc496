// The runner itself: statistics merged across workers, a worker's set-up failure rethrown on the
// calling thread without a hang, and each worker's workspace handed back after the join.
#include "algorithms/runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

std::unique_ptr<Algorithm> make(std::string_view name, int threads) {
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
    const std::unique_ptr<Algorithm> algo = make("mutex", 3);
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

TEST(Runner, HandsBackEveryWorkersWorkspace) {
  const testing::Affine model(4);
  const Dataset data = testing::random_integers(64, 4, 3);
  const std::unique_ptr<Algorithm> algo = make("leashed", 2);
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
      const std::unique_ptr<Algorithm> algo = make(name, 2);
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

}  // namespace
}  // namespace psgd
