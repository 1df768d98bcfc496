// The runner's two hooks for the calling thread: readings of the workers' progress
// (RunnerOptions::on_progress, from their LiveCounters) and a stop request from outside
// (RunnerOptions::stop_request, which `psgd run`'s SIGINT/SIGTERM handler sets). Both run on the
// calling thread while the workers train: under TSan these are the tests of that sharing.
#include <gtest/gtest.h>
#include <sys/resource.h>

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

// A stop request that is never set, and no progress callback (`psgd run` without a terminal or
// --progress: every sweep child): the calling thread only looks at the flag every poll, so it
// sleeps through the run. It once spun from the first progress interval on, its CPU time close
// to the run's wall time; 30 polls of 50 ms cost well under 0.3 s of CPU even under TSan.
TEST(RunnerProgress, AnUnsetStopRequestWithoutProgressLeavesTheCallerAsleep) {
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  std::atomic<int> stop{0};
  RunnerOptions o = endless(1);
  o.stop_request = &stop;
  o.poll_seconds = 0.05;
  o.time_limit_seconds = 1.5;
  const std::unique_ptr<Algorithm> algo = progress_algorithm("mutex", 1);
  rusage before{};
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &before), 0);
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  rusage after{};
  ASSERT_EQ(getrusage(RUSAGE_THREAD, &after), 0);
  EXPECT_EQ(r.stop_reason, StopReason::kTimeLimit);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  const double caller_cpu = seconds(after.ru_utime) + seconds(after.ru_stime) -
                            seconds(before.ru_utime) - seconds(before.ru_stime);
  EXPECT_LT(caller_cpu, 0.3) << "the calling thread used " << caller_cpu << " s of CPU in a "
                             << r.wall_seconds << " s run";
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
