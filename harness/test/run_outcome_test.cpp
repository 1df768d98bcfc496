// The run's outcome from its evaluated snapshots: status rules, time to epsilon and to accuracy.
#include "harness/run/run_outcome.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace psgd {
namespace {

const std::vector<Epsilon> kDefaultTargets = {{0.5, true}, {0.25, true}, {0.1, true}};

// Snapshots every 10 updates, 0.5 s apart, with these train losses.
std::vector<EvaluatedSnapshot> snapshots(const std::vector<double>& losses) {
  std::vector<EvaluatedSnapshot> s;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    s.push_back({static_cast<std::int64_t>(10 * i), 0.5 * static_cast<double>(i), losses[i], 1.0});
  }
  return s;
}

TEST(RunOutcome, RelativeTargetsAreFractionsOfTheInitialLossReachedByTheFirstSnapshotBelow) {
  const RunOutcome v =
      judge_run(snapshots({2.0, 1.2, 0.9, 0.4, 0.3}), kDefaultTargets, StopReason::kNone);
  ASSERT_EQ(v.targets.size(), 3U);
  EXPECT_EQ(v.targets[0].label, "50%");
  EXPECT_DOUBLE_EQ(v.targets[0].loss, 1.0);
  EXPECT_EQ(v.targets[0].seconds, 1.0);  // 0.9 is the first at or below 1.0
  EXPECT_EQ(v.targets[0].updates, 20);
  EXPECT_EQ(v.targets[1].seconds, 1.5);            // 0.4 <= 0.5
  EXPECT_FALSE(v.targets[2].seconds.has_value());  // 0.2 never reached
  EXPECT_EQ(v.status, "not_converged");
  EXPECT_EQ(v.stop_reason, "budget");
  EXPECT_EQ(v.initial_train_loss, 2.0);
  EXPECT_EQ(v.final_train_loss, 0.3);
}

TEST(RunOutcome, ConvergedWhenTheTightestTargetIsReachedAbsoluteOrRelative) {
  EXPECT_EQ(judge_run(snapshots({2.0, 0.1}), kDefaultTargets, StopReason::kNone).status,
            "converged");
  const std::vector<Epsilon> absolute = {{0.3, false}, {50.0 / 100.0, true}};
  const RunOutcome v = judge_run(snapshots({2.0, 0.8, 0.3}), absolute, StopReason::kTimeLimit);
  EXPECT_EQ(v.targets[0].label, "0.3");
  EXPECT_EQ(v.targets[0].updates, 20);  // exactly at the target counts
  EXPECT_EQ(v.status, "converged");
  EXPECT_EQ(v.stop_reason, "time_limit");
}

TEST(RunOutcome, DivergedOnANonFiniteLossALossAboveTheStartOrADivergedStop) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(judge_run(snapshots({2.0, nan, 0.1}), kDefaultTargets, StopReason::kNone).status,
            "diverged");
  EXPECT_EQ(judge_run(snapshots({2.0, 0.1, 2.5}), kDefaultTargets, StopReason::kNone).status,
            "diverged");
  const RunOutcome stopped =
      judge_run(snapshots({2.0, 0.1}), kDefaultTargets, StopReason::kDiverged);
  EXPECT_EQ(stopped.status, "diverged");
  EXPECT_EQ(stopped.stop_reason, "diverged");
  std::vector<EvaluatedSnapshot> s = snapshots({2.0, 0.1});
  s[1].test_loss = std::numeric_limits<double>::infinity();
  EXPECT_EQ(judge_run(s, kDefaultTargets, StopReason::kNone).status, "diverged");
}

TEST(RunOutcome, ANonFiniteLossNeverReachesATarget) {
  const double inf = std::numeric_limits<double>::infinity();
  const RunOutcome v = judge_run(snapshots({2.0, -inf}), {{0.5, true}}, StopReason::kNone);
  EXPECT_FALSE(v.targets[0].seconds.has_value());
}

TEST(RunOutcome, EachTargetSaysWhetherItWasReachedAndTheCountMatches) {
  const RunOutcome v =
      judge_run(snapshots({2.0, 1.2, 0.9, 0.4, 0.3}), kDefaultTargets, StopReason::kNone);
  EXPECT_TRUE(v.targets[0].reached());
  EXPECT_TRUE(v.targets[1].reached());
  EXPECT_FALSE(v.targets[2].reached());
  EXPECT_EQ(v.targets_reached(), 2U);
  const RunOutcome all = judge_run(snapshots({2.0, 0.1}), kDefaultTargets, StopReason::kNone);
  EXPECT_EQ(all.targets_reached(), 3U);
  EXPECT_EQ(all.status, "converged");
}

// A fixture of evaluated snapshots with test accuracies rising, dipping and rising again.
std::vector<EvaluatedSnapshot> accuracy_fixture() {
  std::vector<EvaluatedSnapshot> s = snapshots({2.3, 1.0, 0.8, 0.7, 0.6, 0.5});
  const double accuracies[] = {0.1, 0.72, 0.81, 0.79, 0.85, 0.84};
  for (std::size_t i = 0; i < s.size(); ++i) s[i].test_accuracy = accuracies[i];
  return s;
}

TEST(RunOutcome, TimeToAccuracyIsTheFirstSnapshotAtOrAboveEachTarget) {
  const RunOutcome v =
      judge_run(accuracy_fixture(), kDefaultTargets, StopReason::kNone, {0.80, 0.85, 0.9});
  ASSERT_EQ(v.accuracy_targets.size(), 3U);
  EXPECT_EQ(v.accuracy_targets[0].label, "80%");
  EXPECT_DOUBLE_EQ(v.accuracy_targets[0].accuracy, 0.80);
  EXPECT_EQ(v.accuracy_targets[0].seconds, 1.0);  // 0.81 at snapshot 2; the later dip is ignored
  EXPECT_EQ(v.accuracy_targets[0].updates, 20);
  EXPECT_EQ(v.accuracy_targets[1].label, "85%");
  EXPECT_EQ(v.accuracy_targets[1].seconds, 2.0);  // exactly at the target counts
  EXPECT_EQ(v.accuracy_targets[1].updates, 40);
  EXPECT_FALSE(v.accuracy_targets[2].reached());
  EXPECT_FALSE(v.accuracy_targets[2].updates.has_value());
}

TEST(RunOutcome, AccuracyTargetsNeverChangeTheStatusAndNaNNeverReachesThem) {
  std::vector<EvaluatedSnapshot> s = accuracy_fixture();
  const RunOutcome without = judge_run(s, kDefaultTargets, StopReason::kNone);
  const RunOutcome with = judge_run(s, kDefaultTargets, StopReason::kNone, {0.99});
  EXPECT_EQ(without.status, with.status);
  EXPECT_TRUE(without.accuracy_targets.empty());
  s[1].test_accuracy = std::numeric_limits<double>::quiet_NaN();
  s[2].test_accuracy = std::numeric_limits<double>::quiet_NaN();
  const RunOutcome v = judge_run(s, {}, StopReason::kNone, {0.5});
  EXPECT_EQ(v.accuracy_targets[0].updates, 30);  // the NaNs at 10 and 20 do not count
}

TEST(RunOutcome, AccuracyLabelsArePercentages) {
  EXPECT_EQ(accuracy_label(0.85), "85%");
  EXPECT_EQ(accuracy_label(0.855), "85.5%");
  EXPECT_EQ(accuracy_label(1.0), "100%");
}

}  // namespace
}  // namespace psgd
