// harness/compare/mann_whitney.hpp — the two-sided Mann-Whitney U test (Wilcoxon rank-sum) that
// `psgd compare` runs on the repetitions of one benchmark, as Google Benchmark's compare.py does.
//
// It asks whether one sample tends to be larger than the other without assuming a distribution:
// benchmark times are skewed (a preempted repetition is slow, never fast), so a t-test's normal
// model does not fit them. Small samples without ties get the exact null distribution (what
// scipy.stats.mannwhitneyu's method="exact" computes); larger or tied samples get the normal
// approximation with the tie correction and a continuity correction of 0.5 (scipy's
// method="asymptotic", use_continuity=True).
#pragma once

#include <cstddef>
#include <span>

namespace psgd {

struct MannWhitneyResult {
  double u = 0.0;        // U statistic of the first sample: pairs (x, y) with x > y, ties 1/2
  double p_value = 1.0;  // two-sided; 1 when either sample is empty or every value is equal
  bool exact = false;    // true when p comes from the exact distribution
};

// Samples of at most this many values each, with no tie, get the exact p-value. The exact
// distribution is a table of (n1*n2+1) counts per (i, j) cell, so 50 x 50 is ~6 M additions:
// instant. Beyond it the normal approximation is within 1e-3 of the exact p.
inline constexpr std::size_t kExactMaxSamples = 50;

// Two-sided test of x against y. Pure; thread-safe. Non-finite values must be filtered by the
// caller (they have no rank).
MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y);

// The smallest two-sided p-value the test can give for samples of sizes n1 and n2 (complete
// separation, exact distribution): 2 / C(n1 + n2, n1). With 3 and 3 repetitions it is 0.1, so
// no difference can reach p < 0.05: `psgd compare` says so instead of calling it noise.
double min_two_sided_p(std::size_t n1, std::size_t n2) noexcept;

}  // namespace psgd
