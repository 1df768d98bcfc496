// The runner's two hooks for the calling thread: readings of the workers' progress
// (RunnerOptions::on_progress, from their LiveCounters) and a stop request from outside
// (RunnerOptions::stop_request, which `psgd run`'s SIGINT/SIGTERM handler sets). Both run on the
// calling thread while the workers train: under TSan these are the tests of that sharing.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

std::unique_ptr<Algorithm> progress_algorithm(std::string_view name, int threads) {
  static const AlgorithmSettings defaults;
  return builtin_algorithms().make(name, AlgorithmSetup{defaults, 1, threads});
}

// A budget no test waits for: only the stop request ends these runs.
RunnerOptions endless(int threads) {
  RunnerOptions o;
  o.threads = threads;
  o.batch_size = 4;
  o.step = 0.01;
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.poll_seconds = 0.005;
  return o;
}

TEST(RunnerProgress, TheCallerReadsProgressThenAStopRequestStopsEveryWorker) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  for (const char* name : {"leashed", "mutex", "sync", "param-server"}) {
    SCOPED_TRACE(name);
    std::atomic<int> stop{0};
    std::vector<LiveProgress> readings;  // written by the callback, on this thread only
    RunnerOptions o = endless(2);
    o.stop_request = &stop;
    o.progress_seconds = 0.01;
    o.on_progress = [&](const LiveProgress& p) {
      readings.push_back(p);
      if (readings.size() == 3) stop.store(2, std::memory_order_relaxed);
    };
    const std::unique_ptr<Algorithm> algo = progress_algorithm(name, 2);
    const TrainingOutcome r =
        run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
    EXPECT_EQ(r.stop_reason, StopReason::kInterrupted);
    ASSERT_GE(readings.size(), 3U);
    const WorkerStats total = merge_workers(r.workers);
    for (std::size_t i = 1; i < readings.size(); ++i) {
      EXPECT_GE(readings[i].seconds, readings[i - 1].seconds);
      EXPECT_GE(readings[i].updates, readings[i - 1].updates);
      EXPECT_GE(readings[i].gradients, readings[i - 1].gradients);
    }
    EXPECT_LE(readings.back().updates, r.applied_updates);
    EXPECT_LE(readings.back().gradients, total.computed);
    EXPECT_GT(readings.back().gradients, 0);
    ASSERT_TRUE(readings.back().loss.has_value());
    EXPECT_TRUE(std::isfinite(*readings.back().loss));
    EXPECT_LT(r.applied_updates, o.total_updates);
  }
}

TEST(RunnerProgress, AStopRequestedBeforeTheStartEndsTheRunAtTheFirstPoll) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  std::atomic<int> stop{15};  // as SIGTERM's handler leaves it
  RunnerOptions o = endless(2);
  o.stop_request = &stop;
  const std::unique_ptr<Algorithm> algo = progress_algorithm("hogwild", 2);
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  EXPECT_EQ(r.stop_reason, StopReason::kInterrupted);
  EXPECT_LT(r.wall_seconds, 10.0);
  // Without a request the same options run to a small budget untouched.
  stop.store(0);
  o.total_updates = 200;
  const TrainingOutcome full = run_training(*progress_algorithm("hogwild", 2), model, data,
                                            std::vector<float>(model.num_params(), 0.0F), o);
  EXPECT_EQ(full.stop_reason, StopReason::kNone);
  EXPECT_EQ(full.applied_updates, 200);
}

}  // namespace
}  // namespace psgd
