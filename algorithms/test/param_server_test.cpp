// algorithms/test/param_server_test.cpp — `param-server` and `hybrid` on the toy problems: one
// thread is seq bit for bit, one gradient worker behind the server is sequential SGD on its own
// stream, exact update budget and per-slot accounting for 1..4 threads, the gradient cap, the
// server that trains (--server-trains), K = W behaves as the synchronous server, the K schedule,
// convergence, stops, and the registry's option checks.
#include "algorithms/param_server.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"
#include "common/random.hpp"

namespace psgd {
namespace {

using testing::Affine;
using testing::AffineWorkspace;
using testing::full_loss;
using testing::LeastSquares;
using testing::same_bits;

KSchedule fixed(int k0) { return KSchedule{k0, 0, KShape::kLinear}; }
KSchedule growing(int k0, std::int64_t interval, KShape shape) {
  return KSchedule{k0, interval, shape};
}

struct ServerVariant {
  std::string label;
  KSchedule schedule;
};
// gtest prints a parameter with this (without it: "104-byte object <...>").
void PrintTo(const ServerVariant& v, std::ostream* os) { *os << v.label; }

std::vector<ServerVariant> server_variants() {
  return {{"ps_async", fixed(1)},
          {"ps_sync", fixed(KSchedule::kAllWorkers)},
          {"hybrid_1_50", growing(1, 50, KShape::kLinear)},
          {"hybrid_1_20_exponential", growing(1, 20, KShape::kExponential)}};
}

std::unique_ptr<ParameterServer<>> make(const KSchedule& k, bool server_trains = false) {
  return std::make_unique<ParameterServer<>>("param-server", k, nlohmann::json::object(),
                                             server_trains);
}

// The gradient sources W: the workers, and the server with --server-trains; 1 at one thread.
int sources(int threads, bool server_trains) {
  return threads == 1 ? 1 : (server_trains ? threads : threads - 1);
}

RunnerOptions server_options(int threads) { return testing::small_run(threads, 11); }

std::int64_t sum_of(const nlohmann::json& values) {
  std::int64_t s = 0;
  for (const auto& v : values) s += v.get<std::int64_t>();
  return s;
}

// The server slot applies every update and computes nothing (without --server-trains); each
// gradient source applies nothing but the server and computed = contributed + discarded_at_end
// (report().contributed).
void expect_accounting(const TrainingOutcome& r, const nlohmann::json& rep, int threads,
                       bool server_trains = false) {
  const WorkerStats all = merge_workers(r.workers);
  EXPECT_EQ(all.staleness.count(), all.applied);
  EXPECT_EQ(rep["gradient_staleness"]["count"].get<std::int64_t>(), sum_of(rep["contributed"]));
  for (int w = 0; w < threads; ++w) {
    const WorkerStats& s = r.workers[static_cast<std::size_t>(w)];
    const auto contributed = rep["contributed"][static_cast<std::size_t>(w)].get<std::int64_t>();
    SCOPED_TRACE("slot " + std::to_string(w));
    EXPECT_EQ(s.contributed, contributed);  // the source's own count, where the reply says so
    EXPECT_EQ(s.dropped, 0);
    EXPECT_LE(s.discarded_at_end, 1);
    if (threads == 1) {
      EXPECT_EQ(s.computed, s.applied + s.discarded_at_end);
      EXPECT_EQ(contributed, s.applied);
    } else if (w == 0) {
      EXPECT_EQ(s.applied, all.applied);
      EXPECT_EQ(s.computed, server_trains ? contributed + s.discarded_at_end : 0);
      if (!server_trains) {
        EXPECT_EQ(contributed, 0);
      }
    } else {
      EXPECT_EQ(s.applied, 0);
      EXPECT_EQ(s.computed, contributed + s.discarded_at_end);
    }
  }
}

// One exchange per push and pull of a gradient worker; the server's own gradients are local. One
// thread is seq and charged as seq is: once per update. For runs without a non-finite loss (that
// gradient is never pushed).
void expect_exchanges(const TrainingOutcome& r) {
  if (r.workers.size() == 1) {
    EXPECT_EQ(r.workers[0].exchanges, r.workers[0].applied);
    return;
  }
  EXPECT_EQ(r.workers[0].exchanges, 0);
  for (std::size_t w = 1; w < r.workers.size(); ++w) {
    EXPECT_EQ(r.workers[w].exchanges, r.workers[w].computed) << "slot " << w;
  }
}

class ParamServerTest : public ::testing::TestWithParam<ServerVariant> {};

TEST_P(ParamServerTest, OneThreadMatchesSeqBitForBit) {
  testing::expect_one_thread_matches_seq<float>(*make(GetParam().schedule));
  // One thread already serves and trains: --server-trains changes nothing.
  testing::expect_one_thread_matches_seq<float>(*make(GetParam().schedule, true));
}

// Two threads: the server and one gradient worker (slot 1, batch stream 1). A push waits for its
// reply, so every mode is sequential SGD on stream 1, replayed here by hand.
TEST_P(ParamServerTest, OneGradientWorkerIsSequentialSgd) {
  const LeastSquares model(12);
  const Dataset data = testing::random_floats(200, 12, 4, 3);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  RunnerOptions o = server_options(2);
  o.total_updates = 300;
  const auto algo = make(GetParam().schedule);
  const TrainingOutcome got = run_training(*algo, model, data, theta0, o);

  std::vector<float> theta = theta0;
  std::vector<float> grad(theta.size());
  BatchSampler sampler(data, o.batch_size, stream_seed(o.seed, 1));
  const std::unique_ptr<Workspace> ws = model.make_workspace(o.batch_size);
  for (int u = 0; u < 300; ++u) {
    model.loss_and_gradient(theta, sampler.next(), grad, *ws);
    sgd_apply<float>(theta, grad, static_cast<float>(o.step));
  }
  EXPECT_TRUE(same_bits(got.final_params, theta));
  EXPECT_EQ(got.workers[0].applied, 300);
  EXPECT_EQ(got.workers[0].staleness.max(), 0);
  EXPECT_EQ(algo->report()["contributed"][1], 300);
}

TEST_P(ParamServerTest, ExactBudgetAndAccounting) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (int threads : {1, 2, 3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const auto algo = make(GetParam().schedule);
    const TrainingOutcome r = run_training(
        *algo, model, data, std::vector<float>(model.num_params()), server_options(threads));
    EXPECT_EQ(r.applied_updates, 500);
    EXPECT_EQ(r.stop_reason, StopReason::kNone);
    const nlohmann::json rep = algo->report();
    expect_accounting(r, rep, threads);
    expect_exchanges(r);
    // Every update used exactly K(u) gradients.
    const int w = threads == 1 ? 1 : threads - 1;
    std::int64_t want = 0;
    for (std::int64_t u = 0; u < 500; ++u) want += GetParam().schedule.at(u, w);
    EXPECT_EQ(sum_of(rep["contributed"]), want);
    for (std::int64_t v = 100; v <= 500; v += 100) {
      const std::size_t k = r.checkpoints->slot_of(v);
      ASSERT_TRUE(r.checkpoints->slot(k).filled) << "update " << v;
      EXPECT_EQ(r.checkpoints->slot(k).updates, v);
    }
  }
}

// The gradient cap (RunControl::total_gradients) ends the run, not the update budget: the
// updates stop once the gradients they used reach the cap (the last one passes it by less than
// its K), and each source loses at most its one gradient pending or in flight, so the gradients
// computed end within one per source of the cap. With and without --server-trains.
TEST_P(ParamServerTest, GradientCapEndsTheRunWithinOneGradientPerSource) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  constexpr std::int64_t kCap = 701;
  for (const bool trains : {false, true}) {
    for (int threads : {1, 2, 3, 4}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + (trains ? ", server trains" : ""));
      RunnerOptions o = server_options(threads);
      o.total_updates = 20'000;  // a mere upper bound
      o.total_gradients = kCap;
      const auto algo = make(GetParam().schedule, trains);
      const TrainingOutcome r =
          run_training(*algo, model, data, std::vector<float>(model.num_params()), o);
      EXPECT_EQ(r.stop_reason, StopReason::kNone);
      ASSERT_GT(r.applied_updates, 0);
      EXPECT_LT(r.applied_updates, o.total_updates);
      const nlohmann::json rep = algo->report();
      expect_accounting(r, rep, threads, trains);
      const int w = sources(threads, trains);
      std::int64_t want = 0;  // sum of K(u) over the applied updates
      for (std::int64_t u = 0; u < r.applied_updates; ++u) want += GetParam().schedule.at(u, w);
      const std::int64_t contributed = sum_of(rep["contributed"]);
      EXPECT_EQ(contributed, want);
      EXPECT_GE(contributed, kCap);
      EXPECT_LT(contributed - GetParam().schedule.at(r.applied_updates - 1, w), kCap);
      const std::int64_t computed = merge_workers(r.workers).computed;
      EXPECT_GE(computed, kCap);
      EXPECT_LE(computed, kCap + w - 1);
    }
  }
}

// --server-trains: the server slot is one more gradient source (W = threads), its gradients
// counted like a worker's, and K(u) is taken over W = threads; its gradients are local (no
// exchange). It trains only while no update is ready, and the toy's gradient takes less time
// than a lock handover, so the workers' pushes would keep the asynchronous server busy: a
// 100 us pull and push latency per gradient (--delay) leaves it the gaps a real model does.
TEST_P(ParamServerTest, ServerThatTrainsIsOneMoreSource) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (int threads : {2, 3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    RunnerOptions o = server_options(threads);
    o.pace.delay = DelaySpec{DelaySpec::Kind::kFixed, 100.0};
    const auto algo = make(GetParam().schedule, true);
    const TrainingOutcome r =
        run_training(*algo, model, data, std::vector<float>(model.num_params()), o);
    EXPECT_EQ(r.applied_updates, 500);
    const nlohmann::json rep = algo->report();
    expect_accounting(r, rep, threads, true);
    expect_exchanges(r);
    EXPECT_GT(r.workers[0].computed, 0);
    EXPECT_GT(rep["contributed"][0].get<std::int64_t>(), 0);
    EXPECT_EQ(rep["gradient_workers"], threads);
    EXPECT_EQ(rep["server_trains"], true);
    std::int64_t want = 0;
    for (std::int64_t u = 0; u < 500; ++u) want += GetParam().schedule.at(u, threads);
    EXPECT_EQ(sum_of(rep["contributed"]), want);
  }
}

// On the convex least-squares problem every worker count ends near seq's loss, far below the
// initial one.
TEST_P(ParamServerTest, ConvergesOnConvexToy) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(256, 6, 3, 4);
  const std::vector<float> theta0(model.num_params(), 0.0F);
  RunnerOptions o = server_options(1);
  o.step = 0.05F;
  o.total_updates = 2000;
  SequentialSgd<float> seq;
  const double initial = full_loss(model, data, theta0);
  const double want =
      full_loss(model, data, run_training(seq, model, data, theta0, o).final_params);
  ASSERT_LT(want, 0.5 * initial);
  for (int threads : {1, 2, 3, 4}) {
    o.threads = threads;
    const auto algo = make(GetParam().schedule);
    const TrainingOutcome r = run_training(*algo, model, data, theta0, o);
    EXPECT_LT(full_loss(model, data, r.final_params), 1.25 * want) << "threads " << threads;
  }
}

TEST_P(ParamServerTest, DivergenceAndTimeLimitStopEveryThread) {
  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  for (const bool trains : {false, true}) {
    SCOPED_TRACE(trains ? "server trains" : "server serves");
    RunnerOptions o = server_options(3);
    o.step = 1e18F;
    o.total_updates = 10'000'000;
    o.updates_per_epoch = 5000;
    const auto diverging = make(GetParam().schedule, trains);
    const TrainingOutcome d =
        run_training(*diverging, model, data, std::vector<float>(model.num_params(), 1.0F), o);
    EXPECT_EQ(d.stop_reason, StopReason::kDiverged);
    EXPECT_LT(d.applied_updates, 100000);
    expect_accounting(d, diverging->report(), 3, trains);

    o.step = 0.01F;
    o.total_updates = 1'000'000'000'000;
    o.updates_per_epoch = 1'000'000'000;
    o.time_limit_seconds = 0.05;
    const auto timed = make(GetParam().schedule, trains);
    const TrainingOutcome t =
        run_training(*timed, model, data, std::vector<float>(model.num_params()), o);
    EXPECT_EQ(t.stop_reason, StopReason::kTimeLimit);
    EXPECT_GT(t.applied_updates, 0);
    EXPECT_LT(t.wall_seconds, 10.0);
    expect_accounting(t, timed->report(), 3, trains);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ParamServerTest, ::testing::ValuesIn(server_variants()),
                         [](const ::testing::TestParamInfo<ServerVariant>& p) {
                           return p.param.label;
                         });

TEST(KSchedule, GrowsLinearlyOrExponentiallyUpToTheWorkers) {
  const KSchedule lin = growing(2, 10, KShape::kLinear);
  EXPECT_EQ(lin.at(0, 8), 2);
  EXPECT_EQ(lin.at(9, 8), 2);
  EXPECT_EQ(lin.at(10, 8), 3);
  EXPECT_EQ(lin.at(59, 8), 7);
  EXPECT_EQ(lin.at(1'000'000'000'000, 8), 8);
  const KSchedule exp = growing(1, 10, KShape::kExponential);
  EXPECT_EQ(exp.at(0, 16), 1);
  EXPECT_EQ(exp.at(10, 16), 2);
  EXPECT_EQ(exp.at(35, 16), 8);
  EXPECT_EQ(exp.at(1'000'000, 16), 16);
  EXPECT_EQ(fixed(KSchedule::kAllWorkers).at(123, 5), 5);
  EXPECT_EQ(fixed(7).at(0, 3), 3);
  EXPECT_EQ(fixed(1).at(1'000'000, 3), 1);
}

// hybrid with K0 = W is the synchronous server: same gradients, same means, same bits; no
// gradient is stale; and on the affine toy the result is exactly -step/W * (every gradient).
TEST(Hybrid, KZeroAllWorkersIsTheSynchronousServer) {
  const std::size_t d = 8;
  const Affine model(d);
  const Dataset data = testing::random_integers(256, d, 9);
  RunnerOptions o = server_options(3);  // W = 2: the mean of two dyadic gradients is exact
  o.step = 1.0F / 64.0F;
  o.total_updates = 400;
  const auto hybrid = make(growing(2, 50, KShape::kLinear));
  const auto sync = make(fixed(KSchedule::kAllWorkers));
  const TrainingOutcome h = run_training(*hybrid, model, data, std::vector<float>(d), o);
  const TrainingOutcome s = run_training(*sync, model, data, std::vector<float>(d), o);
  EXPECT_TRUE(same_bits(h.final_params, s.final_params));
  EXPECT_EQ(h.workers[0].staleness.max(), 0);
  EXPECT_EQ(hybrid->report()["gradient_staleness"]["max"], 0);
  EXPECT_EQ(hybrid->report()["gradients_per_update"], 2.0);
  std::vector<double> sum(d, 0.0);
  for (std::size_t w = 1; w < 3; ++w) {
    const auto& log = static_cast<const AffineWorkspace&>(*h.workspaces[w]);
    for (std::size_t i = 0; i < d; ++i) {
      sum[i] += log.sum[i] - (h.workers[w].discarded_at_end == 1 ? log.last[i] : 0.0F);
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    EXPECT_EQ(static_cast<double>(h.final_params[i]), -static_cast<double>(o.step) / 2 * sum[i]);
  }
}

// Synchronous with --server-trains: K = threads, and every update is the mean of one gradient
// from each thread (the server's on stream 0, worker w's on stream w) at the same parameters,
// summed in slot order: replayed here by hand, bit for bit.
TEST(ServerTrains, SyncIsTheMeanOfEveryThreadsGradient) {
  const LeastSquares model(10);
  const Dataset data = testing::random_floats(200, 10, 4, 6);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  constexpr int kThreads = 3;
  RunnerOptions o = server_options(kThreads);
  o.total_updates = 300;
  const auto algo = make(fixed(KSchedule::kAllWorkers), true);
  const TrainingOutcome got = run_training(*algo, model, data, theta0, o);

  std::vector<float> theta = theta0;
  std::vector<std::vector<float>> grads(kThreads, std::vector<float>(theta.size()));
  std::vector<float> mean(theta.size());
  std::vector<std::unique_ptr<BatchSampler>> samplers;
  for (int w = 0; w < kThreads; ++w) {
    samplers.push_back(
        std::make_unique<BatchSampler>(data, o.batch_size, stream_seed(o.seed, std::uint64_t(w))));
  }
  const std::unique_ptr<Workspace> ws = model.make_workspace(o.batch_size);
  for (int u = 0; u < 300; ++u) {
    for (int w = 0; w < kThreads; ++w) {
      model.loss_and_gradient(theta, samplers[std::size_t(w)]->next(), grads[std::size_t(w)], *ws);
    }
    for (std::size_t i = 0; i < theta.size(); ++i) {
      float sum = grads[0][i];
      for (std::size_t w = 1; w < kThreads; ++w) sum += grads[w][i];
      mean[i] = sum / static_cast<float>(kThreads);
    }
    sgd_apply<float>(theta, mean, static_cast<float>(o.step));
  }
  EXPECT_TRUE(same_bits(got.final_params, theta));
  const nlohmann::json rep = algo->report();
  EXPECT_EQ(rep["k_final"], kThreads);
  EXPECT_EQ(rep["gradients_per_update"], double{kThreads});
  EXPECT_EQ(rep["gradient_staleness"]["max"], 0);
  for (int w = 0; w < kThreads; ++w) {
    EXPECT_EQ(rep["contributed"][std::size_t(w)], 300) << "slot " << w;
    EXPECT_EQ(got.workers[std::size_t(w)].computed, 300) << "slot " << w;
  }
}

TEST(ParamServerRegistry, OptionsBelongToTheirAlgorithm) {
  const AlgorithmRegistry& r = builtin_algorithms();
  const AlgorithmOption* ps_mode = nullptr;
  const AlgorithmOption* switch_opt = nullptr;
  for (const AlgorithmOption* o : r.options()) {
    if (o->name() == "ps-mode") ps_mode = o;
    if (o->name() == "switch") switch_opt = o;
  }
  ASSERT_NE(ps_mode, nullptr);
  ASSERT_NE(switch_opt, nullptr);
  AlgorithmSettings settings;
  settings.set(*ps_mode, "sync");
  EXPECT_NO_THROW(r.check("param-server", AlgorithmSetup{settings, 1, 3}));
  EXPECT_THROW(r.check("hybrid", AlgorithmSetup{settings, 1, 3}), ConfigError);
  AlgorithmSettings hybrid;
  hybrid.set(*switch_opt, "2,300");
  EXPECT_EQ(hybrid.json(*switch_opt), "2,300");
  EXPECT_NO_THROW(r.check("hybrid", AlgorithmSetup{hybrid, 1, 3}));
  EXPECT_THROW(hybrid.set(*switch_opt, "2"), ConfigError);
  EXPECT_THROW(hybrid.set(*switch_opt, "0,5"), ConfigError);
  EXPECT_THROW(hybrid.set(*ps_mode, "both"), ConfigError);
}

TEST(ParamServerRegistry, ServerTrainsIsAFlagOfTheParameterServers) {
  const AlgorithmRegistry& r = builtin_algorithms();
  const AlgorithmOption* trains = nullptr;
  const AlgorithmOption* switch_opt = nullptr;
  for (const AlgorithmOption* o : r.options()) {
    if (o->name() == "server-trains") trains = o;
    if (o->name() == "switch") switch_opt = o;
  }
  ASSERT_NE(trains, nullptr);
  ASSERT_NE(switch_opt, nullptr);
  EXPECT_TRUE(trains->is_flag());
  EXPECT_EQ(r.accepted_by("server-trains"), "param-server, hybrid");
  AlgorithmSettings settings;
  EXPECT_EQ(hybrid_start(settings, 3).k0, 1);
  EXPECT_EQ(hybrid_start(settings, 3).workers, 2);
  settings.set(*trains, "");
  EXPECT_THROW(r.check("seq", AlgorithmSetup{settings, 1, 1}), ConfigError);
  EXPECT_NO_THROW(r.check("param-server", AlgorithmSetup{settings, 1, 3}));
  settings.set(*switch_opt, "3,100");
  EXPECT_NO_THROW(r.check("hybrid", AlgorithmSetup{settings, 1, 3}));
  EXPECT_EQ(hybrid_start(settings, 3).k0, 3);
  EXPECT_EQ(hybrid_start(settings, 3).workers, 3);
  EXPECT_EQ(hybrid_start(settings, 1).workers, 1);
}

}  // namespace
}  // namespace psgd
