// algorithms/test/comm_delay_test.cpp — --comm-delay, the latency of one exchange with the shared
// model: the parser, one charge per exchange for every method that makes them here (per applied
// update for the study-004 methods, per worker per combined round for the round methods), the
// waits recorded and no value changed, and a stop ending a long wait. async-exchange and
// param-server charge their own exchanges (their tests).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/pace.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using testing::LeastSquares;

constexpr double kFixedMicros = 50.0;

TEST(CommDelay, ParsesLikeDelayAndNamesItsOption) {
  EXPECT_EQ(parse_comm_delay("fixed:250").text(), "fixed:250");
  EXPECT_EQ(parse_comm_delay("exp:10").kind, DelaySpec::Kind::kExponential);
  EXPECT_EQ(parse_comm_delay("none").text(), "none");
  for (const char* bad : {"", "fixed", "fixed:", "exp:0", "fixed:-3", "uniform:4", "fixed:1e8"}) {
    try {
      static_cast<void>(parse_comm_delay(bad));
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("--comm-delay"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  PaceConfig config;
  EXPECT_FALSE(config.active());
  config.comm_delay = parse_comm_delay("fixed:1");
  EXPECT_TRUE(config.active());
}

struct CommRun {
  TrainingOutcome outcome;
  nlohmann::json report;
};

CommRun run_with_comm_delay(std::string_view name, int threads, const RunnerOptions& base) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  RunnerOptions o = base;
  o.threads = threads;
  const AlgorithmSettings defaults;
  const std::unique_ptr<Algorithm> algo =
      builtin_algorithms().make(name, AlgorithmSetup{defaults, 1, threads});
  TrainingOutcome r = run_training(*algo, model, data, std::vector<float>(model.num_params()), o);
  return {std::move(r), algo->report()};
}

void expect_charged(const WorkerStats& s) {
  EXPECT_GE(s.comm_delay_seconds, static_cast<double>(s.exchanges) * kFixedMicros * 1e-6);
}

// One exchange per applied update: every update is one pull and push of the shared model.
TEST(CommDelay, ChargedOncePerUpdateForTheOneGradientMethods) {
  RunnerOptions o = testing::small_run(1, 7);
  o.total_updates = 120;
  o.pace.comm_delay = parse_comm_delay("fixed:50");
  for (const char* name : {"seq", "mutex", "rwlock", "leashed", "hogwild", "hogwild-atomic"}) {
    const int threads = std::string_view(name) == "seq" ? 1 : 2;
    SCOPED_TRACE(name);
    const CommRun r = run_with_comm_delay(name, threads, o);
    ASSERT_EQ(r.outcome.applied_updates, 120);
    for (const WorkerStats& s : r.outcome.workers) {
      EXPECT_EQ(s.exchanges, s.applied);
      expect_charged(s);
    }
    EXPECT_EQ(merge_workers(r.outcome.workers).exchanges, 120);
  }
}

// At one thread the server methods are seq (server and worker in one thread): one exchange per
// update, as seq is charged, so --comm-delay costs the same baseline.
TEST(CommDelay, ChargedOncePerUpdateForTheServerMethodsAtOneThread) {
  RunnerOptions o = testing::small_run(1, 7);
  o.total_updates = 120;
  o.pace.comm_delay = parse_comm_delay("fixed:50");
  for (const char* name : {"param-server", "hybrid"}) {
    SCOPED_TRACE(name);
    const CommRun r = run_with_comm_delay(name, 1, o);
    ASSERT_EQ(r.outcome.applied_updates, 120);
    EXPECT_EQ(r.outcome.workers[0].exchanges, 120);
    expect_charged(r.outcome.workers[0]);
  }
}

// One exchange per worker per combined round: its part of the reduce.
TEST(CommDelay, ChargedOncePerWorkerPerRoundForTheRoundMethods) {
  RunnerOptions o = testing::small_run(1, 7);
  o.total_updates = 120;
  o.pace.comm_delay = parse_comm_delay("fixed:50");
  for (const char* name : {"sync", "local-sgd", "nonblocking"}) {
    for (int threads : {1, 3}) {
      SCOPED_TRACE(std::string(name) + " threads " + std::to_string(threads));
      const CommRun r = run_with_comm_delay(name, threads, o);
      ASSERT_EQ(r.outcome.applied_updates, 120);
      const std::int64_t rounds =
          std::string_view(name) == "sync" ? 120 : r.report["rounds"].get<std::int64_t>();
      for (const WorkerStats& s : r.outcome.workers) {
        EXPECT_EQ(s.exchanges, rounds);
        expect_charged(s);
      }
    }
  }
}

// Waiting changes no value: seq with a comm delay is seq without one, bit for bit.
TEST(CommDelay, ChangesNoValue) {
  RunnerOptions o = testing::small_run(1, 7);
  o.total_updates = 100;
  const CommRun plain = run_with_comm_delay("seq", 1, o);
  EXPECT_EQ(plain.outcome.workers[0].exchanges, 100);  // counted without a pace too
  EXPECT_EQ(plain.outcome.workers[0].comm_delay_seconds, 0.0);
  o.pace.comm_delay = parse_comm_delay("exp:20");
  const CommRun delayed = run_with_comm_delay("seq", 1, o);
  EXPECT_TRUE(testing::same_bits(std::span<const float>(delayed.outcome.final_params),
                                 std::span<const float>(plain.outcome.final_params)));
  EXPECT_GT(delayed.outcome.workers[0].comm_delay_seconds, 0.0);
}

// A 10 s exchange ends soon after a stop (loose bounds: seconds against a 1 ms poll); the round
// end of nonblocking does not cut it (the exchange is the reduce, not the gradient).
TEST(CommDelay, AStopEndsALongExchangeButAnInterruptDoesNot) {
  PaceConfig config;
  config.comm_delay = parse_comm_delay("fixed:1e7");
  EpochClock clock;
  RunControl control(1);
  WorkerPace pace(config, 0, 1, 1, &clock, &control);
  const std::atomic<bool> raised{true};
  pace.set_interrupt(&raised);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    control.request_stop(StopReason::kTimeLimit);
  });
  const double waited = pace.exchange();
  // The stop, not the raised interrupt, ended it: the stop was requested by the time it returned.
  // (Not "waited >= 25 ms": the stopper's 30 ms start before this thread enters the exchange, and
  // a loaded machine that holds this thread off shortens the wait: 21 ms seen at load 4.)
  const bool stopped = control.should_stop();
  stopper.join();
  EXPECT_TRUE(stopped) << "the exchange ended after " << waited << " s, before the stop";
  EXPECT_GT(waited, 0.0);
  EXPECT_LT(waited, 5.0);
  EXPECT_LT(pace.exchange(), 0.5);  // already stopped
}

}  // namespace
}  // namespace psgd
