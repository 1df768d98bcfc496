// The document of a run that did not finish: the run skeleton, the crash block, the child's own
// error block.
#include <gtest/gtest.h>

#include <csignal>

#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/sweep_test_spec.hpp"

namespace psgd {
namespace {

using nlohmann::json;

TEST(SweepCrashReport, CrashedDocumentHasTheRunSkeleton) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const PlannedRun run = expand(spec)[1];
  ChildOutcome timeout;
  timeout.kind = ChildOutcome::Kind::kTimedOut;
  timeout.signal = SIGTERM;
  timeout.seconds = 30.2;
  const json doc = crashed_report(spec, run, timeout, "dir/x.json", "last words", nullptr);
  EXPECT_EQ(doc["status"], "crashed");
  EXPECT_EQ(doc["schema_version"], 3);
  EXPECT_EQ(doc["crash"]["kind"], "timeout");
  EXPECT_DOUBLE_EQ(doc["crash"]["timeout_seconds"].get<double>(), 30.0);
  EXPECT_EQ(doc["crash"]["signal_name"], "SIGTERM");
  EXPECT_EQ(doc["crash"]["stderr_tail"], "last words");
  EXPECT_EQ(doc["config"]["batch"], 16);
  EXPECT_EQ(doc["config"]["seed"], 1);
  EXPECT_EQ(doc["config"]["out"], "dir/x.json");
  EXPECT_TRUE(doc.contains("context"));
  EXPECT_EQ(doc["sweep"]["run_id"], run.run_id);
  EXPECT_EQ(doc["sweep"]["axes"]["batch"], "16");

  ChildOutcome exit3;
  exit3.exit_code = 3;
  const json err = crashed_report(spec, run, exit3, "x.json", "", json{{"kind", "environment"}});
  EXPECT_EQ(err["crash"]["kind"], "exit");
  EXPECT_EQ(err["crash"]["exit_code"], 3);
  EXPECT_EQ(err["crash"]["error"]["kind"], "environment");
}

}  // namespace
}  // namespace psgd
