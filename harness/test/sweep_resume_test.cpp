// Unit tests of what a sweep keeps and redoes (harness/sweep/resume.hpp), of the build id
// (build_identity.hpp) and of the spec's limits: a result counts only when it is complete, of
// this build and not asked to be redone; nothing is ever deleted on the way; duplicate seeds and
// oversized specs are refused before anything is allocated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/errors.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/resume.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/sweep_test_spec.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class SweepResume : public psgd::test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    dir_ = std::make_unique<ResultsDir>((scratch_ / "s").string());
    dir_->create_and_lock();
    options_.build_id = "b-this";
  }
  void TearDown() override {
    dir_.reset();
    ScratchDirTest::TearDown();
  }

  void write_result(const std::string& run_id, const std::string& status,
                    const std::string& build_id, int schema_version = 3) {
    json doc = {{"schema_version", schema_version}, {"status", status}};
    doc["sweep"] = {{"run_id", run_id}, {"build_id", build_id}};
    doc["context"] = {{"git_sha", "3ef6312c0a1b2c3d"}, {"git_dirty", true}};
    write_json(doc, dir_->final_path(run_id));
  }
  void write_text(const std::string& run_id, const std::string& text) {
    std::ofstream(dir_->final_path(run_id)) << text;
  }

  std::unique_ptr<ResultsDir> dir_;
  SchedulerOptions options_;
};

TEST_F(SweepResume, AStoppedRunIsRedoneWithoutBeingAsked) {
  // SIGINT or SIGTERM stopped the child part-way (psgd run's status `stopped`, exit 130/143):
  // what it measured is kept in the file, but it is no result: redone, and overwritten.
  write_result("s", "stopped", "b-this");
  const ResumeCheck stopped = check_resume(*dir_, "s", options_);
  EXPECT_EQ(stopped.action, Resume::kRedoCrashed);
  EXPECT_FALSE(counts_as_done(stopped.doc, options_));
  options_.accept_other_builds = true;  // of any build
  EXPECT_FALSE(counts_as_done(stopped.doc, options_));
  write_result("c", "converged", "b-this");  // the guard: a finished run still counts
  EXPECT_TRUE(counts_as_done(check_resume(*dir_, "c", options_).doc, options_));
}

TEST_F(SweepResume, AStoppedChildsDocumentIsKeptButTheSweepsOwnTimeoutIsACrash) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const PlannedRun run = expand(spec)[0];
  write_json(json{{"schema_version", 2},
                  {"status", "stopped"},
                  {"config", json::object()},
                  {"stopped", {{"signal", "SIGINT"}, {"exit_code", 130}}}},
             dir_->part_path(run.run_id));
  ChildOutcome stopped;
  stopped.kind = ChildOutcome::Kind::kExited;
  stopped.exit_code = 130;
  const json kept = run_document(spec, run, *dir_, stopped, "b-this");
  EXPECT_EQ(kept["status"], "stopped");
  EXPECT_EQ(kept["stopped"]["exit_code"], 130);
  EXPECT_EQ(kept["sweep"]["run_id"], run.run_id);
  EXPECT_EQ(kept["sweep"]["build_id"], "b-this");
  // The sweep's timeout sends SIGTERM too; the child's document is then not what was asked.
  ChildOutcome timed_out;
  timed_out.kind = ChildOutcome::Kind::kTimedOut;
  timed_out.signal = SIGTERM;
  EXPECT_EQ(run_document(spec, run, *dir_, timed_out, "b-this")["status"], "crashed");
  // Exit 130 without a `stopped` document is the crash it always was.
  write_json(json{{"schema_version", 2}, {"status", "converged"}, {"config", json::object()}},
             dir_->part_path(run.run_id));
  EXPECT_EQ(run_document(spec, run, *dir_, stopped, "b-this")["status"], "crashed");
}

TEST_F(SweepResume, OnlyACompleteResultOfThisBuildCountsAsDone) {
  EXPECT_EQ(check_resume(*dir_, "a", options_).action, Resume::kRun);  // nothing there
  write_result("a", "converged", "b-this");
  EXPECT_EQ(check_resume(*dir_, "a", options_).action, Resume::kDone);
  write_result("b", "converged", "b-other");
  const ResumeCheck other = check_resume(*dir_, "b", options_);
  EXPECT_EQ(other.action, Resume::kOtherBuild);
  EXPECT_EQ(describe_build(*other.doc), "build b-other (git 3ef6312c0a1b, dirty)");
  EXPECT_FALSE(counts_as_done(other.doc, options_));
  write_result("c", "converged", "");  // older than build ids: of no known build
  EXPECT_EQ(check_resume(*dir_, "c", options_).action, Resume::kOtherBuild);

  options_.accept_other_builds = true;
  EXPECT_EQ(check_resume(*dir_, "b", options_).action, Resume::kDone);
  EXPECT_TRUE(counts_as_done(other.doc, options_));
  options_.accept_other_builds = false;

  options_.rerun = true;
  EXPECT_EQ(check_resume(*dir_, "a", options_).action, Resume::kRerun);
  options_.rerun = false;

  write_result("d", "crashed", "b-this");
  EXPECT_EQ(check_resume(*dir_, "d", options_).action, Resume::kDone);
  options_.redo_crashed = true;
  EXPECT_EQ(check_resume(*dir_, "d", options_).action, Resume::kRedoCrashed);
}

// Schema 3 renamed the config block's keys only: a schema-2 result of this build still counts,
// and one from a future schema does not.
TEST_F(SweepResume, SchemaTwoResultsCountAsDoneAndFutureOnesDoNot) {
  write_result("v2", "converged", "b-this", 2);
  EXPECT_EQ(check_resume(*dir_, "v2", options_).action, Resume::kDone);
  write_result("v4", "converged", "b-this", 4);
  EXPECT_EQ(check_resume(*dir_, "v4", options_).action, Resume::kBroken);
}

TEST_F(SweepResume, HandMadeTruncatedOrForeignFilesAreBroken) {
  write_text("hand", R"({"status": "converged"})");
  write_text("trunc", R"({"schema_version": 2, "status": "conv)");
  write_text("other", R"({"schema_version": 2, "status": "converged", "sweep": {"run_id": "x"}})");
  write_text("old", R"({"schema_version": 0, "status": "converged", "sweep": {"run_id": "old"}})");
  for (const char* id : {"hand", "trunc", "other", "old"}) {
    const ResumeCheck c = check_resume(*dir_, id, options_);
    EXPECT_EQ(c.action, Resume::kBroken) << id;
    EXPECT_FALSE(c.problem.empty()) << id;
    EXPECT_FALSE(dir_->load_complete(id).has_value()) << id;
  }
  EXPECT_THAT(check_resume(*dir_, "hand", options_).problem, HasSubstr("schema_version"));
  EXPECT_THAT(check_resume(*dir_, "trunc", options_).problem, HasSubstr("truncated"));
  EXPECT_THAT(check_resume(*dir_, "other", options_).problem, HasSubstr("run_id"));
}

// A schema-1 result (before the work block; a round-based method's epoch counted rounds) is not
// resumed as done: it is set aside and redone, and the reason names both versions.
TEST_F(SweepResume, SchemaOneResultsAreRedoneNotRead) {
  write_text("v1", R"({"schema_version": 1, "status": "converged", "sweep": {"run_id": "v1"}})");
  const ResumeCheck c = check_resume(*dir_, "v1", options_);
  EXPECT_EQ(c.action, Resume::kBroken);
  EXPECT_THAT(c.problem, HasSubstr("schema_version 1 is not 2 to 3"));
  EXPECT_THAT(c.problem, HasSubstr("redone"));
  EXPECT_FALSE(dir_->load_complete("v1").has_value());
}

TEST_F(SweepResume, MovingAsideKeepsEveryFileAndNeverOverwrites) {
  write_text("hand", R"({"status": "converged"})");
  std::string moved = move_aside(*dir_, "hand", check_resume(*dir_, "hand", options_));
  EXPECT_EQ(moved, (scratch_ / "s" / "set-aside" / "hand.json").string());
  write_text("hand", R"({"status": "diverged"})");
  moved = move_aside(*dir_, "hand", check_resume(*dir_, "hand", options_));
  EXPECT_EQ(moved, (scratch_ / "s" / "set-aside" / "hand.2.json").string());
  EXPECT_FALSE(fs::exists(dir_->final_path("hand")));
  std::ifstream first(scratch_ / "s" / "set-aside" / "hand.json");
  EXPECT_EQ(json::parse(first)["status"], "converged");  // the first one is intact

  write_result("b", "converged", "b-other");
  const ResumeCheck other = check_resume(*dir_, "b", options_);
  moved = move_aside(*dir_, "b", other);
  EXPECT_EQ(moved, (scratch_ / "s" / "superseded" / "b-other" / "b.json").string());
  EXPECT_THAT(move_aside_note("b", other, moved), HasSubstr("build b-other"));

  write_result("c", "converged", "");
  moved = move_aside(*dir_, "c", check_resume(*dir_, "c", options_));
  EXPECT_EQ(moved, (scratch_ / "s" / "superseded" / "unrecorded-build" / "c.json").string());

  write_result("a", "converged", "b-this");  // kept: nothing to move
  EXPECT_EQ(move_aside(*dir_, "a", check_resume(*dir_, "a", options_)), "");
  EXPECT_TRUE(fs::exists(dir_->final_path("a")));
}

TEST(SweepBuildId, HashesTheBinarysBytes) {
  const fs::path dir = psgd::test::scratch_dir("psgd_build_id");
  std::ofstream(dir / "a", std::ios::binary) << "binary bytes";
  std::ofstream(dir / "b", std::ios::binary) << "binary bytes";
  std::ofstream(dir / "c", std::ios::binary) << "binary bytez";
  const std::string a = binary_build_id((dir / "a").string());
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, binary_build_id((dir / "b").string()));  // same bytes, same build
  EXPECT_NE(a, binary_build_id((dir / "c").string()));  // one byte differs
  EXPECT_THROW((void)binary_build_id((dir / "missing").string()), EnvironmentError);
  fs::remove_all(dir);
}

TEST(SweepValidation, DuplicateSeedsAreRefused) {
  const json spec = {{"name", "dup"}, {"base", {{"model", "linear"}}}, {"seeds", {1, 2, 1}}};
  try {
    (void)parse_sweep_spec(nlohmann::ordered_json(spec), "");
    FAIL() << "duplicate seeds were accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lists 1 twice"));
  }
  const json ok = {{"name", "ok"}, {"seeds", {1, 2}}};
  EXPECT_EQ(parse_sweep_spec(nlohmann::ordered_json(ok), "").seeds.size(), 2u);
}

TEST(SweepValidation, OversizedSpecsAreRefusedWithTheLimitBeforeAllocating) {
  // 10^9 repetitions: refused while parsing, before a seed is stored.
  const json reps = {{"name", "big"}, {"repetitions", 1000000000}};
  try {
    (void)parse_sweep_spec(nlohmann::ordered_json(reps), "");
    FAIL() << "10^9 repetitions were accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("limit of 100000 runs"));
  }
  // 10^7 points (7 axes of 10 values): refused by expand() before a point is made.
  json axes = json::object();
  for (const char* name :
       {"batch", "step", "threads", "checkpoints", "eval-samples", "staleness-bins", "updates"}) {
    json values = json::array();
    for (int v = 1; v <= 10; ++v) values.push_back(v);
    axes[name] = values;
  }
  const json points = {{"name", "big"}, {"base", {{"model", "linear"}}}, {"axes", axes}};
  const SweepSpec spec = parse_sweep_spec(nlohmann::ordered_json(points), "");
  try {
    (void)expand(spec);
    FAIL() << "10^7 points were accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than 100000 points x 1 repetitions"));
    EXPECT_THAT(e.what(), HasSubstr("limit of 100000 runs per sweep"));
  }
  EXPECT_EQ(kMaxSweepRuns, 100000u);  // docs/sweeps.md documents this number
}

}  // namespace
}  // namespace psgd
