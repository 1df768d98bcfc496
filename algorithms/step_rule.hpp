// algorithms/step_rule.hpp — staleness-adaptive step sizes (--step-rule): the step an update is
// applied with, as a function of its staleness tau (exact, as every method here measures it).
//
//   constant     eta for every update (the default: the methods' behaviour before rules existed).
//   inverse      eta / max(1, tau): the 1/tau baseline ASAP.SGD compares against (Backstrom,
//                Papatriantafilou and Tsigas, "ASAP.SGD: Instance-based Adaptiveness to Staleness
//                in Asynchronous SGD", ICML 2022). tau = 0 and tau = 1 keep eta.
//   mindthestep  MindTheStep-AsyncSGD (Backstrom, Papatriantafilou and Tsigas, IEEE BigData
//                2019): a model of the staleness distribution, P(tau) = Poisson(lambda), and a step
//                per staleness that reshapes the expected update. psgd's reading (the paper's
//                exact step function was not available to us, so this is a choice, documented in
//                docs/algorithms.md and --help): asynchrony with geometric staleness acts as
//                momentum mu (Mitliagkas et al., 2016); the step eta * (1 - mu) * mu^tau / P(tau)
//                gives every staleness the weight that geometric staleness with momentum mu would,
//                and its mean over the model, sum_tau P(tau) * step(tau), is eta. Defaults: lambda
//                = workers - 1 (the mean staleness of a lock-based method whose gradients dominate
//                its updates), mu = lambda / (1 + lambda) (the geometric law of the same mean), and
//                the factor capped at --mts-cap (the ratio grows like tau! in the model's tail,
//                where the model, not the run, runs out of mass). With one worker (lambda = 0)
//                the factor at tau = 0 is exactly 1.
//   tail         ASAP.SGD's TAIL-tau: the factor 1 + A * (1 - 2 F(tau)), F the empirical CDF of
//                the run's own staleness (F(tau) = the fraction of sampled updates with staleness
//                below tau), sampled over the updates with versions in (start * m, stop * m]
//                (m workers; the reference implementation's window is per-thread iterations 10 to
//                15, A = 1). Fresh updates are boosted (up to 1 + A), stale ones damped (down to
//                1 - A); before the sample is complete every factor is 1.
//
// Synchronisation: constant, inverse and mindthestep are pure functions of tau (mindthestep's
// factors are a table computed in init). tail adds, only for the (stop - start) * m updates of its
// window, one relaxed fetch_add on a shared bin and one acq_rel fetch_add on a shared count; the
// update that completes the sample builds the factor table and publishes it with a release store,
// which every later update reads with one acquire load. Nothing else is shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/algorithm_options.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class StepRuleKind { kConstant, kInverse, kMindTheStep, kTail };
inline constexpr NameTable<StepRuleKind, 4> kStepRuleKinds{{
    {"constant", StepRuleKind::kConstant},
    {"inverse", StepRuleKind::kInverse},
    {"mindthestep", StepRuleKind::kMindTheStep},
    {"tail", StepRuleKind::kTail},
}};

struct StepRuleParams {
  StepRuleKind kind = StepRuleKind::kConstant;
  double mts_lambda = -1.0;    // < 0: auto (workers - 1)
  double mts_momentum = -1.0;  // < 0: auto (lambda / (1 + lambda))
  double mts_cap = 4.0;
  double tail_amplitude = 1.0;
  std::int64_t tail_sample_start = 10;  // per-worker updates: the window is (start*m, stop*m]
  std::int64_t tail_sample_stop = 15;
};

// The options, in --help order, for the registry entries of the methods that apply an update's
// step knowing its staleness.
std::vector<const AlgorithmOption*> step_rule_options();
// `options` followed by step_rule_options().
std::vector<const AlgorithmOption*> with_step_rules(std::vector<const AlgorithmOption*> options);
const AlgorithmOption& step_rule_option();
// The rule of a run; throws ConfigError when --tail-sample-stop is not above --tail-sample-start.
StepRuleParams step_rule_choice(const AlgorithmSettings& settings);

// Staleness above this uses the last table entry (mindthestep, tail): far beyond any staleness
// measured here (a few times the worker count), and 8 KiB per table.
inline constexpr std::int64_t kStepRuleTableSize = 1024;
// The effective-step record: factor (step / eta) histogram bins per unit, and the bins kept
// (factors up to 8; larger go to the histogram's overflow bin, their sum stays exact).
inline constexpr double kStepFactorBinsPerUnit = 64.0;
inline constexpr std::size_t kStepFactorBins = 8 * 64 + 1;

// One run's rule. init() once, single-threaded, before any worker; step() and observe() from any
// worker concurrently (see the synchronisation above); json() after the join.
template <class S>
class StepRule {
 public:
  struct Step {
    S step;         // what the update is applied with
    double factor;  // step / eta, for the record
  };

  explicit StepRule(const StepRuleParams& params = {}) : params_(params) {}

  void init(S eta, int workers);

  [[nodiscard]] StepRuleKind kind() const noexcept { return params_.kind; }

  // The step of an update of staleness tau (>= 0).
  [[nodiscard]] Step step(std::int64_t tau) const noexcept {
    switch (params_.kind) {
      case StepRuleKind::kConstant:
        return {eta_, 1.0};
      case StepRuleKind::kInverse: {
        const std::int64_t d = tau > 1 ? tau : 1;
        return {eta_ / static_cast<S>(d), 1.0 / static_cast<double>(d)};
      }
      case StepRuleKind::kMindTheStep:
        return scaled(table_[index(tau)]);
      case StepRuleKind::kTail:
        // acquire: pairs with the release store in observe(); the table is then complete.
        if (!tail_->ready.load(std::memory_order_acquire)) return {eta_, 1.0};
        return scaled(tail_->factor[index(tau)]);
    }
    return {eta_, 1.0};
  }

  // After the update that made the shared version `version` (1-based), of staleness tau, was
  // applied. Only tail does anything, and only inside its sampling window.
  void observe(std::int64_t version, std::int64_t tau) noexcept {
    if (params_.kind != StepRuleKind::kTail) return;
    if (version <= window_first_ || version > window_last_) return;
    // relaxed: the bin is read only by the thread that completes the sample, after the acq_rel
    // fetch_add below (every earlier fetch_add on `sampled` is in its release sequence).
    tail_->bins[index(tau)].fetch_add(1, std::memory_order_relaxed);
    const std::int64_t n = tail_->sampled.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (n == window_last_ - window_first_) publish_tail();
  }

  // The rule and its resolved parameters, for the JSON.
  [[nodiscard]] nlohmann::json json() const;

 private:
  struct TailState {
    std::atomic<std::int64_t> bins[kStepRuleTableSize] = {};
    std::atomic<std::int64_t> sampled{0};
    double factor[kStepRuleTableSize] = {};  // written once, before `ready`
    std::atomic<bool> ready{false};
  };

  static std::size_t index(std::int64_t tau) noexcept {
    return static_cast<std::size_t>(tau < 0                    ? 0
                                    : tau < kStepRuleTableSize ? tau
                                                               : kStepRuleTableSize - 1);
  }
  [[nodiscard]] Step scaled(double factor) const noexcept {
    return {static_cast<S>(static_cast<double>(eta_) * factor), factor};
  }
  void publish_tail() noexcept;

  StepRuleParams params_;
  S eta_ = 0;
  double lambda_ = 0.0;
  double momentum_ = 0.0;
  std::int64_t window_first_ = 0;  // tail: versions in (first, last] are sampled
  std::int64_t window_last_ = 0;
  std::vector<double> table_;  // mindthestep: factor per staleness
  // tail's shared state; allocated in init() only for tail. Not through SharedMemory: it is a
  // few KiB touched only during the sampling window, not the parameters whose placement
  // --memory studies.
  std::unique_ptr<TailState> tail_;
};

// Records an applied update's effective step (its factor) in the worker's stats.
inline void record_step(WorkerStats& stats, double factor) noexcept {
  stats.step_factor.add(static_cast<std::int64_t>(factor * kStepFactorBinsPerUnit));
  stats.step_factor_sum += factor;
}

}  // namespace psgd
