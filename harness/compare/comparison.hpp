// harness/compare/comparison.hpp — the verdict of `psgd compare`: each benchmark of a baseline
// against the same benchmark of a new results file, and each deterministic result.
//
// A benchmark REGRESSED when both hold:
//   - the two-sided Mann-Whitney U test on the repetitions gives p < alpha (the difference is
//     not the noise of these repetitions), and
//   - the median got worse by more than the minimum effect size (the difference matters):
//     "worse by" is the relative slowdown in time terms, new/baseline - 1 for a time and
//     baseline/new - 1 for a rate, so a 30% slowdown reads 0.30 either way. The minimum effect
//     of a benchmark is the largest of --min-effect, the baseline file's own min_effect for it,
//     and exp(noise_factor x spread) - 1, where spread is the robust spread of the logarithms of
//     the noisier side's repetitions (1.4826 MAD; ~ the relative standard deviation when small).
//     A benchmark whose repetitions scatter by 15% thus needs a ~57% slowdown to fail the job:
//     a whole run timed by the wall clock on a shared machine can only be judged that coarsely,
//     a CPU-timed kernel (spread ~1%) far more finely.
// The same two conditions the other way round make it IMPROVED; anything else is SAME. When
// the repetitions are too few for the test ever to reach p < alpha (3 and 3 give at least
// p = 0.1) the verdict is TOO_FEW, and it does not fail the job. A deterministic result (the
// final loss of a one-thread run) that differs at all between or within the files is CHANGED:
// a correctness regression, whatever the timings say.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/compare/result_set.hpp"

namespace psgd {

struct CompareOptions {
  // Significance level of the U test. With ~40 benchmarks a night, about two pass it by chance
  // alone; the minimum effect is what keeps them from failing the job.
  double alpha = 0.05;
  // Smallest relative slowdown that fails the job. 20%: on the shared 2-core development VM,
  // runs of the same build moved single CPU-timed micro-benchmarks by up to 15% (BM_RacyApply,
  // BM_AtomicApply, BM_Barrier +10-12%, BM_BatchAssembly/32 -15%, each at p < 1e-4 while every
  // run's own repetitions agreed within 1-2%): a 10% threshold failed the job on 2 of 3 such
  // runs. A 30% slowdown still stands out. On a dedicated quiet machine 10% is reasonable.
  double min_effect = 0.20;
  // The minimum effect is at least exp(noise_factor x spread) - 1. 3: the median of 5
  // repetitions scatters by ~0.56 spread, a difference of two such medians by ~0.8 spread, so
  // noise alone exceeds 3 spreads about once in 10^4 comparisons (if the spread is estimated
  // well; from 5 repetitions it is itself uncertain, hence the margin).
  double noise_factor = 3.0;
  bool allow_different_machine = false;
};

enum class Verdict { kSame, kRegression, kImproved, kTooFew, kMissing, kNew, kUnchanged, kChanged };

// "same", "REGRESSION", "improved", "too few reps", "missing", "new", "unchanged", "CHANGED".
std::string_view verdict_name(Verdict v) noexcept;

// The words of a comparison of training runs: "WORSE", "better", "same", "not comparable (too
// few reps)", "not comparable (baseline only)", "not comparable (new only)".
std::string_view training_verdict_name(Verdict v) noexcept;

struct ComparisonRow {
  std::string name;
  std::string unit;  // empty for a deterministic result
  bool deterministic = false;
  bool headline = false;
  std::size_t baseline_n = 0;  // repetitions on each side
  std::size_t new_n = 0;
  std::optional<double> baseline_median;
  std::optional<double> new_median;
  std::optional<double> ratio;    // new median / baseline median
  std::optional<double> p_value;  // U test, when both sides have repetitions
  double worse_by = 0.0;          // relative slowdown (negative: faster)
  double spread = 0.0;            // relative_spread of the noisier side (log scale)
  double min_effect = 0.0;        // the threshold applied to this benchmark
  std::string baseline_text;      // deterministic results: the values as JSON text
  std::string new_text;
  Verdict verdict = Verdict::kSame;
};

struct Comparison {
  std::string baseline_machine;
  std::string new_machine;
  CompareOptions options;
  std::vector<ComparisonRow> rows;  // the baseline's order, then what only the new file has
  // Both sides are training runs (psgd-runs): the report says better / WORSE / same / not
  // comparable, and a "regression" is a measure that got worse (a time longer, a loss higher,
  // an accuracy or a throughput lower).
  bool training = false;

  [[nodiscard]] std::size_t count(Verdict v) const noexcept;
  // 1 when anything regressed or a deterministic result changed, else 0.
  [[nodiscard]] int exit_code() const noexcept;
};

// Compares now against baseline. Throws ConfigError when the files come from different
// machines (their `machine` strings differ) unless options.allow_different_machine, and when
// they share no benchmark or result. Pure; thread-safe.
Comparison compare_results(const ResultSet& baseline, const ResultSet& now,
                           const CompareOptions& options);

// The verdict of one benchmark (exposed for the tests).
ComparisonRow compare_measure(const Measure& baseline, const Measure& now,
                              const CompareOptions& options);

// The median of a non-empty sample (the mean of the middle two for an even count).
double median(std::vector<double> values);

// 1.4826 x the median absolute deviation of the logarithms (the standard deviation a normal
// sample with that MAD has): the relative noise of one repetition, robust to the odd preempted
// one. 0 for fewer than 3 values or any value <= 0.
double relative_spread(const std::vector<double>& values);

}  // namespace psgd
