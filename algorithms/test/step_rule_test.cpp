// algorithms/test/step_rule_test.cpp — --step-rule (algorithms/step_rule.hpp): each rule's step
// for a scripted staleness, one thread of every method that takes a rule equals seq under the
// rules that leave staleness 0 alone, the recorded effective steps add up to the rule applied to
// the recorded staleness, and the methods without per-update staleness refuse a rule.
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
// when the update is applied.
const std::vector<std::string_view> kRuleMethods = {
    "mutex", "rwlock", "hogwild", "hogwild-atomic", "leashed", "param-server", "hybrid"};

template <class S>
AlgorithmPtr<S> make_with_rule(std::string_view name, std::string_view rule, int threads) {
  const AlgorithmEntry& e = builtin_algorithms().at(name);
  const AlgorithmSettings settings = e.settings_with({{"step-rule", rule}});
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

TEST(StepRule, MindTheStepGivesEveryStalenessTheGeometricWeightUnderItsModel) {
  StepRuleParams p;
  p.kind = StepRuleKind::kMindTheStep;
  p.mts_cap = 1e3;
  StepRule<double> rule(p);
  rule.init(1.0, 4);  // lambda = 3, mu = 3/4
  // P(tau) * factor(tau) = (1 - mu) mu^tau wherever the cap does not bind (tau <= 13 here), so
  // the mean step under the model is 1 less the geometric mass of the capped staleness.
  double poisson = std::exp(-3.0);
  double geometric = 0.25;
  int uncapped = 0;
  for (int tau = 0; tau < 60; ++tau) {
    if (tau > 0) {
      poisson *= 3.0 / tau;
      geometric *= 0.75;
    }
    const double f = rule.step(tau).factor;
    if (f < 1e3) {
      ++uncapped;
      EXPECT_NEAR(poisson * f, geometric, 1e-12 * geometric) << "tau " << tau;
    } else {
      EXPECT_EQ(f, 1e3);
    }
  }
  EXPECT_EQ(uncapped, 14);
  StepRule<float> one(p);
  one.init(0.05F, 1);  // lambda = 0, mu = 0: staleness 0 keeps the step exactly
  EXPECT_EQ(one.step(0).step, 0.05F);
  EXPECT_EQ(one.step(0).factor, 1.0);
  StepRule<float> capped(StepRuleParams{.kind = StepRuleKind::kMindTheStep});
  capped.init(1.0F, 4);
  for (int tau = 0; tau < 2000; tau += 3) EXPECT_LE(capped.step(tau).factor, 4.0);
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
      ASSERT_EQ(all.staleness.overflow(), 0);
      EXPECT_NEAR(all.step_factor_sum, want, 1e-9 * static_cast<double>(out.applied_updates));
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
  for (const std::string_view name :
       {"seq", "sync", "local-sgd", "nonblocking", "async-exchange"}) {
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
