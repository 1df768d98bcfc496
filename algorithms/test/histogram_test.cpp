// Tests of the staleness/attempts histogram: exact moments past the bins, quantiles, merge.
#include "algorithms/histogram.hpp"

#include <gtest/gtest.h>

namespace psgd {
namespace {

TEST(Histogram, CountsExactlyAndOverflowsWithoutLosingMoments) {
  Histogram h(4);
  for (const int v : {0, 1, 1, 2, 3, 10, 100}) h.add(v);
  EXPECT_EQ(h.count(), 7);
  EXPECT_EQ(h.overflow(), 2);
  EXPECT_EQ(h.max(), 100);
  EXPECT_DOUBLE_EQ(h.mean(), (0 + 1 + 1 + 2 + 3 + 10 + 100) / 7.0);
  EXPECT_EQ(h.bins(), (std::vector<std::int64_t>{1, 2, 1, 1}));
}

TEST(Histogram, QuantilesAreNearestRankAndFlagOverflow) {
  Histogram h(8);
  for (int i = 0; i < 99; ++i) h.add(1);
  h.add(50);
  EXPECT_EQ(h.quantile(0.5), 1);
  EXPECT_EQ(h.quantile(0.99), 1);
  EXPECT_EQ(h.quantile(1.0), -1);  // the largest value is in the overflow bin
  Histogram empty(8);
  EXPECT_EQ(empty.quantile(0.5), 0);
  EXPECT_DOUBLE_EQ(empty.mean(), 0.0);
}

TEST(Histogram, MergeAddsEverything) {
  Histogram a(4);
  Histogram b(4);
  a.add(1);
  b.add(2);
  b.add(9);
  a.merge(b);
  EXPECT_EQ(a.count(), 3);
  EXPECT_EQ(a.max(), 9);
  EXPECT_EQ(a.overflow(), 1);
  EXPECT_DOUBLE_EQ(a.sum(), 12.0);
}

}  // namespace
}  // namespace psgd
