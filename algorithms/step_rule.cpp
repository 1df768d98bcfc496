// algorithms/step_rule.cpp — the step rules' options, tables and record (see step_rule.hpp).
#include "algorithms/step_rule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "common/errors.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

nlohmann::json number_json(const double& v) { return v; }
nlohmann::json auto_or_number_json(const double& v) {
  return v < 0.0 ? nlohmann::json("auto") : nlohmann::json(v);
}

// "auto" (stored as -1) or a finite number in [lo, hi].
AlgorithmOption auto_or_number_option(std::string_view name, std::string_view help, double lo,
                                      double hi, std::string_view want) {
  return AlgorithmOption::make<double>(
      name, "X|auto", help, -1.0,
      [name, lo, hi, want](std::string_view text) {
        if (text == "auto") return -1.0;
        return parse_fraction_option(name, text, lo, hi, std::string(want) + " or auto");
      },
      auto_or_number_json);
}

AlgorithmOption updates_option(std::string_view name, std::string_view help, std::int64_t value) {
  return AlgorithmOption::make<std::int64_t>(
      name, "N", help, value,
      [name](std::string_view text) { return parse_int_option(name, text, 0, 1'000'000'000); },
      [](const std::int64_t& v) { return nlohmann::json(v); });
}

}  // namespace

const AlgorithmOption& step_rule_option() {
  static const AlgorithmOption o = AlgorithmOption::make<StepRuleKind>(
      "step-rule", "RULE",
      "step per update (async-exchange: per merge, scaling the merge) from its staleness tau: "
      "constant (eta) | inverse (eta / max(1, tau), the "
      "1/tau rule ASAP.SGD, ICML 2022, compares with) | mindthestep (MindTheStep-AsyncSGD, IEEE "
      "BigData 2019, as psgd reads it: eta min(cap, c g(tau)), g = (1-mu) mu^tau / "
      "Poisson_lambda(tau) held non-increasing past the model's mode, c so that the mean factor "
      "under the model is 1) | tail "
      "(ASAP.SGD's TAIL-tau: eta (1 + A (1 - 2 F(tau))), F the run's sampled staleness CDF)",
      StepRuleKind::kConstant,
      [](std::string_view text) { return parse_name(kStepRuleKinds, "step-rule", text); },
      [](const StepRuleKind& k) {
        return nlohmann::json(std::string(name_of(kStepRuleKinds, k)));
      });
  return o;
}

namespace {

const AlgorithmOption& mts_lambda_option() {
  static const AlgorithmOption o = auto_or_number_option(
      "mts-lambda", "mindthestep: mean of the Poisson staleness model (auto: threads - 1)", 0.0,
      1e4, "a number in [0, 1e4]");
  return o;
}

const AlgorithmOption& mts_momentum_option() {
  static const AlgorithmOption o = auto_or_number_option(
      "mts-momentum",
      "mindthestep: target momentum mu in [0, 1) (auto: lambda / (1 + lambda), geometric "
      "staleness of the model's mean)",
      0.0, 0.999999, "a number in [0, 1)");
  return o;
}

const AlgorithmOption& mts_cap_option() {
  static const AlgorithmOption o = AlgorithmOption::make<double>(
      "mts-cap", "X",
      "mindthestep: largest step factor (step / --step), in [1, 1e3]; the others are scaled so the "
      "mean factor under the model stays 1",
      4.0,
      [](std::string_view text) {
        return parse_fraction_option("mts-cap", text, 1.0, 1e3, "a number in [1, 1e3]");
      },
      number_json);
  return o;
}

const AlgorithmOption& tail_amplitude_option() {
  static const AlgorithmOption o = AlgorithmOption::make<double>(
      "tail-amplitude", "A", "tail: adaptation amplitude A in [0, 1] (factors in [1-A, 1+A])", 1.0,
      [](std::string_view text) {
        return parse_fraction_option("tail-amplitude", text, 0.0, 1.0, "a number in [0, 1]");
      },
      number_json);
  return o;
}

const AlgorithmOption& tail_sample_start_option() {
  static const AlgorithmOption o = updates_option(
      "tail-sample-start", "tail: staleness sample starts after START x threads updates", 10);
  return o;
}

const AlgorithmOption& tail_sample_stop_option() {
  static const AlgorithmOption o = updates_option(
      "tail-sample-stop", "tail: ... and ends at STOP x threads updates (> START)", 15);
  return o;
}

}  // namespace

std::vector<const AlgorithmOption*> step_rule_options() {
  return {&step_rule_option(),       &mts_lambda_option(),     &mts_momentum_option(),
          &mts_cap_option(),         &tail_amplitude_option(), &tail_sample_start_option(),
          &tail_sample_stop_option()};
}

std::vector<const AlgorithmOption*> with_step_rules(std::vector<const AlgorithmOption*> options) {
  for (const AlgorithmOption* o : step_rule_options()) options.push_back(o);
  return options;
}

StepRuleParams step_rule_choice(const AlgorithmSettings& settings) {
  StepRuleParams p;
  p.kind = settings.get<StepRuleKind>(step_rule_option());
  p.mts_lambda = settings.get<double>(mts_lambda_option());
  p.mts_momentum = settings.get<double>(mts_momentum_option());
  p.mts_cap = settings.get<double>(mts_cap_option());
  p.tail_amplitude = settings.get<double>(tail_amplitude_option());
  p.tail_sample_start = settings.get<std::int64_t>(tail_sample_start_option());
  p.tail_sample_stop = settings.get<std::int64_t>(tail_sample_stop_option());
  if (p.tail_sample_stop <= p.tail_sample_start) {
    throw ConfigError("--tail-sample-stop must be above --tail-sample-start, got " +
                      std::to_string(p.tail_sample_stop) +
                      " <= " + std::to_string(p.tail_sample_start));
  }
  return p;
}

MindTheStepTable mindthestep_table(double lambda, double momentum, double cap) {
  constexpr auto kN = static_cast<std::size_t>(kStepRuleTableSize);
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  // In logs, since e^lambda / (1 + lambda) overflows long before lambda's bound (1e4):
  // log g(tau) = log((1 - mu) mu^tau) - log P(tau), log P(tau) = -lambda + tau log(lambda) -
  // log(tau!). tau = 0 alone keeps clear of 0 * log(0). The table's last entry serves every
  // staleness from it on, so its model weight is P's whole tail there.
  std::vector<double> log_g(kN);
  std::vector<double> log_weight(kN);
  double head_mass = 0.0;
  for (std::size_t tau = 0; tau < kN; ++tau) {
    const auto t = static_cast<double>(tau);
    double log_p = -lambda;
    double log_geometric = std::log1p(-momentum);
    if (tau > 0) {
      log_p = lambda > 0.0 ? log_p + t * std::log(lambda) - std::lgamma(t + 1.0) : -kInfinity;
      log_geometric = momentum > 0.0 ? log_geometric + t * std::log(momentum) : -kInfinity;
    }
    log_g[tau] = log_geometric - log_p;  // NaN for lambda = mu = 0, tau > 0: held below
    log_weight[tau] = log_p;
    if (tau + 1 < kN) head_mass += std::exp(log_p);
  }
  log_weight[kN - 1] = std::log(std::max(0.0, 1.0 - head_mass));
  // Non-increasing: before the mode floor(lambda) g already decreases (g(tau + 1) / g(tau) =
  // mu (tau + 1) / lambda < 1 for tau < lambda), past it g would grow like tau! / lambda^tau (the
  // model runs out of mass, not the run), so there every factor is held at its predecessor's.
  for (std::size_t tau = 1; tau < kN; ++tau) {
    if (!(log_g[tau] <= log_g[tau - 1])) log_g[tau] = log_g[tau - 1];
  }
  // min(cap, c g) with sum_tau P(tau) min(cap, c g(tau)) = 1. As g is non-increasing the capped
  // entries are a prefix 0..k-1; for each k, c = (1 - cap P(< k)) / sum_{tau >= k} P g, and the k
  // whose c leaves entry k uncapped and caps entry k - 1 is the solution (the sum grows
  // strictly with c, so there is one).
  // log sum_{tau >= k} P(tau) g(tau), summed in logs too: with lambda far past the table
  // (thousands) the last entry holds nearly all the model's mass and its g is e^(hundreds), so
  // the plain sum overflowed and the mean of 1 was lost. A NaN term (0 * infinity: no mass
  // where g has no value) counts as nothing.
  const auto log_add = [](double a, double b) {
    if (a == -kInfinity) return b;
    if (b == -kInfinity) return a;
    return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
  };
  std::vector<double> log_tail(kN + 1, -kInfinity);
  for (std::size_t tau = kN; tau-- > 0;) {
    const double term = log_weight[tau] + log_g[tau];
    log_tail[tau] = log_add(log_tail[tau + 1], std::isnan(term) ? -kInfinity : term);
  }
  const double log_cap = std::log(cap);
  MindTheStepTable t;
  t.mode = static_cast<std::int64_t>(std::min(std::floor(lambda), static_cast<double>(kN - 1)));
  t.factor.assign(kN, 0.0);
  double capped_mass = 0.0;  // P(< k)
  bool solved = false;
  for (std::size_t k = 0; k < kN && !solved; ++k) {
    const double remaining = 1.0 - cap * capped_mass;  // the mean left to the uncapped entries
    capped_mass += std::exp(log_weight[k]);
    if (!(remaining > 0.0)) continue;
    const double log_c = std::log(remaining) - log_tail[k];
    if (!std::isfinite(log_c)) continue;
    if (log_c + log_g[k] > log_cap) continue;
    if (k > 0 && log_c + log_g[k - 1] < log_cap) continue;
    for (std::size_t tau = 0; tau < kN; ++tau) {
      t.factor[tau] = tau < k ? cap : std::min(cap, std::exp(log_c + log_g[tau]));
    }
    t.scale = std::exp(log_c);  // 0 where c is below the smallest double (lambda in the thousands)
    solved = true;
  }
  if (!solved) {
    // The cap leaves no room for a mean of 1 (cap times the model's mass where g > 0 is below
    // 1, e.g. mu = 0), or every entry is capped (cap = 1): the cap wherever g > 0.
    for (std::size_t tau = 0; tau < kN; ++tau) t.factor[tau] = log_g[tau] > -kInfinity ? cap : 0.0;
    t.scale = -1.0;
  }
  t.mean = 0.0;
  for (std::size_t tau = 0; tau < kN; ++tau) t.mean += std::exp(log_weight[tau]) * t.factor[tau];
  return t;
}

template <class S>
void StepRule<S>::init(S eta, int workers) {
  eta_ = eta;
  const int m = std::max(workers, 1);
  lambda_ = params_.mts_lambda >= 0.0 ? params_.mts_lambda : static_cast<double>(m - 1);
  momentum_ = params_.mts_momentum >= 0.0 ? params_.mts_momentum : lambda_ / (1.0 + lambda_);
  window_first_ = params_.tail_sample_start * m;
  window_last_ = params_.tail_sample_stop * m;
  table_.clear();
  tail_.reset();
  if (params_.kind == StepRuleKind::kMindTheStep) {
    MindTheStepTable t = mindthestep_table(lambda_, momentum_, params_.mts_cap);
    table_ = std::move(t.factor);
    mts_mode_ = t.mode;
    mts_scale_ = t.scale;
    mts_mean_ = t.mean;
  } else if (params_.kind == StepRuleKind::kTail) {
    tail_ = std::make_unique<TailState>();
  }
}

template <class S>
void StepRule<S>::publish_tail() noexcept {
  TailState& t = *tail_;
  const auto n = static_cast<double>(window_last_ - window_first_);
  std::int64_t below = 0;  // sampled updates with staleness < tau
  for (std::int64_t tau = 0; tau < kStepRuleTableSize; ++tau) {
    const double cdf = static_cast<double>(below) / n;
    t.factor[tau] = 1.0 + params_.tail_amplitude * (1.0 - 2.0 * cdf);
    // relaxed: ordered after every bin increment by the acq_rel fetch_add in observe().
    below += t.bins[tau].load(std::memory_order_relaxed);
  }
  // release: publishes the table to step()'s acquire load.
  t.ready.store(true, std::memory_order_release);
}

template <class S>
nlohmann::json StepRule<S>::json() const {
  nlohmann::json j = {{"rule", std::string(name_of(kStepRuleKinds, params_.kind))}};
  if (params_.kind == StepRuleKind::kMindTheStep) {
    j["lambda"] = lambda_;
    j["momentum"] = momentum_;
    j["cap"] = params_.mts_cap;
    j["mode"] = mts_mode_;
    j["scale"] = mts_scale_;
    j["mean_factor_under_model"] = mts_mean_;
    std::vector<double> head(table_.begin(), table_.begin() + 16);
    j["factor_by_staleness"] = head;  // tau = 0..15
  } else if (params_.kind == StepRuleKind::kTail) {
    j["amplitude"] = params_.tail_amplitude;
    j["sample_versions"] = {window_first_ + 1, window_last_};
    const bool ready = tail_->ready.load(std::memory_order_acquire);
    j["sample_complete"] = ready;
    if (ready) {
      j["factor_by_staleness"] =
          std::vector<double>(std::begin(tail_->factor), std::begin(tail_->factor) + 16);
    }
  }
  return j;
}

template class StepRule<float>;
template class StepRule<double>;

}  // namespace psgd
