// harness/compare/comparison.cpp — verdicts per benchmark and per deterministic result.
#include "harness/compare/comparison.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>
#include <utility>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "harness/compare/mann_whitney.hpp"
#include "harness/compare/training_results.hpp"

namespace psgd {
namespace {

constexpr NameTable<Verdict, 8> kVerdictNames{{
    {"same", Verdict::kSame},
    {"REGRESSION", Verdict::kRegression},
    {"improved", Verdict::kImproved},
    {"too few reps", Verdict::kTooFew},
    {"missing", Verdict::kMissing},
    {"new", Verdict::kNew},
    {"unchanged", Verdict::kUnchanged},
    {"CHANGED", Verdict::kChanged},
}};

// How much slower `now` is than `base` in time terms (0.3: 30% slower), for medians of a time
// (lower is better) or of a rate (higher is better). Zero medians give 0 (equal) or +-infinity.
double relative_slowdown(double base, double now, bool higher_is_better) {
  const double slow = higher_is_better ? base : now;  // the time-like numerator
  const double fast = higher_is_better ? now : base;
  if (slow == fast) return 0.0;
  if (fast == 0.0) return std::numeric_limits<double>::infinity();
  return slow / fast - 1.0;
}

std::string values_text(const std::vector<nlohmann::json>& values) {
  // Every repetition agrees in a healthy file: show the value once.
  const bool all_equal = std::all_of(values.begin(), values.end(),
                                     [&](const nlohmann::json& v) { return v == values.front(); });
  return all_equal ? values.front().dump() : nlohmann::json(values).dump();
}

ComparisonRow compare_deterministic(const DeterministicResult* base,
                                    const DeterministicResult* now) {
  ComparisonRow row;
  row.deterministic = true;
  row.name = base != nullptr ? base->name : now->name;
  if (base == nullptr || now == nullptr) {
    row.verdict = base == nullptr ? Verdict::kNew : Verdict::kMissing;
    if (base != nullptr) row.baseline_text = values_text(base->values);
    if (now != nullptr) row.new_text = values_text(now->values);
    return row;
  }
  row.baseline_n = base->values.size();
  row.new_n = now->values.size();
  row.baseline_text = values_text(base->values);
  row.new_text = values_text(now->values);
  // Exact equality of JSON values: numbers compare as doubles, written with round-trip digits.
  const nlohmann::json& reference = base->values.front();
  const auto same = [&](const nlohmann::json& v) { return v == reference; };
  const bool unchanged = std::all_of(base->values.begin(), base->values.end(), same) &&
                         std::all_of(now->values.begin(), now->values.end(), same);
  row.verdict = unchanged ? Verdict::kUnchanged : Verdict::kChanged;
  return row;
}

template <class T>
const T* find_named(const std::vector<T>& items, const std::string& name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

ComparisonRow one_sided_row(const Measure& m, bool in_baseline) {
  ComparisonRow row;
  row.name = m.name;
  row.unit = m.unit;
  row.headline = m.headline;
  (in_baseline ? row.baseline_n : row.new_n) = m.samples.size();
  (in_baseline ? row.baseline_median : row.new_median) = median(m.samples);
  row.verdict = in_baseline ? Verdict::kMissing : Verdict::kNew;
  return row;
}

}  // namespace

std::string_view verdict_name(Verdict v) noexcept { return name_of(kVerdictNames, v); }

std::string_view training_verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::kRegression:
      return "WORSE";
    case Verdict::kImproved:
      return "better";
    case Verdict::kTooFew:
      return "not comparable (too few reps)";
    case Verdict::kMissing:
      return "not comparable (baseline only)";
    case Verdict::kNew:
      return "not comparable (new only)";
    default:
      return verdict_name(v);  // same (training runs have no deterministic results)
  }
}

double median(std::vector<double> values) {
  const std::size_t n = values.size();
  std::sort(values.begin(), values.end());
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double relative_spread(const std::vector<double>& all_values) {
  // Of the finite values: a training run's missed target is +infinity (the worst rank), which
  // the U test counts but a spread cannot.
  std::vector<double> values;
  std::copy_if(all_values.begin(), all_values.end(), std::back_inserter(values),
               [](double v) { return std::isfinite(v); });
  if (values.size() < 3) return 0.0;
  const bool positive = std::all_of(values.begin(), values.end(), [](double v) { return v > 0.0; });
  if (!positive) return 0.0;
  // On log values: timing noise is multiplicative (a preempted repetition takes 1.5x, not
  // +1.5 us), so its spread is a factor, and exp(k * spread) - 1 stays a fair threshold even
  // where the spread is large.
  std::vector<double> logs;
  logs.reserve(values.size());
  for (const double v : values) logs.push_back(std::log(v));
  const double med = median(logs);
  std::vector<double> deviations;
  deviations.reserve(logs.size());
  for (const double l : logs) deviations.push_back(std::abs(l - med));
  // 1.4826 = 1 / Phi^-1(3/4): makes the MAD of a normal sample estimate its standard deviation.
  return 1.4826 * median(std::move(deviations));
}

std::size_t Comparison::count(Verdict v) const noexcept {
  return static_cast<std::size_t>(std::count_if(
      rows.begin(), rows.end(), [v](const ComparisonRow& r) { return r.verdict == v; }));
}

int Comparison::exit_code() const noexcept {
  return count(Verdict::kRegression) + count(Verdict::kChanged) > 0 ? 1 : 0;
}

ComparisonRow compare_measure(const Measure& baseline, const Measure& now,
                              const CompareOptions& options) {
  ComparisonRow row;
  row.name = baseline.name;
  row.unit = baseline.unit;
  row.headline = baseline.headline || now.headline;
  row.baseline_n = baseline.samples.size();
  row.new_n = now.samples.size();
  const double b = median(baseline.samples);
  const double n = median(now.samples);
  row.baseline_median = b;
  row.new_median = n;
  if (b != 0.0 && std::isfinite(b) && std::isfinite(n)) row.ratio = n / b;
  row.worse_by = relative_slowdown(b, n, baseline.higher_is_better);
  row.spread = std::max(relative_spread(baseline.samples), relative_spread(now.samples));
  row.min_effect = std::max(
      {options.min_effect, baseline.min_effect, std::expm1(options.noise_factor * row.spread)});
  const MannWhitneyResult test = mann_whitney_u(baseline.samples, now.samples);
  row.p_value = test.p_value;
  const double better_by = relative_slowdown(n, b, baseline.higher_is_better);
  if (min_two_sided_p(row.baseline_n, row.new_n) >= options.alpha) {
    row.verdict = Verdict::kTooFew;
  } else if (test.p_value < options.alpha && row.worse_by > row.min_effect) {
    row.verdict = Verdict::kRegression;
  } else if (test.p_value < options.alpha && better_by > row.min_effect) {
    row.verdict = Verdict::kImproved;
  } else {
    row.verdict = Verdict::kSame;
  }
  return row;
}

Comparison compare_results(const ResultSet& baseline, const ResultSet& now,
                           const CompareOptions& options) {
  if (baseline.machine != now.machine && !options.allow_different_machine) {
    throw ConfigError("the files come from different machines (" + baseline.path + ": " +
                      baseline.machine + "; " + now.path + ": " + now.machine +
                      "); timings do not compare across CPUs: pass --allow-different-machine "
                      "to compare anyway");
  }
  Comparison c;
  c.baseline_machine = baseline.machine;
  c.new_machine = now.machine;
  c.options = options;
  c.training = baseline.format == kTrainingFormat && now.format == kTrainingFormat;
  // A point pairs by its id, which names only the sweep's axes: the same spec at another scale
  // (epochs, eval-samples, ...) has the same ids, and its differences are no build's doing.
  for (const auto& [point, settings] : baseline.point_settings) {
    const auto other = now.point_settings.find(point);
    if (other != now.point_settings.end() && other->second != settings) {
      throw ConfigError("point " + point + " ran other settings in " + now.path + " than in " +
                        baseline.path + " (" + first_difference(settings, other->second) +
                        "): compare two builds' results of the same spec at the same scale");
    }
  }
  std::size_t matched = 0;
  for (const Measure& m : baseline.measures) {
    const Measure* other = find_named(now.measures, m.name);
    matched += other != nullptr;
    c.rows.push_back(other != nullptr ? compare_measure(m, *other, options)
                                      : one_sided_row(m, /*in_baseline=*/true));
  }
  for (const DeterministicResult& d : baseline.deterministic) {
    const DeterministicResult* other = find_named(now.deterministic, d.name);
    matched += other != nullptr;
    c.rows.push_back(compare_deterministic(&d, other));
  }
  for (const Measure& m : now.measures) {
    if (find_named(baseline.measures, m.name) == nullptr) c.rows.push_back(one_sided_row(m, false));
  }
  for (const DeterministicResult& d : now.deterministic) {
    if (find_named(baseline.deterministic, d.name) == nullptr) {
      c.rows.push_back(compare_deterministic(nullptr, &d));
    }
  }
  if (matched == 0) {
    throw ConfigError(baseline.path + " and " + now.path +
                      " have no benchmark or result in common: nothing to compare");
  }
  return c;
}

}  // namespace psgd
