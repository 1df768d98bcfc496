// algorithms/test/pace_test.cpp — --slowdown, --delay and --step-decay in the shared gradient
// step: the parsers, a slowed worker computing proportionally fewer gradients (a loose
// invariant: a 16x slower worker computes less than half of what its peer does), waits recorded,
// values unchanged by waiting, and the decay as the hand-written schedule, bit for bit.
#include "algorithms/pace.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using testing::LeastSquares;
using testing::same_bits;

RunnerOptions pace_options(int threads) {
  RunnerOptions o = testing::small_run(threads, 5);
  o.batch_size = 16;
  o.total_updates = 200;
  o.updates_per_epoch = 20;
  return o;
}

TEST(Pace, ParsersAcceptTheDocumentedFormsAndRefuseTheRest) {
  const auto s = parse_slowdown("1:4,0:2.5");
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0], (std::pair<int, double>{1, 4.0}));
  EXPECT_EQ(slowdown_text(s), "1:4,0:2.5");
  EXPECT_TRUE(parse_slowdown("none").empty());
  for (const char* bad : {"", "1", "1:", ":2", "1:0.5", "-1:2", "1:2,1:3", "1:2,", "1:nan"}) {
    EXPECT_THROW(parse_slowdown(bad), ConfigError) << bad;
  }
  EXPECT_EQ(parse_delay("fixed:250").text(), "fixed:250");
  EXPECT_EQ(parse_delay("exp:10").kind, DelaySpec::Kind::kExponential);
  EXPECT_EQ(parse_delay("fixed:0").micros, 0.0);
  EXPECT_EQ(parse_delay("none").text(), "none");
  for (const char* bad : {"", "fixed", "fixed:", "exp:0", "fixed:-3", "uniform:4", "fixed:1e8"}) {
    EXPECT_THROW(parse_delay(bad), ConfigError) << bad;
  }
  EXPECT_EQ(parse_step_decay("0.01"), 0.01);
  for (const char* bad : {"1", "-0.1", "x", "1.5"}) {
    EXPECT_THROW(parse_step_decay(bad), ConfigError) << bad;
  }
}

TEST(Pace, ASlowedWorkerComputesProportionallyFewerGradients) {
  const LeastSquares model(32);
  const Dataset data = testing::random_floats(512, 32, 3, 2);
  RunnerOptions o = pace_options(2);
  o.batch_size = 64;
  o.total_updates = 3000;
  o.pace.slowdown = {{1, 16.0}};
  const AlgorithmSettings defaults;
  const std::unique_ptr<Algorithm> algo =
      builtin_algorithms().make("hogwild", AlgorithmSetup{defaults, 1, 2});
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params()), o);
  const WorkerStats& fast = r.workers[0];
  const WorkerStats& slow = r.workers[1];
  EXPECT_EQ(r.applied_updates, 3000);
  // Loose on purpose (a shared machine may stall the fast worker): 16x slower, under half.
  EXPECT_LT(2 * slow.computed, fast.computed) << slow.computed << " vs " << fast.computed;
  EXPECT_GT(slow.slowdown_seconds, 0.0);
  EXPECT_EQ(fast.slowdown_seconds, 0.0);
  EXPECT_EQ(fast.delay_seconds, 0.0);
}

TEST(Pace, DelaysAreWaitedAndRecordedAndChangeNoValue) {
  const LeastSquares model(8);
  const Dataset data = testing::random_floats(128, 8, 3, 4);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  RunnerOptions o = pace_options(1);
  SequentialSgd seq;
  const TrainingOutcome plain = run_training(seq, model, data, theta0, o);
  for (const char* spec : {"fixed:100", "exp:100"}) {
    SCOPED_TRACE(spec);
    o.pace.delay = parse_delay(spec);
    o.pace.slowdown = {{0, 2.0}};
    const TrainingOutcome r = run_training(seq, model, data, theta0, o);
    EXPECT_TRUE(same_bits(r.final_params, plain.final_params));
    const WorkerStats& s = r.workers[0];
    EXPECT_GT(s.delay_seconds, 0.0);
    EXPECT_GT(s.slowdown_seconds, 0.0);
    if (o.pace.delay.kind == DelaySpec::Kind::kFixed) {  // a sleep waits at least its time
      EXPECT_GE(s.delay_seconds, 2 * 100e-6 * static_cast<double>(s.computed));
    }
    EXPECT_GE(r.wall_seconds, s.delay_seconds + s.slowdown_seconds);
  }
}

// A wait ends soon after the run is asked to stop: a 10 s delay is cut short by a stop from
// another thread, one asked before the wait does not sleep at all, and a run with the longest
// delay psgd accepts ends near its time limit instead of 20 s later (it once did). The bounds
// are loose (seconds against a 1 ms poll), so a loaded machine cannot fail them.
TEST(Pace, AWaitEndsWhenTheRunIsAskedToStop) {
  PaceConfig config;
  config.delay = parse_delay("fixed:1e7");  // 10 s
  EpochClock clock;
  RunControl control(1);
  WorkerPace pace(config, 0, 1, 1, &clock, &control);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    control.request_stop(StopReason::kTimeLimit);
  });
  const double waited = pace.delay();
  stopper.join();
  EXPECT_GE(waited, 0.015);
  EXPECT_LT(waited, 5.0);
  EXPECT_LT(pace.delay(), 0.5);  // already stopped: at most one poll's check

  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 2);
  RunnerOptions o = pace_options(1);
  o.pace.delay = config.delay;
  o.time_limit_seconds = 0.05;
  SequentialSgd seq;
  const auto t0 = std::chrono::steady_clock::now();
  const TrainingOutcome r =
      run_training(seq, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(r.stop_reason, StopReason::kTimeLimit);
}

// The interrupt flag (nonblocking's round end) ends the gradient's waits as a stop does: a 999 s
// stretch is cut short by a flag raised from another thread, and a pull with the flag already up
// does not sleep at all. Loose bounds (seconds against a 1 ms poll).
TEST(Pace, AGradientWaitEndsWhenTheInterruptIsRaised) {
  PaceConfig config;
  config.slowdown = {{0, 1000.0}};
  config.delay = parse_delay("fixed:1e7");  // 10 s
  EpochClock clock;
  RunControl control(1);
  WorkerPace pace(config, 0, 1, 1, &clock, &control);
  std::atomic<bool> round_over{false};
  pace.set_interrupt(&round_over);
  EXPECT_FALSE(pace.interrupted());
  std::thread ender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    round_over.store(true, std::memory_order_relaxed);
  });
  const double waited = pace.stretch(1.0);  // 999 s uninterrupted
  ender.join();
  EXPECT_TRUE(pace.interrupted());
  EXPECT_GE(waited, 0.015);
  EXPECT_LT(waited, 5.0);
  EXPECT_LT(pace.delay(), 0.5);         // already raised: at most one poll's check
  EXPECT_FALSE(control.should_stop());  // an interrupt is not a stop
}

// The epoch clock only rises: an earlier boundary reported late (two appliers out of order, or
// `replicated`'s inner loop numbering by its replica, whose count trails the run's) leaves the
// later epoch in place; a version between boundaries changes nothing.
TEST(Pace, TheEpochClockNeverGoesBack) {
  EpochClock clock;
  clock.note_applied(40, 20);
  EXPECT_EQ(clock.epoch(), 2);
  clock.note_applied(20, 20);  // epoch 1's last update, reported after epoch 2's
  EXPECT_EQ(clock.epoch(), 2);
  clock.note_applied(59, 20);
  EXPECT_EQ(clock.epoch(), 2);
  clock.note_applied(60, 20);
  EXPECT_EQ(clock.epoch(), 3);
}

TEST(Pace, StepDecayIsTheHandWrittenScheduleBitForBit) {
  const LeastSquares model(8);
  const Dataset data = testing::random_floats(128, 8, 3, 4);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  RunnerOptions o = pace_options(1);
  o.step = 0.05F;
  o.pace.step_decay = 0.3;
  SequentialSgd seq;
  const TrainingOutcome r = run_training(seq, model, data, theta0, o);

  // Update v (0-based) is in epoch v / P; the gradient is scaled by (1 - D)^epoch.
  std::vector<float> theta = theta0;
  std::vector<float> grad(theta.size());
  BatchSampler sampler(data, o.batch_size, stream_seed(o.seed, 0));
  const std::unique_ptr<Workspace> ws = model.make_workspace(o.batch_size);
  for (std::int64_t v = 0; v < o.total_updates; ++v) {
    model.loss_and_gradient(theta, sampler.next(), grad, *ws);
    const std::int64_t epoch = v / o.updates_per_epoch;
    if (epoch > 0) {
      const auto f = static_cast<float>(std::pow(1.0 - 0.3, static_cast<double>(epoch)));
      for (float& g : grad) g *= f;
    }
    sgd_apply<float>(theta, grad, static_cast<float>(o.step));
  }
  EXPECT_TRUE(same_bits(r.final_params, theta));
  o.pace.step_decay = 0.0;  // and no decay is the plain run
  EXPECT_FALSE(same_bits(run_training(seq, model, data, theta0, o).final_params, theta));
}

}  // namespace
}  // namespace psgd
