// algorithms/test/param_server_schedule_test.cpp — the parameter server's K schedule (K(t)-of-N,
// linear or exponential growth), hybrid with K0 = W as the synchronous server bit for bit, the
// synchronous server that trains as the mean of every thread's gradient, and the registry's
// checks of the parameter servers' options.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/param_server.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
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
using testing::growing_k;
using testing::LeastSquares;
using testing::make_server;
using testing::same_bits;
using testing::server_options;

TEST(KSchedule, GrowsLinearlyOrExponentiallyUpToTheWorkers) {
  const KSchedule lin = growing_k(2, 10, KShape::kLinear);
  EXPECT_EQ(lin.at(0, 8), 2);
  EXPECT_EQ(lin.at(9, 8), 2);
  EXPECT_EQ(lin.at(10, 8), 3);
  EXPECT_EQ(lin.at(59, 8), 7);
  EXPECT_EQ(lin.at(1'000'000'000'000, 8), 8);
  const KSchedule exp = growing_k(1, 10, KShape::kExponential);
  EXPECT_EQ(exp.at(0, 16), 1);
  EXPECT_EQ(exp.at(10, 16), 2);
  EXPECT_EQ(exp.at(35, 16), 8);
  EXPECT_EQ(exp.at(1'000'000, 16), 16);
  EXPECT_EQ(fixed_k(KSchedule::kAllWorkers).at(123, 5), 5);
  EXPECT_EQ(fixed_k(7).at(0, 3), 3);
  EXPECT_EQ(fixed_k(1).at(1'000'000, 3), 1);
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
  const auto hybrid = make_server(growing_k(2, 50, KShape::kLinear));
  const auto sync = make_server(fixed_k(KSchedule::kAllWorkers));
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
  constexpr int kTrainingThreads = 3;
  RunnerOptions o = server_options(kTrainingThreads);
  o.total_updates = 300;
  const auto algo = make_server(fixed_k(KSchedule::kAllWorkers), true);
  const TrainingOutcome got = run_training(*algo, model, data, theta0, o);

  std::vector<float> theta = theta0;
  std::vector<std::vector<float>> grads(kTrainingThreads, std::vector<float>(theta.size()));
  std::vector<float> mean(theta.size());
  std::vector<std::unique_ptr<BatchSampler>> samplers;
  for (int w = 0; w < kTrainingThreads; ++w) {
    samplers.push_back(
        std::make_unique<BatchSampler>(data, o.batch_size, stream_seed(o.seed, std::uint64_t(w))));
  }
  const std::unique_ptr<Workspace> ws = model.make_workspace(o.batch_size);
  for (int u = 0; u < 300; ++u) {
    for (int w = 0; w < kTrainingThreads; ++w) {
      model.loss_and_gradient(theta, samplers[std::size_t(w)]->next(), grads[std::size_t(w)], *ws);
    }
    for (std::size_t i = 0; i < theta.size(); ++i) {
      float sum = grads[0][i];
      for (std::size_t w = 1; w < kTrainingThreads; ++w) sum += grads[w][i];
      mean[i] = sum / static_cast<float>(kTrainingThreads);
    }
    sgd_apply<float>(theta, mean, static_cast<float>(o.step));
  }
  EXPECT_TRUE(same_bits(got.final_params, theta));
  const nlohmann::json rep = algo->report();
  EXPECT_EQ(rep["k_final"], kTrainingThreads);
  EXPECT_EQ(rep["gradients_per_update"], double{kTrainingThreads});
  EXPECT_EQ(rep["gradient_staleness"]["max"], 0);
  for (int w = 0; w < kTrainingThreads; ++w) {
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
