// End-to-end: what `psgd sweep` does with a hostile results folder or spec (issue #26, items 6,
// 8, 9, 12 and 14): a directory or FIFO at a result's path is one line and exit 3 under every
// mode, with nothing moved; a results folder that cannot take a result (ENOSPC, simulated by an
// LD_PRELOAD shim) stops the sweep with exit 3 and leaves the runs pending instead of recording
// them as crashed; two points that differ only in spelling a default are refused; an empty
// --run-id is refused like `--run-id ,`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// 2 points x 1 repetition of a run that takes milliseconds.
constexpr const char* kSpec = R"({
  "name": "hostile",
  "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "updates": 20},
  "axes": {"batch": [4, 8]},
  "repetitions": 1,
  "timeout_seconds": 30
})";

class SweepBadPathsEndToEnd : public test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    spec_ = test::write_text(scratch_ / "spec.json", kSpec).string();
  }

  std::vector<std::string> argv(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {PSGD_BINARY, "sweep", spec_,
                                  "--results-dir=" + (scratch_ / "results").string()};
    for (std::string& e : extra) a.push_back(std::move(e));
    return a;
  }

  test::TimedProcessResult sweep(std::vector<std::string> extra = {}) const {
    return test::run_to_end(argv(std::move(extra)), scratch_, 60);
  }

  fs::path folder() const { return scratch_ / "results" / "hostile"; }

  // <run id> -> file contents of every result document in the folder.
  std::map<std::string, std::string> results() const {
    std::map<std::string, std::string> found;
    std::error_code ec;  // no folder: no results
    for (const fs::directory_entry& e : fs::directory_iterator(folder(), ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.ends_with(".json") && name != "sweep.json")
        found[name.substr(0, name.size() - 5)] = test::slurp(e.path());
    }
    return found;
  }

  std::string spec_;
};

int exit_code(const test::TimedProcessResult& r) {
  return r.outcome.kind == ChildOutcome::Kind::kExited ? r.outcome.exit_code : -1;
}

TEST_F(SweepBadPathsEndToEnd, ADirectoryAtAResultPathIsOneLineUnderEveryModeAndNothingMoves) {
  ASSERT_EQ(exit_code(sweep()), 0);
  const std::map<std::string, std::string> before = results();
  ASSERT_EQ(before.size(), 2U);
  const std::string blocked = before.begin()->first;
  fs::remove(folder() / (blocked + ".json"));
  fs::create_directory(folder() / (blocked + ".json"));
  const std::string index = test::slurp(folder() / "index.csv");
  // Was: ios_failure (abort) under each; --rerun first moved the other result to superseded/.
  for (const std::vector<std::string>& mode :
       std::vector<std::vector<std::string>>{{"--dry-run"},
                                             {},
                                             {"--collect"},
                                             {"--rerun"},
                                             {"--run-id=" + blocked},
                                             {"--backend=slurm", "--dry-run"}}) {
    SCOPED_TRACE(mode.empty() ? "a plain run" : mode.front());
    const test::TimedProcessResult r = sweep(mode);
    EXPECT_EQ(exit_code(r), 3) << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(blocked + ".json' is a directory"));
    EXPECT_FALSE(fs::exists(folder() / "superseded"));
    EXPECT_TRUE(fs::is_directory(folder() / (blocked + ".json")));
    std::map<std::string, std::string> now = results();
    EXPECT_EQ(now.size(), 1U);
    for (const auto& [id, text] : now) EXPECT_EQ(text, before.at(id)) << id;
    EXPECT_EQ(test::slurp(folder() / "index.csv"), index);
  }
}

TEST_F(SweepBadPathsEndToEnd, AFifoAtAResultPathIsRefusedNotOpened) {
  ASSERT_EQ(exit_code(sweep()), 0);
  const std::string blocked = results().begin()->first;
  fs::remove(folder() / (blocked + ".json"));
  ASSERT_EQ(mkfifo((folder() / (blocked + ".json")).c_str(), 0644), 0);
  // Was: --dry-run opened the FIFO for reading and blocked until killed.
  for (const std::vector<std::string>& mode :
       std::vector<std::vector<std::string>>{{"--dry-run"}, {}}) {
    const test::TimedProcessResult r = test::run_to_end(argv(mode), scratch_, 20);
    ASSERT_EQ(r.outcome.kind, ChildOutcome::Kind::kExited) << "hung: " << r.err;
    EXPECT_EQ(r.outcome.exit_code, 3) << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(blocked + ".json' is a FIFO"));
    EXPECT_EQ(fs::status(folder() / (blocked + ".json")).type(), fs::file_type::fifo);
  }
}

TEST_F(SweepBadPathsEndToEnd, AFullResultsFolderStopsTheSweepAndLeavesTheRunsPending) {
  // Every write to a child's document fails with ENOSPC, as on a full disk; the sweep's own
  // (smaller) files still fit. Was: both runs recorded as crashed, exit 0, and a resume after
  // space was freed said "2 done".
  const std::string env = std::string("ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=") +
                          PSGD_FAIL_WRITE_SHIM + " PSGD_FAIL_WRITE_MATCH=.json.part";
  std::string command = "timeout -s KILL 60 env " + env;
  for (const std::string& a : argv()) command += " '" + a + "'";
  const test::ProcessResult full = test::run_shell(command);
  EXPECT_EQ(full.exit_code, 3) << full.err;
  EXPECT_THAT(full.err, HasSubstr("cannot be written"));
  EXPECT_THAT(full.err, HasSubstr("No space left on device"));
  EXPECT_TRUE(results().empty()) << "a run was recorded although its result could not be written";

  const test::TimedProcessResult dry = sweep({"--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("0 done, 2 to run"));
  const test::TimedProcessResult resumed = sweep();
  EXPECT_EQ(exit_code(resumed), 0) << resumed.err;
  const std::map<std::string, std::string> done = results();
  ASSERT_EQ(done.size(), 2U);
  for (const auto& [id, text] : done) EXPECT_NE(json::parse(text)["status"], "crashed") << id;
}

TEST_F(SweepBadPathsEndToEnd, PointsThatSpellOutADefaultAreRefusedNamingBoth) {
  // Each axis planned two identical runs: null is the option's default, spelled out beside it.
  for (const auto& [axes, first, second] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {R"({"batch": [null, 32]})", "batch-default", "batch-32"},
           {R"({"algo": ["seq", null]})", "algo-seq", "algo-default"},
           {R"({"algo": ["leashed"], "persistence": ["inf", null]})", "persistence-inf",
            "persistence-default"}}) {
    SCOPED_TRACE(axes);
    json spec = json::parse(kSpec);
    spec["axes"] = json::parse(axes);
    test::write_text(scratch_ / "spec.json", spec.dump());
    const test::TimedProcessResult r = sweep({"--dry-run"});
    EXPECT_EQ(exit_code(r), 2) << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(first));
    EXPECT_THAT(r.err, HasSubstr(second));
    EXPECT_THAT(r.err, HasSubstr("run the same configuration"));
  }
}

TEST_F(SweepBadPathsEndToEnd, AnEmptyRunIdIsRefusedLikeAComma) {
  // Was: --run-id "" ran the whole sweep, exit 0, while --run-id , was refused.
  for (const std::string& ids : {std::string(""), std::string(",")}) {
    SCOPED_TRACE("--run-id '" + ids + "'");
    const test::TimedProcessResult r = sweep({"--run-id", ids});
    EXPECT_EQ(exit_code(r), 2) << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--run-id"));
    EXPECT_FALSE(fs::exists(folder() / "index.csv"));
  }
}

}  // namespace
}  // namespace psgd
