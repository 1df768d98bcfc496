// algorithms/test/replicated_test.cpp — `replicated` on the toy problems: one replica is its
// inner method bit for bit (each of the four), per-core with the average every H is local-sgd
// with H, the budget is exact and every gradient accounted for with either exchange, the token
// ring delivers every replica's updates to every other, and the options' refusals.
#include "algorithms/replicated.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "algorithms/local_sgd.hpp"
#include "algorithms/pace.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/replicated_ring.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using testing::full_loss;
using testing::LeastSquares;

constexpr const char* kReplicatedInners[] = {"mutex", "rwlock", "hogwild", "leashed"};

AlgorithmPtr<float> make_replicated_case(const std::string& name,
                                         const std::vector<OptionText>& values, int threads) {
  const AlgorithmRegistry& reg = builtin_algorithms();
  const AlgorithmSettings settings = reg.at(name).settings_with(values);
  return reg.make<float>(name, AlgorithmSetup{settings, 11, threads, nullptr});
}

std::string replicated_config_error(const std::string& name, const std::vector<OptionText>& values,
                                    int threads) {
  try {
    (void)make_replicated_case(name, values, threads);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Per worker every gradient is accounted for, and the contributed ones are the run's updates.
void expect_replicated_accounting(const TrainingOutcome& r) {
  std::int64_t contributed = 0;
  for (std::size_t w = 0; w < r.workers.size(); ++w) {
    const WorkerStats& s = r.workers[w];
    SCOPED_TRACE("worker " + std::to_string(w));
    EXPECT_EQ(s.computed, s.contributed + s.dropped + s.abandoned + s.discarded_at_end);
    contributed += s.contributed;
  }
  EXPECT_EQ(contributed, r.applied_updates);
}

// One replica: no exchange, the inner method on the run's own context, so every snapshot, loss
// and the final state are the inner method's bit for bit (one thread: deterministic).
TEST(Replicated, PerMachineIsTheInnerMethodBitForBit) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  const std::vector<float> theta0(model.num_params(), 0.25F);
  const RunnerOptions o = testing::small_run(1, 11);
  for (const char* inner : kReplicatedInners) {
    SCOPED_TRACE(inner);
    const AlgorithmPtr<float> alone = make_replicated_case(inner, {}, 1);
    const AlgorithmPtr<float> replicated =
        make_replicated_case("replicated", {{"inner", inner}, {"replicas", "per-machine"}}, 1);
    const TrainingOutcome a = run_training(*alone, model, data, theta0, o);
    const TrainingOutcome b = run_training(*replicated, model, data, theta0, o);
    EXPECT_TRUE(testing::same_bits(a.final_params, b.final_params));
    ASSERT_EQ(a.checkpoints->num_slots(), b.checkpoints->num_slots());
    for (std::size_t k = 0; k < a.checkpoints->num_slots(); ++k) {
      EXPECT_EQ(a.checkpoints->slot(k).filled, b.checkpoints->slot(k).filled);
      if (!a.checkpoints->slot(k).filled) continue;
      EXPECT_TRUE(testing::same_bits(a.checkpoints->params(k), b.checkpoints->params(k)))
          << "slot " << k;
    }
    EXPECT_EQ(a.workers[0].slot_loss_sum, b.workers[0].slot_loss_sum);
    EXPECT_EQ(replicated->report()["replica_count"], 1);
  }
}

// One worker per replica, averaged every H: local-sgd with H on the same batch streams (batch
// order `worker` for both). A local-sgd update is one step on every replica (W gradients), a
// replicated update one step on one replica, so the budgets are U and W x U. The same
// arithmetic in the same order (the steps; the mean summed in replica order / W), so the
// tolerance, 1e-6 relative, only allows for a compiler that contracts differently; measured:
// bit for bit.
TEST(Replicated, PerCoreAverageIsLocalSgd) {
  const LeastSquares model(8);
  const Dataset data = testing::random_floats(256, 8, 3, 6);
  const std::vector<float> theta0(model.num_params(), 0.5F);
  for (const int threads : {2, 3}) {
    for (const std::int64_t h : {1, 7}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " H " + std::to_string(h));
      RunnerOptions o = testing::small_run(threads, 11);
      o.step = 0.02F;
      o.total_updates = 200;
      LocalSgd<float> local(h);
      const TrainingOutcome l = run_training(local, model, data, theta0, o);
      o.total_updates *= threads;
      o.updates_per_epoch *= threads;
      const AlgorithmPtr<float> rep = make_replicated_case(
          "replicated",
          {{"inner", "mutex"}, {"replicas", "per-core"}, {"exchange-every", std::to_string(h)}},
          threads);
      const TrainingOutcome r = run_training(*rep, model, data, theta0, o);
      EXPECT_EQ(r.applied_updates, 200 * threads);
      for (std::size_t i = 0; i < theta0.size(); ++i) {
        EXPECT_NEAR(r.final_params[i], l.final_params[i],
                    1e-6F * (1.0F + std::fabs(l.final_params[i])))
            << "coord " << i;
      }
      EXPECT_EQ(rep->report()["exchanges"]["count"], local.report()["rounds"]);
    }
  }
}

// Either exchange, every inner method, budgets a round does not divide: exactly the budget, every
// gradient accounted for, a snapshot at every checkpoint, and the loss falls.
TEST(Replicated, ExactBudgetAndAccounting) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  const std::vector<float> theta0(model.num_params(), 0.0F);
  for (const char* exchange : {"average", "ring"}) {
    for (const char* inner : kReplicatedInners) {
      for (const int threads : {2, 4}) {
        SCOPED_TRACE(std::string(exchange) + " " + inner + " threads " + std::to_string(threads));
        RunnerOptions o = testing::small_run(threads, 11);
        o.total_updates = 503;
        const AlgorithmPtr<float> rep = make_replicated_case(
            "replicated",
            {{"inner", inner}, {"replicas", "2"}, {"exchange", exchange}, {"exchange-every", "5"}},
            threads);
        const TrainingOutcome r = run_training(*rep, model, data, theta0, o);
        EXPECT_EQ(r.applied_updates, 503);
        EXPECT_EQ(r.stop_reason, StopReason::kNone);
        expect_replicated_accounting(r);
        // Every checkpoint (0..6 of 503 updates at 100 an epoch) has its snapshot; the last
        // holds the budget's end, so the final slot stays empty.
        for (std::size_t k = 0; k < r.checkpoints->final_slot(); ++k) {
          EXPECT_TRUE(r.checkpoints->slot(k).filled) << "slot " << k;
        }
        EXPECT_LT(full_loss(model, data, r.final_params), 0.75 * full_loss(model, data, theta0));
        EXPECT_EQ(rep->report()["replica_count"], 2);
        EXPECT_GT(rep->report()["exchanges"]["count"].get<std::int64_t>(), 0);
      }
    }
  }
}

// The token ring delivers: once the ring has turned, every replica's model holds updates of every
// other replica, never more than that replica applied, and all of its own.
TEST(Replicated, TokenRingDeliversEveryReplicasUpdates) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (const int threads : {3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    // A gradient takes 2 x 100 us (--delay fixed:100, sleeps): the replicas' segments
    // interleave on 2 cores instead of one replica taking the whole toy budget in a time slice.
    // 2400 updates: about 60 segments per replica, so the token turns the ring many times even
    // when a holder is descheduled for a few of them (a loaded machine, TSan).
    RunnerOptions o = testing::small_run(threads, 11);
    o.total_updates = 2400;
    o.pace.delay = parse_delay("fixed:100");
    ReplicatedOptions options;
    options.inner = "hogwild";
    options.replicas = {ReplicaKind::kPerCore, 0};
    options.exchange = ReplicaExchange::kRing;
    options.exchange_every = 10;
    const AlgorithmEntry& hogwild = builtin_algorithms().at("hogwild");
    const AlgorithmSettings settings;
    ReplicatedSgd<float> rep(options, [&](int t) {
      return hogwild.make.build<float>(AlgorithmSetup{settings, 11, t, nullptr});
    });
    const TrainingOutcome r =
        run_training(rep, model, data, std::vector<float>(model.num_params()), o);
    ASSERT_EQ(r.applied_updates, 2400);
    ASSERT_NE(rep.ring(), nullptr);
    const std::vector<std::int64_t> applied = rep.ring()->applied();
    const std::vector<std::vector<std::int64_t>> received = rep.ring()->received();
    std::int64_t total = 0;
    for (std::size_t q = 0; q < applied.size(); ++q) total += applied[q];
    EXPECT_EQ(total, 2400);
    for (std::size_t r2 = 0; r2 < received.size(); ++r2) {
      for (std::size_t q = 0; q < applied.size(); ++q) {
        SCOPED_TRACE("replica " + std::to_string(r2) + " from " + std::to_string(q));
        if (q == r2) {
          EXPECT_EQ(received[r2][q], applied[q]);
        } else {
          EXPECT_GT(received[r2][q], 0);
          EXPECT_LE(received[r2][q], applied[q]);
        }
      }
    }
    EXPECT_GT(rep.report()["replica_staleness"]["count"].get<std::int64_t>(), 0);
  }
}

TEST(Replicated, RefusesBadOptions) {
  EXPECT_NE(
      replicated_config_error("replicated", {{"replicas", "5"}}, 4).find("per-core, per-node"),
      std::string::npos);
  EXPECT_NE(
      replicated_config_error("replicated", {{"replicas", "5"}}, 4).find("exceeds --threads 4"),
      std::string::npos);
  EXPECT_THROW((void)builtin_algorithms().at("replicated").settings_with({{"replicas", "two"}}),
               ConfigError);
  EXPECT_THROW((void)builtin_algorithms().at("replicated").settings_with({{"inner", "sync"}}),
               ConfigError);
  EXPECT_THROW((void)builtin_algorithms().at("replicated").settings_with({{"exchange", "tree"}}),
               ConfigError);
  EXPECT_NE(replicated_config_error("replicated", {{"inner", "mutex"}, {"persistence", "3"}}, 2)
                .find("(not --inner mutex)"),
            std::string::npos);
  EXPECT_NE(
      replicated_config_error("replicated", {{"ring-mix", "0.25"}}, 2).find("--exchange ring"),
      std::string::npos);
  EXPECT_EQ(replicated_config_error("replicated", {{"inner", "leashed"}, {"persistence", "3"}}, 2),
            "");
  EXPECT_THROW(builtin_algorithms().check_across_processes("replicated"), ConfigError);
}

}  // namespace
}  // namespace psgd
