// algorithms/test/param_server_test.cpp — `param-server` and `hybrid` on the toy problems: one
// thread is seq bit for bit, one gradient worker behind the server is sequential SGD on its own
// stream, exact update budget and per-slot accounting for 1..4 threads, the gradient cap, the
// server that trains (--server-trains), convergence and stops. The K schedule, K = W as the
// synchronous server, the server's own gradient and the registry: param_server_schedule_test.cpp.
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
#include "algorithms/test/param_server_support.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"
#include "common/random.hpp"

namespace psgd {
namespace {

using testing::Affine;
using testing::AffineWorkspace;
using testing::fixed_k;
using testing::full_loss;
using testing::growing_k;
using testing::LeastSquares;
using testing::make_server;
using testing::same_bits;
using testing::server_options;

struct ServerVariant {
  std::string label;
  KSchedule schedule;
};
// gtest prints a parameter with this (without it: "104-byte object <...>").
void PrintTo(const ServerVariant& v, std::ostream* os) { *os << v.label; }

std::vector<ServerVariant> server_variants() {
  return {{"ps_async", fixed_k(1)},
          {"ps_sync", fixed_k(KSchedule::kAllWorkers)},
          {"hybrid_1_50", growing_k(1, 50, KShape::kLinear)},
          {"hybrid_1_20_exponential", growing_k(1, 20, KShape::kExponential)}};
}

// The gradient sources W: the workers, and the server with --server-trains; 1 at one thread.
int sources(int threads, bool server_trains) {
  return threads == 1 ? 1 : (server_trains ? threads : threads - 1);
}

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
  testing::expect_one_thread_matches_seq<float>(*make_server(GetParam().schedule));
  // One thread already serves and trains: --server-trains changes nothing.
  testing::expect_one_thread_matches_seq<float>(*make_server(GetParam().schedule, true));
}

// Two threads: the server and one gradient worker (slot 1, batch stream 1). A push waits for its
// reply, so every mode is sequential SGD on stream 1, replayed here by hand.
TEST_P(ParamServerTest, OneGradientWorkerIsSequentialSgd) {
  const LeastSquares model(12);
  const Dataset data = testing::random_floats(200, 12, 4, 3);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  RunnerOptions o = server_options(2);
  o.total_updates = 300;
  const auto algo = make_server(GetParam().schedule);
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
    const auto algo = make_server(GetParam().schedule);
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
      const auto algo = make_server(GetParam().schedule, trains);
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
    const auto algo = make_server(GetParam().schedule, true);
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
    const auto algo = make_server(GetParam().schedule);
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
    const auto diverging = make_server(GetParam().schedule, trains);
    const TrainingOutcome d =
        run_training(*diverging, model, data, std::vector<float>(model.num_params(), 1.0F), o);
    EXPECT_EQ(d.stop_reason, StopReason::kDiverged);
    EXPECT_LT(d.applied_updates, 100000);
    expect_accounting(d, diverging->report(), 3, trains);

    o.step = 0.01F;
    o.total_updates = 1'000'000'000'000;
    o.updates_per_epoch = 1'000'000'000;
    o.time_limit_seconds = 0.05;
    const auto timed = make_server(GetParam().schedule, trains);
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

}  // namespace
}  // namespace psgd
