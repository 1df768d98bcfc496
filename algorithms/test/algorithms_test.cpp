// algorithms/test/algorithms_test.cpp — the lock, backoff and persistence variants of the
// asynchronous methods (and sync) on toy convex problems: one-thread runs equal seq bit for bit,
// exact update counts for 1..N threads, exact conservation for every variant without lost
// updates, Leashed's accounting and live-vector bound, staleness with two threads, prompt
// stops, and checkpoints. Every registered algorithm at its registry's option values is held to
// the contract by contract_test.cpp; the list here is of the option variants beyond those.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "algorithms/backoff.hpp"
#include "algorithms/hogwild.hpp"
#include "algorithms/leashed.hpp"
#include "algorithms/mutex.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/rwlock.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/sync.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

using testing::Affine;
using testing::AffineWorkspace;
using testing::LeastSquares;

// Short waits keep the tests fast while still exercising the waiting code.
const BackoffParams kBackoff{64, 4096, 0.5, 7};

// One variant in either precision, from one generic lambda []<class S>() { ... }: make() builds
// the float one, make.in<double>() the double one.
class Maker {
 public:
  template <class F>
  requires(!std::same_as<std::decay_t<F>, Maker>)
      Maker(F f)  // NOLINT(google-explicit-constructor): variants() lists bare lambdas
      : float_([f] { return AlgorithmPtr<float>(f.template operator()<float>()); }),
        double_([f] { return AlgorithmPtr<double>(f.template operator()<double>()); }) {}
  [[nodiscard]] AlgorithmPtr<float> operator()() const { return float_(); }
  template <class S>
  [[nodiscard]] AlgorithmPtr<S> in() const {
    if constexpr (std::is_same_v<S, double>) {
      return double_();
    } else {
      return float_();
    }
  }

 private:
  std::function<AlgorithmPtr<float>()> float_;
  std::function<AlgorithmPtr<double>()> double_;
};

struct Variant {
  std::string label;
  Maker make;
  bool lost_updates_possible = false;  // hogwild
  bool may_drop = false;               // leashed with a finite persistence
  bool sync = false;
};

// Its label, so gtest (and ctest's list) names a parameter by it, not as "104-byte object".
void PrintTo(const Variant& v, std::ostream* os) { *os << v.label; }

LeashedOptions leashed(std::int64_t persistence, bool test_before_cas) {
  LeashedOptions o;
  o.persistence = persistence;
  o.test_before_cas = test_before_cas;
  return o;
}

std::vector<Variant> variants() {
  const std::int64_t inf = LeashedOptions::kInfinite;
  return {
      {"mutex_spin_none",
       []<class S>() { return make_mutex_sgd<S>(LockMode::kSpin, BackoffKind::kNone, kBackoff); }},
      {"mutex_spin_exponential",
       []<class S>() {
         return make_mutex_sgd<S>(LockMode::kSpin, BackoffKind::kExponential, kBackoff);
       }},
      {"mutex_os",
       []<class S>() { return make_mutex_sgd<S>(LockMode::kOs, BackoffKind::kNone, kBackoff); }},
      {"rwlock_spin_writer_none",
       []<class S>() {
         return make_rwlock_sgd<S>(LockMode::kSpin, RwPrefer::kWriter, BackoffKind::kNone,
                                   kBackoff);
       }},
      {"rwlock_spin_reader_linear",
       []<class S>() {
         return make_rwlock_sgd<S>(LockMode::kSpin, RwPrefer::kReader, BackoffKind::kLinear,
                                   kBackoff);
       }},
      {"rwlock_os_writer",
       []<class S>() {
         return make_rwlock_sgd<S>(LockMode::kOs, RwPrefer::kWriter, BackoffKind::kNone, kBackoff);
       }},
      {"rwlock_os_reader",
       []<class S>() {
         return make_rwlock_sgd<S>(LockMode::kOs, RwPrefer::kReader, BackoffKind::kNone, kBackoff);
       }},
      {"hogwild",
       []<class S>() { return make_hogwild_sgd<S>(false, BackoffKind::kNone, kBackoff); }, true},
      {"hogwild_atomic_none",
       []<class S>() { return make_hogwild_sgd<S>(true, BackoffKind::kNone, kBackoff); }},
      {"hogwild_atomic_constant",
       []<class S>() { return make_hogwild_sgd<S>(true, BackoffKind::kConstant, kBackoff); }},
      {"leashed_none",
       [=]<class S>() {
         return make_leashed_sgd<S>(leashed(inf, false), BackoffKind::kNone, kBackoff);
       }},
      {"leashed_exponential_tbc",
       [=]<class S>() {
         return make_leashed_sgd<S>(leashed(inf, true), BackoffKind::kExponential, kBackoff);
       }},
      {"leashed_persistence0",
       []<class S>() {
         return make_leashed_sgd<S>(leashed(0, false), BackoffKind::kNone, kBackoff);
       },
       false, true},
      {"leashed_persistence2_tbc",
       []<class S>() {
         return make_leashed_sgd<S>(leashed(2, true), BackoffKind::kLinear, kBackoff);
       },
       false, true},
      {"sync", []<class S>() { return std::make_unique<SyncSgd<S>>(); }, false, false, true},
  };
}

// The runner's options for the toy problems; a test sets what it varies. One checkpoint per
// `updates_per_epoch` updates (the default effectively none).
RunnerOptions toy_options() {
  RunnerOptions o;
  o.batch_size = 8;
  o.step = 0.01F;
  o.total_updates = 100;
  o.updates_per_epoch = 1'000'000;
  o.checkpoints_per_epoch = 1;
  o.staleness_bins = 256;
  return o;
}

// Every worker's statistics added up.
template <class S>
WorkerStats total(const BasicTrainingOutcome<S>& r) {
  return merge_workers(r.workers);
}

std::vector<float> zeros(std::size_t n) { return std::vector<float>(n, 0.0F); }

using testing::expect_one_thread_matches_seq;
using testing::same_bits;

// computed = applied + dropped + discarded_at_end per worker (asynchronous algorithms); sync
// computes N gradients per applied update and worker 0 counts the update.
void expect_accounting(const Variant& v, const TrainingOutcome& r, int threads) {
  for (std::size_t w = 0; w < r.workers.size(); ++w) {
    const WorkerStats& s = r.workers[w];
    EXPECT_EQ(s.staleness.count(), s.applied) << "worker " << w;
    EXPECT_EQ(s.attempts.count(), s.applied) << "worker " << w;
    // failed_attempts also counts the attempts of dropped and discarded gradients.
    EXPECT_LE(s.attempts.sum(), static_cast<double>(s.failed_attempts)) << "worker " << w;
    if (s.dropped == 0 && s.discarded_at_end == 0) {
      EXPECT_EQ(s.attempts.sum(), static_cast<double>(s.failed_attempts)) << "worker " << w;
    }
    if (v.sync) {
      EXPECT_EQ(s.applied, w == 0 ? total(r).applied : 0);
      // A round with a non-finite gradient is computed by every worker and applied by none.
      EXPECT_EQ(s.computed, total(r).applied + s.discarded_at_end);
      EXPECT_LE(s.discarded_at_end, 1);
      EXPECT_EQ(s.staleness.max(), 0);
    } else {
      EXPECT_EQ(s.computed, s.applied + s.dropped + s.discarded_at_end) << "worker " << w;
      EXPECT_LE(s.discarded_at_end, 1);
    }
    if (!v.may_drop) {
      EXPECT_EQ(s.dropped, 0);
    }
  }
  if (threads == 1) {
    EXPECT_EQ(total(r).staleness.max(), 0);
    EXPECT_EQ(total(r).failed_attempts, 0);
  }
}

class AlgorithmTest : public ::testing::TestWithParam<Variant> {};

TEST_P(AlgorithmTest, OneThreadMatchesSeqBitForBit) {
  expect_one_thread_matches_seq<float>(*GetParam().make.in<float>());
}

TEST_P(AlgorithmTest, OneThreadMatchesSeqBitForBitInDouble) {
  expect_one_thread_matches_seq<double>(*GetParam().make.in<double>());
}

TEST_P(AlgorithmTest, ExactUpdateCountsAndAccounting) {
  const LeastSquares model(6);
  const Dataset data = testing::random_floats(128, 6, 3, 5);
  for (int threads : {1, 2, 3, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    RunnerOptions o = toy_options();
    o.threads = threads;
    o.batch_size = 4;
    o.step = 0.01F;
    o.total_updates = 500;
    o.updates_per_epoch = 100;
    const std::unique_ptr<Algorithm> algo = GetParam().make();
    const TrainingOutcome r = run_training(*algo, model, data, zeros(model.num_params()), o);
    EXPECT_EQ(total(r).applied, 500);
    EXPECT_EQ(r.stop_reason, StopReason::kNone);
    expect_accounting(GetParam(), r, threads);
    // A snapshot at every checkpoint, taken by the worker that crossed it, all finite, holding
    // exactly the checkpoint's update (the lock-based methods once recorded a later read).
    for (std::int64_t v = 100; v <= 500; v += 100) {
      const std::size_t k = r.checkpoints->slot_of(v);
      ASSERT_TRUE(r.checkpoints->slot(k).filled) << "update " << v;
      EXPECT_EQ(r.checkpoints->slot(k).updates, v);
      for (float x : r.checkpoints->params(k)) EXPECT_TRUE(std::isfinite(x));
    }
  }
}

// final = initial - step * (sum of the applied gradients), exactly: the affine toy's gradients
// and step are dyadic, so every float sum is exact whatever the order of the updates.
TEST_P(AlgorithmTest, ConservationWithoutLostUpdates) {
  const Variant& v = GetParam();
  if (v.lost_updates_possible || v.may_drop) GTEST_SKIP() << "may lose or drop updates";
  const std::size_t d = 8;
  const Affine model(d);
  const Dataset data = testing::random_integers(256, d, 9);
  const float step = 1.0F / 64.0F;
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    RunnerOptions o = toy_options();
    o.threads = threads;
    o.batch_size = 4;
    o.step = step;
    o.total_updates = 1000;
    const std::unique_ptr<Algorithm> algo = v.make();
    const TrainingOutcome r = run_training(*algo, model, data, zeros(d), o);
    ASSERT_EQ(total(r).applied, 1000);
    std::vector<double> applied_sum(d, 0.0);
    for (std::size_t w = 0; w < r.workers.size(); ++w) {
      const auto& log = static_cast<const AffineWorkspace&>(*r.workspaces[w]);
      EXPECT_EQ(log.count, r.workers[w].computed);
      for (std::size_t i = 0; i < d; ++i) {
        applied_sum[i] += log.sum[i];
        if (r.workers[w].discarded_at_end == 1) applied_sum[i] -= log.last[i];
      }
    }
    const double scale = v.sync ? static_cast<double>(step) / threads : static_cast<double>(step);
    for (std::size_t i = 0; i < d; ++i) {
      EXPECT_EQ(static_cast<double>(r.final_params[i]), -scale * applied_sum[i]) << "coord " << i;
    }
  }
}

// Divergence (a non-finite loss or snapshot) stops every worker well before the budget.
TEST_P(AlgorithmTest, DivergenceStopsAllWorkers) {
  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  RunnerOptions o = toy_options();
  o.threads = 3;
  o.batch_size = 4;
  o.step = 1e18F;
  o.total_updates = 10'000'000;
  o.updates_per_epoch = 5000;  // few slots: Checkpoints reserves one per interval
  const std::unique_ptr<Algorithm> algo = GetParam().make();
  std::vector<float> theta0(model.num_params(), 1.0F);
  const TrainingOutcome r = run_training(*algo, model, data, theta0, o);
  EXPECT_EQ(r.stop_reason, StopReason::kDiverged);
  EXPECT_LT(total(r).applied, 100000);
  expect_accounting(GetParam(), r, 3);
}

// A time limit stops every worker promptly, sync included (no worker left at a barrier).
TEST_P(AlgorithmTest, TimeLimitStopsAllWorkers) {
  const LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  RunnerOptions o = toy_options();
  o.threads = 3;
  o.batch_size = 4;
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.time_limit_seconds = 0.05;
  const std::unique_ptr<Algorithm> algo = GetParam().make();
  const TrainingOutcome r = run_training(*algo, model, data, zeros(model.num_params()), o);
  EXPECT_EQ(r.stop_reason, StopReason::kTimeLimit);
  EXPECT_GT(total(r).applied, 0);
  EXPECT_LT(r.wall_seconds, 10.0);
  expect_accounting(GetParam(), r, 3);
}

INSTANTIATE_TEST_SUITE_P(Variants, AlgorithmTest, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& p) { return p.param.label; });

// Eight workers, oversubscribed on small machines: counts and accounting still exact.
class AlgorithmStressTest : public ::testing::TestWithParam<Variant> {};

TEST_P(AlgorithmStressTest, EightThreadsExactCounts) {
  const LeastSquares model(16);
  const Dataset data = testing::random_floats(256, 16, 3, 5);
  RunnerOptions o = toy_options();
  o.threads = 8;
  o.batch_size = 4;
  o.step = 0.01F;
  o.total_updates = 20000;
  o.updates_per_epoch = 1000;
  const std::unique_ptr<Algorithm> algo = GetParam().make();
  const TrainingOutcome r = run_training(*algo, model, data, zeros(model.num_params()), o);
  EXPECT_EQ(total(r).applied, 20000);
  expect_accounting(GetParam(), r, 8);
}

INSTANTIATE_TEST_SUITE_P(Variants, AlgorithmStressTest, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& p) { return p.param.label; });

// ---- Leashed-specific -------------------------------------------------------------------------

TrainingOutcome run_leashed(LeashedSgd<float, NoBackoff>& algo, int threads, std::int64_t updates,
                            std::size_t dim) {
  const LeastSquares model(dim);
  const Dataset data = testing::random_floats(256, dim, 3, 2);
  RunnerOptions o = toy_options();
  o.threads = threads;
  o.batch_size = 1;  // almost no gradient work: publishes collide as often as they can
  o.step = 0.001F;
  o.total_updates = updates;
  o.updates_per_epoch = 97;
  return run_training(algo, model, data, zeros(model.num_params()), o);
}

TEST(Leashed, AppliedPlusDroppedEqualsComputed) {
  for (std::int64_t persistence : {0, 1}) {
    LeashedSgd<float, NoBackoff> algo(leashed(persistence, false), kBackoff);
    const TrainingOutcome r = run_leashed(algo, 4, 3000, 64);
    EXPECT_EQ(total(r).applied, 3000);
    EXPECT_EQ(total(r).applied + total(r).dropped + total(r).discarded_at_end, total(r).computed);
    // Each drop follows exactly persistence + 1 failed attempts, each applied update fewer.
    for (const WorkerStats& s : r.workers) {
      EXPECT_EQ(s.computed, s.applied + s.dropped + s.discarded_at_end);
      EXPECT_LE(s.attempts.max(), persistence);
    }
    const nlohmann::json rep = algo.report();
    EXPECT_EQ(rep["persistence"], persistence);
  }
}

TEST(Leashed, ReportsLiveVectorsWithinTheBound) {
  LeashedSgd<float, NoBackoff> algo(leashed(LeashedOptions::kInfinite, false), kBackoff);
  const TrainingOutcome r = run_leashed(algo, 4, 3000, 64);
  const nlohmann::json rep = algo.report();
  EXPECT_EQ(rep["persistence"], "inf");
  EXPECT_EQ(rep["live_vectors"]["bound"], 9);
  EXPECT_EQ(rep["live_vectors"]["pool"], 12);
  EXPECT_LE(rep["live_vectors"]["peak"].get<std::int64_t>(), 9);
  EXPECT_GE(rep["live_vectors"]["peak"].get<std::int64_t>(), 2);
  EXPECT_EQ(algo.pool().live(), 1);  // only the latest survives the run
}

TEST(LeashedStress, LiveVectorsNeverExceedTheBoundWithEightThreads) {
  for (std::int64_t persistence : {LeashedOptions::kInfinite, std::int64_t{0}}) {
    LeashedSgd<float, NoBackoff> algo(leashed(persistence, true), kBackoff);
    const TrainingOutcome r = run_leashed(algo, 8, 40000, 256);
    EXPECT_EQ(total(r).applied, 40000);
    EXPECT_LE(algo.pool().peak_live(), algo.pool().live_bound());
    EXPECT_EQ(algo.pool().live_bound(), 17);
    EXPECT_EQ(algo.pool().live(), 1);
  }
}

// ---- staleness ----------------------------------------------------------------------------------

// With two workers whose gradient dominates the update, each update sees about one update of the
// other worker: mean staleness ~ 1 (the reference framework measured 0.995 for mutex and 0.999
// for Leashed on an MLP at b = 128).
TEST(Staleness, TwoThreadsMeanNearOneAtBatch128) {
  // ~20 us of gradient per update here: long next to a lock hand-over or a CAS, and the run
  // (2000 updates) spans many scheduler time slices even on a loaded machine, where the mean
  // still comes out near one (a worker that waited a slice applies one update with a large
  // staleness after the other applied as many with staleness 0).
  const LeastSquares model(256);
  const Dataset data = testing::random_floats(1024, 256, 4, 8);
  const std::vector<std::pair<std::string, std::function<std::unique_ptr<Algorithm>()>>> algos = {
      {"mutex", [] { return make_mutex_sgd(LockMode::kSpin, BackoffKind::kNone, kBackoff); }},
      {"leashed", [] {
         return make_leashed_sgd(leashed(LeashedOptions::kInfinite, false), BackoffKind::kNone,
                                 kBackoff);
       }}};
  for (const auto& [name, make] : algos) {
    RunnerOptions o = toy_options();
    o.threads = 2;
    o.batch_size = 128;
    o.step = 0.001F;
    o.total_updates = 2000;
    const std::unique_ptr<Algorithm> algo = make();
    const TrainingOutcome r = run_training(*algo, model, data, zeros(model.num_params()), o);
    const Histogram h = total(r).staleness;
    EXPECT_EQ(h.count(), 2000);
    EXPECT_GE(h.mean(), 0.8) << name;
    EXPECT_LE(h.mean(), 1.2) << name;
    std::printf("%s: mean staleness %.3f, p99 %lld, %.1f ms\n", name.c_str(), h.mean(),
                static_cast<long long>(h.quantile(0.99)), r.wall_seconds * 1e3);
  }
}

}  // namespace
}  // namespace psgd
