// The sweep's progress line: durations read easily.
#include <gtest/gtest.h>

#include "harness/sweep/progress.hpp"

namespace psgd {
namespace {

TEST(SweepProgress, DurationsReadEasily) {
  EXPECT_EQ(SweepProgress::duration_text(4.6), "5s");
  EXPECT_EQ(SweepProgress::duration_text(185), "3m05s");
  EXPECT_EQ(SweepProgress::duration_text(7620), "2h07m");
}

}  // namespace
}  // namespace psgd
