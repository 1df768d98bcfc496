// algorithms/test/step_rule_test.cpp — --step-rule (algorithms/step_rule.hpp): each rule's step
// for a scripted staleness, mindthestep's table non-increasing with mean 1 under its model, one
// thread of every method that takes a rule equals seq under the rules that leave staleness 0 alone,
// the recorded effective steps add up to the rule applied to the recorded staleness, and the
// methods without per-update staleness refuse a rule.
#include "algorithms/step_rule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"

namespace psgd::testing {
namespace {

// The registry entries that take a step rule: every method whose update's staleness is known
// when the update is applied (async-exchange per merge: its own tests are in
// async_exchange_test.cpp, since its rule sees the merge's staleness, not the update's).
const std::vector<std::string_view> kRuleMethods = {
    "mutex",        "rwlock", "hogwild",        "hogwild-atomic", "leashed",
    "param-server", "hybrid", "async-exchange", "replicated"};  // its inner method's rule, on the
                                                                // staleness within a replica

// With the settings under which its one thread is seq (async-exchange: --merge overwrite).
template <class S>
AlgorithmPtr<S> make_with_rule(std::string_view name, std::string_view rule, int threads) {
  const AlgorithmEntry& e = builtin_algorithms().at(name);
  std::vector<OptionText> values = e.one_thread_is_seq.value_or(std::vector<OptionText>{});
  values.push_back({"step-rule", rule});
  const AlgorithmSettings settings = e.settings_with(values);
  return e.make.build<S>(AlgorithmSetup{settings, 5, threads});
}

TEST(StepRule, ConstantIsTheStepBitForBit) {
  StepRule<float> rule;
  const float eta = 0.0123F;
  rule.init(eta, 8);
  for (std::int64_t tau = 0; tau < 3000; tau += 7) {
    const auto s = rule.step(tau);
    EXPECT_EQ(std::bit_cast<std::uint32_t>(s.step), std::bit_cast<std::uint32_t>(eta))
        << "tau " << tau;
    EXPECT_EQ(s.factor, 1.0);
  }
}

TEST(StepRule, InverseIsEtaOverMaxOneTauOnAScriptedSequence) {
  StepRuleParams p;
  p.kind = StepRuleKind::kInverse;
  StepRule<double> rule(p);
  const double eta = 0.05;
  rule.init(eta, 4);
  const std::vector<std::int64_t> script = {0, 1, 2, 3, 0, 7, 1, 64, 1000, 5000, 2, 0};
  for (const std::int64_t tau : script) {
    const auto s = rule.step(tau);
    const double want = eta / static_cast<double>(std::max<std::int64_t>(1, tau));
    EXPECT_EQ(s.step, want) << "tau " << tau;
    EXPECT_EQ(s.factor, 1.0 / static_cast<double>(std::max<std::int64_t>(1, tau)));
    rule.observe(1, tau);  // no state: the sequence changes nothing
  }
  StepRule<float> f(p);
  f.init(0.01F, 4);
  EXPECT_EQ(f.step(3).step, 0.01F / 3.0F);  // computed in the run's precision
}

// The model's weight of each table entry: Poisson(lambda) at tau, its whole tail at the last.
std::vector<double> poisson_weights(double lambda) {
  std::vector<double> w(static_cast<std::size_t>(kStepRuleTableSize));
  double p = std::exp(-lambda);
  double head = 0.0;
  for (std::size_t tau = 0; tau + 1 < w.size(); ++tau) {
    if (tau > 0) p *= lambda / static_cast<double>(tau);
    w[tau] = p;
    head += p;
  }
  w.back() = std::max(0.0, 1.0 - head);
  return w;
}

// The two properties psgd's reading promises: a staler update never gets a larger step (the
// factor is non-increasing, in particular past the model's mode, where the raw ratio grows), and
// the mean factor under the model is 1 (within 1e-12: rounding only), whatever the cap.
TEST(StepRule, MindTheStepIsNonIncreasingAndMeansOneUnderItsModel) {
  for (const double lambda : {0.5, 1.0, 3.0, 7.0, 15.0, 40.0, 300.0}) {
    for (const double momentum : {-1.0, 0.5, 0.99}) {
      for (const double cap : {1.5, 4.0, 1e3}) {
        SCOPED_TRACE("lambda " + std::to_string(lambda) + " mu " + std::to_string(momentum) +
                     " cap " + std::to_string(cap));
        const double mu = momentum < 0.0 ? lambda / (1.0 + lambda) : momentum;
        const MindTheStepTable t = mindthestep_table(lambda, mu, cap);
        EXPECT_EQ(t.mode, static_cast<std::int64_t>(std::floor(lambda)));
        ASSERT_EQ(t.factor.size(), static_cast<std::size_t>(kStepRuleTableSize));
        const std::vector<double> w = poisson_weights(lambda);
        double mean = 0.0;
        for (std::size_t tau = 0; tau < t.factor.size(); ++tau) {
          mean += w[tau] * t.factor[tau];
          ASSERT_GT(t.factor[tau], 0.0) << "tau " << tau;
          ASSERT_LE(t.factor[tau], cap) << "tau " << tau;
          if (tau > 0) {
            ASSERT_LE(t.factor[tau], t.factor[tau - 1]) << "tau " << tau;
          }
        }
        EXPECT_NEAR(mean, 1.0, 1e-12);
        EXPECT_NEAR(t.mean, 1.0, 1e-12);
        EXPECT_GT(t.scale, 0.0);
      }
    }
  }
}

// lambda far past the table (the option allows 1e4): nearly all the model's mass is in the last
// entry, which serves every staleness from 1023 on; the mean is still 1 (it once overflowed to
// infinity there, and every factor became the cap).
TEST(StepRule, MindTheStepMeansOneForALambdaPastTheTable) {
  for (const double lambda : {2000.0, 3000.0, 5000.0, 1e4}) {
    SCOPED_TRACE("lambda " + std::to_string(lambda));
    const MindTheStepTable t = mindthestep_table(lambda, lambda / (1.0 + lambda), 4.0);
    EXPECT_EQ(t.mode, kStepRuleTableSize - 1);
    const std::vector<double> w = poisson_weights(lambda);
    double mean = 0.0;
    for (std::size_t tau = 0; tau < t.factor.size(); ++tau) {
      mean += w[tau] * t.factor[tau];
      if (tau > 0) {
        ASSERT_LE(t.factor[tau], t.factor[tau - 1]) << "tau " << tau;
      }
    }
    EXPECT_NEAR(mean, 1.0, 1e-9);
    EXPECT_NEAR(t.mean, 1.0, 1e-9);
    EXPECT_NE(t.scale, -1.0) << "solved, not the cap everywhere";
  }
}

// Where the cap does not bind, before the mode, P(tau) factor(tau) is the geometric weight
// (1 - mu) mu^tau times one constant (the scale c); past the mode the factor is held.
TEST(StepRule, MindTheStepKeepsTheGeometricShapeBeforeTheModeAndHoldsAfterIt) {
  StepRuleParams p;
  p.kind = StepRuleKind::kMindTheStep;
  p.mts_cap = 1e3;
  StepRule<double> rule(p);
  rule.init(1.0, 8);  // lambda = 7, mu = 7/8: no factor reaches 1e3
  const nlohmann::json j = rule.json();
  const double c = j.at("scale").get<double>();
  EXPECT_EQ(j.at("mode"), 7);
  double poisson = std::exp(-7.0);
  double geometric = 1.0 / 8.0;
  for (int tau = 0; tau <= 7; ++tau) {
    if (tau > 0) {
      poisson *= 7.0 / tau;
      geometric *= 7.0 / 8.0;
    }
    EXPECT_NEAR(poisson * rule.step(tau).factor, c * geometric, 1e-12 * c * geometric)
        << "tau " << tau;
  }
  for (int tau = 8; tau < 3000; tau += 13) EXPECT_EQ(rule.step(tau).factor, rule.step(7).factor);
  // With the default cap 4, the fresh updates of the same model are capped, and the others are
  // scaled up so the mean stays 1: the stalest get less than eta, never the cap.
  StepRule<double> capped(StepRuleParams{.kind = StepRuleKind::kMindTheStep});
  capped.init(1.0, 8);
  EXPECT_EQ(capped.step(0).factor, 4.0);
  EXPECT_LT(capped.step(100).factor, 1.0);
  EXPECT_NEAR(capped.json().at("mean_factor_under_model").get<double>(), 1.0, 1e-12);
}

TEST(StepRule, MindTheStepAtOneWorkerIsExactlyEtaAndWithoutRoomForAMeanOfOneIsTheCap) {
  const MindTheStepTable one = mindthestep_table(0.0, 0.0, 4.0);  // one worker: lambda = mu = 0
  for (const double f : one.factor) ASSERT_EQ(f, 1.0);
  StepRule<float> rule(StepRuleParams{.kind = StepRuleKind::kMindTheStep});
  rule.init(0.05F, 1);
  EXPECT_EQ(rule.step(0).step, 0.05F);
  EXPECT_EQ(rule.step(9).step, 0.05F);
  // mu = 0 weights staleness 0 alone; cap 4 x P(0) = 4 e^-3 < 1 cannot make a mean of 1.
  const MindTheStepTable none = mindthestep_table(3.0, 0.0, 4.0);
  EXPECT_EQ(none.factor[0], 4.0);
  EXPECT_EQ(none.factor[1], 0.0);
  EXPECT_EQ(none.scale, -1.0);
  EXPECT_NEAR(none.mean, 4.0 * std::exp(-3.0), 1e-15);
}

TEST(StepRule, TailUsesTheSampledCdfOnceTheWindowIsComplete) {
  StepRuleParams p;
  p.kind = StepRuleKind::kTail;
  p.tail_sample_start = 2;
  p.tail_sample_stop = 4;
  StepRule<double> rule(p);
  rule.init(1.0, 2);  // window: versions 5..8
  const std::vector<std::int64_t> tau = {9, 9, 9, 9, 0, 1, 1, 3, 9, 9};
  for (std::size_t i = 0; i < tau.size(); ++i) {
    const std::int64_t version = static_cast<std::int64_t>(i) + 1;
    if (version <= 8) {
      EXPECT_EQ(rule.step(0).factor, 1.0) << "before the sample is complete";
    }
    rule.observe(version, tau[i]);
  }
  // Sample {0, 1, 1, 3}: F(0) = 0, F(1) = 1/4, F(2) = F(3) = 3/4, F(4+) = 1.
  EXPECT_EQ(rule.step(0).factor, 2.0);
  EXPECT_EQ(rule.step(1).factor, 1.5);
  EXPECT_EQ(rule.step(3).factor, 0.5);
  EXPECT_EQ(rule.step(9).factor, 0.0);
  EXPECT_EQ(rule.json().at("sample_complete"), true);
}

// One thread: staleness is always 0, so every rule whose step at 0 is the step is seq.
TEST(StepRule, OneThreadOfEveryRuleMethodIsSeqUnderRulesThatKeepStalenessZero) {
  for (const std::string_view name : kRuleMethods) {
    for (const std::string_view rule : {"constant", "inverse", "mindthestep"}) {
      SCOPED_TRACE(std::string(name) + " --step-rule " + std::string(rule));
      AlgorithmPtr<float> f = make_with_rule<float>(name, rule, 1);
      expect_one_thread_matches_seq(*f);
      AlgorithmPtr<double> d = make_with_rule<double>(name, rule, 1);
      expect_one_thread_matches_seq(*d);
    }
  }
}

// tail boosts staleness 0 once its sample is complete (factor 1 + A): one thread then leaves seq.
TEST(StepRule, TailBoostsOneThreadAfterItsSample) {
  AlgorithmPtr<float> algo = make_with_rule<float>("mutex", "tail", 1);
  const BesideSeq<float> r = run_beside_seq(*algo);
  EXPECT_FALSE(same_bits<float>(r.got.final_params, r.seq.final_params));
  const WorkerStats all = merge_workers(r.got.workers);
  // Updates 1..15 (the window's end, 15 x 1 thread) at factor 1, the other 285 at 2.
  EXPECT_EQ(all.step_factor.count(), 300);
  EXPECT_DOUBLE_EQ(all.step_factor_sum, 15.0 + 2.0 * 285.0);
}

// With several threads: one effective step per applied update, and they add up to the rule
// applied to the recorded staleness histogram (exact for inverse: its factor is a function of
// tau alone).
TEST(StepRule, RecordedEffectiveStepsAddUp) {
  const LeastSquares<float> model(12);
  const Dataset data = random_floats(200, 12, 4, 3);
  const std::vector<float> theta0(model.num_params(), 0.0F);
  for (const std::string_view name : kRuleMethods) {
    if (name == "async-exchange") continue;  // its rule sees merges (async_exchange_test.cpp)
    for (const std::string_view rule : {"constant", "inverse"}) {
      SCOPED_TRACE(std::string(name) + " --step-rule " + std::string(rule));
      AlgorithmPtr<float> algo = make_with_rule<float>(name, rule, 3);
      const TrainingOutcome out = run_training<float>(*algo, model, data, theta0, small_run(3, 9));
      const WorkerStats all = merge_workers(out.workers);
      EXPECT_EQ(all.step_factor.count(), out.applied_updates);
      EXPECT_EQ(all.step_factor.count(), all.staleness.count());
      double want = 0.0;
      const std::vector<std::int64_t>& bins = all.staleness.bins();
      for (std::size_t tau = 0; tau < bins.size(); ++tau) {
        const double f = rule == "inverse" ? 1.0 / std::max(1.0, static_cast<double>(tau)) : 1.0;
        want += f * static_cast<double>(bins[tau]);
      }
      // Staleness past the histogram's bins (a thread held off for a long spell: once under
      // TSan at 3 threads) is counted without its tau: its factor is 1 for constant, and in
      // (0, 1 / bins] for inverse.
      const auto overflow = static_cast<double>(all.staleness.overflow());
      const double slack = 1e-9 * static_cast<double>(out.applied_updates);
      if (rule == "constant") {
        EXPECT_NEAR(all.step_factor_sum, want + overflow, slack);
      } else {
        EXPECT_GE(all.step_factor_sum, want - slack);
        EXPECT_LE(all.step_factor_sum, want + overflow / static_cast<double>(bins.size()) + slack);
      }
      std::int64_t binned = all.step_factor.overflow();
      for (const std::int64_t c : all.step_factor.bins()) binned += c;
      EXPECT_EQ(binned, out.applied_updates);
    }
  }
}

TEST(StepRule, MethodsWithoutPerUpdateStalenessRefuseARule) {
  const AlgorithmRegistry& registry = builtin_algorithms();
  for (const AlgorithmEntry& e : registry.entries()) {
    const bool takes =
        std::find(kRuleMethods.begin(), kRuleMethods.end(), e.name) != kRuleMethods.end();
    EXPECT_EQ(e.accepts("step-rule"), takes) << e.name;
  }
  AlgorithmSettings settings;
  settings.set(step_rule_option(), "inverse");
  for (const std::string_view name : {"seq", "sync", "local-sgd", "nonblocking"}) {
    try {
      registry.check(name, AlgorithmSetup{settings, 1, name == "seq" ? 1 : 2});
      ADD_FAILURE() << name << " accepted --step-rule";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("step-rule"), std::string::npos) << e.what();
    }
  }
}

TEST(StepRule, BadValuesAreOneLineErrors) {
  AlgorithmSettings s;
  EXPECT_THROW(s.set(step_rule_option(), "1/tau"), ConfigError);
  const AlgorithmEntry& mutex = builtin_algorithms().at("mutex");
  EXPECT_THROW((void)mutex.settings_with({{"mts-momentum", "1"}}), ConfigError);
  EXPECT_THROW((void)mutex.settings_with({{"tail-amplitude", "2"}}), ConfigError);
  const AlgorithmSettings window =
      mutex.settings_with({{"tail-sample-start", "5"}, {"tail-sample-stop", "5"}});
  EXPECT_THROW((void)step_rule_choice(window), ConfigError);
}

}  // namespace
}  // namespace psgd::testing
