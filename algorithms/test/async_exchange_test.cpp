// algorithms/test/async_exchange_test.cpp — `async-exchange` on the toy problems: one thread with
// H = 1 and merge overwrite is seq bit for bit, the exact budget and computed = applied + dropped
// + discarded for every merge rule and 1..4 threads, convergence, stops.
#include "algorithms/async_exchange.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

using testing::full_loss;
using testing::LeastSquares;

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
        for (const WorkerStats& s : r.workers) {
          EXPECT_EQ(s.computed, s.applied + s.dropped + s.discarded_at_end);
          EXPECT_EQ(s.discarded_at_end, 0);
          EXPECT_EQ(s.staleness.count(), s.applied);
        }
        for (std::int64_t v = 100; v <= 500; v += 100) {
          const std::size_t k = r.checkpoints->slot_of(v);
          ASSERT_TRUE(r.checkpoints->slot(k).filled) << "update " << v;
          EXPECT_GE(r.checkpoints->slot(k).updates, v);
        }
      }
    }
  }
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
  for (const WorkerStats& s : d.workers) {
    EXPECT_EQ(s.computed, s.applied + s.dropped + s.discarded_at_end);
  }
  o.step = 0.01F;
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.time_limit_seconds = 0.05;
  AsyncExchange timed(1000, MergeRule::kAverage);
  const TrainingOutcome t =
      run_training(timed, model, data, std::vector<float>(model.num_params()), o);
  EXPECT_EQ(t.stop_reason, StopReason::kTimeLimit);
  EXPECT_LT(t.wall_seconds, 10.0);
  for (const WorkerStats& s : t.workers) {
    EXPECT_EQ(s.computed, s.applied + s.dropped + s.discarded_at_end);
  }
}

}  // namespace
}  // namespace psgd
