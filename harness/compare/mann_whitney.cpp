// harness/compare/mann_whitney.cpp — ranks, the exact U distribution and the normal
// approximation.
#include "harness/compare/mann_whitney.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace psgd {
namespace {

struct RankSums {
  double rank_sum_x = 0.0;  // sum of the mid-ranks (1-based) of x in the pooled sample
  double tie_term = 0.0;    // sum over tie groups of t^3 - t
  bool has_ties = false;
};

RankSums rank_sums(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = x.size() + y.size();
  std::vector<std::pair<double, bool>> pooled;  // (value, from x)
  pooled.reserve(n);
  for (const double v : x) pooled.emplace_back(v, true);
  for (const double v : y) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  RankSums r;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (pooled[k].second) r.rank_sum_x += mid_rank;
    }
    if (j - i > 1) {
      r.has_ties = true;
      r.tie_term += t * t * t - t;
    }
    i = j;
  }
  return r;
}

// P(U <= u) under the null for sizes n1, n2 without ties: the number of orderings of n1 x's and
// n2 y's with U = k, by the recurrence f(i, j, k) = f(i-1, j, k-j) + f(i, j-1, k) (the largest
// value is an x, which beats all j y's, or a y, which beats nothing), over C(n1+n2, n1).
double exact_cdf(std::size_t n1, std::size_t n2, double u) {
  const std::size_t max_u = n1 * n2;
  // counts[j][k] for the current i; doubles: C(100, 50) ~ 1e29 overflows 64-bit integers.
  std::vector<std::vector<double>> prev(n2 + 1, std::vector<double>(max_u + 1, 0.0));
  for (std::size_t j = 0; j <= n2; ++j) prev[j][0] = 1.0;  // i = 0: only U = 0
  for (std::size_t i = 1; i <= n1; ++i) {
    std::vector<std::vector<double>> cur(n2 + 1, std::vector<double>(max_u + 1, 0.0));
    cur[0][0] = 1.0;
    for (std::size_t j = 1; j <= n2; ++j) {
      for (std::size_t k = 0; k <= i * j; ++k) {
        cur[j][k] = (k >= j ? prev[j][k - j] : 0.0) + cur[j - 1][k];
      }
    }
    prev = std::move(cur);
  }
  const std::vector<double>& f = prev[n2];
  const double total = std::accumulate(f.begin(), f.end(), 0.0);
  double below = 0.0;
  for (std::size_t k = 0; k <= max_u && static_cast<double>(k) <= u + 1e-9; ++k) below += f[k];
  return below / total;
}

}  // namespace

MannWhitneyResult mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  MannWhitneyResult r;
  if (x.empty() || y.empty()) return r;
  const auto n1 = static_cast<double>(x.size());
  const auto n2 = static_cast<double>(y.size());
  const RankSums s = rank_sums(x, y);
  r.u = s.rank_sum_x - n1 * (n1 + 1.0) / 2.0;
  if (!s.has_ties && x.size() <= kExactMaxSamples && y.size() <= kExactMaxSamples) {
    // The distribution is symmetric about n1*n2/2: the two-sided p doubles the smaller tail.
    const double u_low = std::min(r.u, n1 * n2 - r.u);
    r.p_value = std::min(1.0, 2.0 * exact_cdf(x.size(), y.size(), u_low));
    r.exact = true;
    return r;
  }
  const double n = n1 + n2;
  const double mean = n1 * n2 / 2.0;
  const double variance = n1 * n2 / 12.0 * ((n + 1.0) - s.tie_term / (n * (n - 1.0)));
  if (variance <= 0.0) return r;  // every value equal: no evidence of a difference
  const double z = std::max(0.0, std::abs(r.u - mean) - 0.5) / std::sqrt(variance);
  r.p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return r;
}

double min_two_sided_p(std::size_t n1, std::size_t n2) noexcept {
  if (n1 == 0 || n2 == 0) return 1.0;
  // C(n1+n2, n1) as a product of ratios, in doubles (no overflow for any realistic size).
  double combinations = 1.0;
  for (std::size_t k = 1; k <= n1; ++k) {
    combinations *= static_cast<double>(n2 + k) / static_cast<double>(k);
  }
  return std::min(1.0, 2.0 / combinations);
}

}  // namespace psgd
