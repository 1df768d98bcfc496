// algorithms/test/local_sgd_test.cpp — `local-sgd` on the toy problems: one thread is seq bit for
// bit (H = 1 snapshots included, in both precisions; any H the final state), H = 1 is `sync` up to
// rounding, the budget is exact when H does not divide it, accounting for 1..4 threads,
// convergence, stops.
#include "algorithms/local_sgd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/sync.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

using testing::full_loss;
using testing::LeastSquares;

RunnerOptions local_sgd_options(int threads) { return testing::small_run(threads, 11); }

// Worker 0 counts every update; every worker computes one gradient per update.
void expect_accounting(const TrainingOutcome& r) {
  const WorkerStats all = merge_workers(r.workers);
  for (std::size_t w = 0; w < r.workers.size(); ++w) {
    const WorkerStats& s = r.workers[w];
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_EQ(s.applied, w == 0 ? all.applied : 0);
    EXPECT_EQ(s.computed, all.applied + s.discarded_at_end);
    EXPECT_EQ(s.staleness.count(), s.applied);
    EXPECT_EQ(s.dropped, 0);
  }
}

// H = 1: every update is a round, so every snapshot and loss is seq's too (both precisions).
// Any H: the final state (a snapshot can then only hold a round's end).
TEST(LocalSgd, OneThreadMatchesSeqBitForBit) {
  LocalSgd<float> one_step(1);
  testing::expect_one_thread_matches_seq<float>(one_step);
  LocalSgd<double> one_step_double(1);
  testing::expect_one_thread_matches_seq<double>(one_step_double);
  LocalSgd<float> seven_steps(7);
  testing::expect_one_thread_final_state_matches_seq<float>(seven_steps);
}

// H = 1: mean of (theta - step g_w) against theta - step * mean(g_w), the same batches (workers
// 0..N-1 in both): equal up to float rounding.
TEST(LocalSgd, OneLocalStepIsSyncUpToRounding) {
  const LeastSquares model(8);
  const Dataset data = testing::random_floats(256, 8, 3, 6);
  for (int threads : {2, 3}) {
    RunnerOptions o = local_sgd_options(threads);
    o.step = 0.02F;
    o.total_updates = 300;
    SyncSgd<float> sync;
    LocalSgd local(1);
    const std::vector<float> theta0(model.num_params(), 0.5F);
    const TrainingOutcome s = run_training(sync, model, data, theta0, o);
    const TrainingOutcome l = run_training(local, model, data, theta0, o);
    for (std::size_t i = 0; i < theta0.size(); ++i) {
      EXPECT_NEAR(l.final_params[i], s.final_params[i],
                  1e-4F * (1.0F + std::fabs(s.final_params[i])))
          << "threads " << threads << " coord " << i;
    }
  }
}

TEST(LocalSgd, ExactBudgetAndAccounting) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (int threads : {1, 2, 3, 4}) {
    for (std::int64_t updates : {500, 503}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " updates " + std::to_string(updates));
      RunnerOptions o = local_sgd_options(threads);
      o.total_updates = updates;
      LocalSgd algo(5);
      const TrainingOutcome r =
          run_training(algo, model, data, std::vector<float>(model.num_params()), o);
      EXPECT_EQ(r.applied_updates, updates);
      EXPECT_EQ(r.stop_reason, StopReason::kNone);
      expect_accounting(r);
      EXPECT_EQ(algo.report()["rounds"], (updates + 4) / 5);
      testing::expect_round_snapshots(r, 5, 100, 500);
    }
  }
}

TEST(LocalSgd, ConvergesOnConvexToy) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(256, 6, 3, 4);
  const std::vector<float> theta0(model.num_params(), 0.0F);
  RunnerOptions o = local_sgd_options(1);
  o.step = 0.05F;
  o.total_updates = 2000;
  SequentialSgd<float> seq;
  const double want =
      full_loss(model, data, run_training(seq, model, data, theta0, o).final_params);
  ASSERT_LT(want, 0.5 * full_loss(model, data, theta0));
  for (int threads : {1, 2, 4}) {
    for (std::int64_t h : {1, 10}) {
      o.threads = threads;
      LocalSgd algo(h);
      const TrainingOutcome r = run_training(algo, model, data, theta0, o);
      EXPECT_LT(full_loss(model, data, r.final_params), 1.25 * want)
          << "threads " << threads << " H " << h;
    }
  }
}

TEST(LocalSgd, DivergenceAndTimeLimitStopEveryWorker) {
  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  RunnerOptions o = local_sgd_options(3);
  o.step = 1e18F;
  o.total_updates = 10'000'000;
  o.updates_per_epoch = 5000;
  LocalSgd diverging(4);
  const TrainingOutcome d =
      run_training(diverging, model, data, std::vector<float>(model.num_params(), 1.0F), o);
  EXPECT_EQ(d.stop_reason, StopReason::kDiverged);
  EXPECT_LT(d.applied_updates, 100000);
  expect_accounting(d);

  o.step = 0.01F;
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.time_limit_seconds = 0.05;
  LocalSgd timed(1000);
  const TrainingOutcome t =
      run_training(timed, model, data, std::vector<float>(model.num_params()), o);
  EXPECT_EQ(t.stop_reason, StopReason::kTimeLimit);
  EXPECT_LT(t.wall_seconds, 10.0);
  expect_accounting(t);
}

}  // namespace
}  // namespace psgd
