// harness/test/efficiency_test.cpp — the efficiency split (harness/run/efficiency.hpp): passes to
// each target and seconds per pass from a record, the identity time = passes x seconds per pass,
// and the document's block.
#include "harness/run/efficiency.hpp"

#include <gtest/gtest.h>

#include "harness/run/report.hpp"

namespace psgd {
namespace {

// A run at a steady pace: `points` snapshots, 0.25 of a pass and 0.5 s apart (2 s per pass),
// with a train loss falling from 1 by 0.1 per snapshot and an accuracy rising by 0.1.
RunRecord steady_run(int points) {
  RunRecord r;
  MetricsRecord m;
  for (int i = 0; i < points; ++i) {
    SeriesPoint p;
    p.updates = 100 * i;
    p.epoch = 0.25 * i;
    p.seconds = 0.5 * i;
    p.train_loss = 1.0 - 0.1 * i;
    p.test_accuracy = 0.1 * i;
    r.series.push_back(p);
  }
  m.wall_seconds = 0.5 * (points - 1);
  // 0.75 is first reached at snapshot 3 (loss 0.7), 0.05 never.
  m.epsilon.push_back({"75%", 0.75, 1.5, 300, true});
  m.epsilon.push_back({"5%", 0.05, std::nullopt, std::nullopt, false});
  m.accuracy.push_back({"20%", 0.2, 1.0, 200, std::nullopt});
  r.metrics = m;
  return r;
}

TEST(Efficiency, PassesAtTheSnapshotThatReachedEachTarget) {
  const EfficiencyRecord e = efficiency_of(steady_run(6));
  ASSERT_EQ(e.epsilon.size(), 2U);
  EXPECT_EQ(e.epsilon[0].label, "75%");
  ASSERT_TRUE(e.epsilon[0].passes.has_value());
  EXPECT_DOUBLE_EQ(*e.epsilon[0].passes, 0.75);
  EXPECT_FALSE(e.epsilon[1].passes.has_value()) << "an unreached target has no passes";
  ASSERT_EQ(e.accuracy.size(), 1U);
  ASSERT_TRUE(e.accuracy[0].passes.has_value());
  EXPECT_DOUBLE_EQ(*e.accuracy[0].passes, 0.5);
  ASSERT_TRUE(e.passes && e.seconds_per_pass);
  EXPECT_DOUBLE_EQ(*e.passes, 1.25);
  EXPECT_DOUBLE_EQ(*e.seconds_per_pass, 2.0);
}

// At a steady pace the identity is exact: time to the target = passes to it x seconds per pass
// (both are read at the same snapshot, so the checkpoint granularity cancels).
TEST(Efficiency, TimeToTargetIsPassesTimesSecondsPerPassAtASteadyPace) {
  const RunRecord r = steady_run(9);
  const EfficiencyRecord e = efficiency_of(r);
  for (std::size_t i = 0; i < e.epsilon.size(); ++i) {
    if (!e.epsilon[i].passes) continue;
    EXPECT_NEAR(*r.metrics->epsilon[i].seconds, *e.epsilon[i].passes * *e.seconds_per_pass, 1e-12);
  }
  EXPECT_NEAR(*r.metrics->accuracy[0].seconds, *e.accuracy[0].passes * *e.seconds_per_pass, 1e-12);
}

TEST(Efficiency, NothingKnownWithoutSeriesOrTime) {
  RunRecord empty;
  const EfficiencyRecord e = efficiency_of(empty);
  EXPECT_FALSE(e.passes.has_value());
  EXPECT_FALSE(e.seconds_per_pass.has_value());
  RunRecord at_start = steady_run(1);  // the initial snapshot only: 0 passes
  EXPECT_FALSE(efficiency_of(at_start).seconds_per_pass.has_value());
}

TEST(Efficiency, DocumentBlockHasNullForUnreachedTargets) {
  const nlohmann::json doc = build_report(steady_run(6));
  ASSERT_TRUE(doc.contains("efficiency"));
  const nlohmann::json& e = doc["efficiency"];
  EXPECT_DOUBLE_EQ(e["passes_to_target"]["epsilon"]["75%"].get<double>(), 0.75);
  EXPECT_TRUE(e["passes_to_target"]["epsilon"]["5%"].is_null());
  EXPECT_DOUBLE_EQ(e["passes_to_target"]["accuracy"]["20%"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(e["seconds_per_pass"].get<double>(), 2.0);
}

TEST(Efficiency, SummaryTextNamesBothHalves) {
  const std::string text = efficiency_text(efficiency_of(steady_run(6)));
  EXPECT_NE(text.find("0.75 to 75%"), std::string::npos) << text;
  EXPECT_NE(text.find("- to 5%"), std::string::npos) << text;
  EXPECT_NE(text.find("2.000 s per pass"), std::string::npos) << text;
}

}  // namespace
}  // namespace psgd
