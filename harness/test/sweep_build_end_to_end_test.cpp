// End-to-end: the real `psgd sweep` refuses a bad point or a bad --psgd before running anything,
// sets aside a result file that is no complete result, and keeps only results of the binary it
// runs: a rebuilt binary (here: a copy with one more byte) redoes every run and keeps the old
// results under superseded/, a second sweep with the same binary redoes nothing, --rerun redoes
// everything and --accept-other-builds keeps what is there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

struct FinishedSweep {
  int exit_code = -1;
  std::string err;
  std::string out;
};

// Two points of a linear model on a small synthetic set: a few tens of milliseconds per run.
constexpr const char* kBuildSpec = R"({
  "name": "e2e-build",
  "base": {"dataset": "synthetic-dense:512x8x2", "model": "linear", "updates": 40},
  "axes": {"batch": [4, 8]},
  "timeout_seconds": 60
})";

class SweepBuildEndToEnd : public psgd::test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    spec_ = (scratch_ / "spec.json").string();
    std::ofstream(spec_) << kBuildSpec;
  }

  FinishedSweep sweep(std::vector<std::string> extra, const std::string& spec = "") {
    std::vector<std::string> argv = {PSGD_BINARY, "sweep", spec.empty() ? spec_ : spec,
                                     "--results-dir=" + (scratch_ / "results").string()};
    for (std::string& e : extra) argv.push_back(std::move(e));
    const test::TimedProcessResult r = test::run_to_end(argv, scratch_, 120);
    const ChildOutcome& o = r.outcome;
    return {o.kind == ChildOutcome::Kind::kExited ? o.exit_code : -1, r.err, r.out};
  }

  fs::path folder() const { return scratch_ / "results" / "e2e-build"; }

  // run file name -> (build id, inode): which build made each result, and whether it was rewritten.
  std::map<std::string, std::pair<std::string, ino_t>> results() const {
    std::map<std::string, std::pair<std::string, ino_t>> out;
    for (const auto& e : fs::directory_iterator(folder())) {
      const std::string name = e.path().filename().string();
      if (!name.ends_with(".json") || name == "sweep.json") continue;
      std::ifstream in(e.path());
      struct stat st {};
      stat(e.path().c_str(), &st);
      out[name] = {recorded_build_id(json::parse(in)), st.st_ino};
    }
    return out;
  }

  std::size_t files_under(const fs::path& p) const {
    std::size_t n = 0;
    if (!fs::exists(p)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(p)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  std::string spec_;
};

using psgd::test::count_lines;

// The sweep refuses a point with what `psgd run` would say (the same pre-flight functions,
// harness/run/preflight.hpp), the model and data that cannot fit in memory included.
TEST_F(SweepBuildEndToEnd, SweepValidationRefusesEveryBadPointAtDryRunWithOneLine) {
  struct Case {
    const char* axis;
    const char* expect;
    int exit_code = 2;
  };
  const Case cases[] = {
      {R"("algo": ["seq", "leashd"])", "leashd"},
      {R"("model": ["linear", "mlp:0"])", "mlp:0"},
      {R"("dataset": ["synthetic-dense:512x8x2", "no-such-set"])", "no-such-set"},
      {R"("placement": ["none", "everywhere"])",
       "--placement must be none, compact, scatter or explicit:CPULIST, got 'everywhere'"},
      {R"("activation": ["relu", "sigmoidd"])",
       "--activation must be relu or sigmoid, got 'sigmoidd'"},
      {R"("placement": ["none", "explicit:99999"])", "99999"},
      {R"("batch": [4, 70000])", "70000"},
      {R"("model": ["linear", "mlp:100000x100000"])", "more than this machine's", 3},
      {R"("dataset": ["synthetic-dense:512x8x2", "synthetic-dense:100x40x100000000"])",
       "more than this machine's", 3},
  };
  for (const Case& c : cases) {
    const std::string path = (scratch_ / "bad.json").string();
    std::ofstream(path) << R"({"name": "e2e-bad", "base": {"dataset": "synthetic-dense:512x8x2",
        "model": "linear", "updates": 10}, "axes": {)"
                        << c.axis << "}}";
    for (const char* mode : {"--dry-run", "--jobs=1"}) {
      const FinishedSweep f = sweep({mode}, path);
      EXPECT_EQ(f.exit_code, c.exit_code) << c.axis << " " << mode << ": " << f.err;
      EXPECT_EQ(count_lines(f.err), 1) << c.axis << ": " << f.err;
      EXPECT_THAT(f.err, HasSubstr("point ")) << c.axis;
      EXPECT_THAT(f.err, HasSubstr(c.expect)) << c.axis;
      EXPECT_FALSE(fs::exists(scratch_ / "results" / "e2e-bad")) << c.axis << ": something ran";
    }
  }
}

TEST_F(SweepBuildEndToEnd, ABadPsgdBinaryIsProbedOnceNotRecordedAsCrashedRuns) {
  const std::string script = (scratch_ / "not-psgd.sh").string();
  std::ofstream(script) << "#!/bin/sh\necho hello\n";
  fs::permissions(script, fs::perms::owner_all);
  for (const std::string& bad : {std::string("/bin/false"), script}) {
    for (const char* mode : {"--dry-run", "--jobs=1"}) {
      const FinishedSweep f = sweep({"--psgd=" + bad, mode});
      EXPECT_EQ(f.exit_code, 3) << bad << ": " << f.err;
      EXPECT_EQ(count_lines(f.err), 1) << f.err;
      EXPECT_THAT(f.err, HasSubstr("not a working psgd binary"));
      EXPECT_EQ(files_under(folder()), 0u) << bad << ": something was recorded";
    }
  }
  const FinishedSweep missing = sweep({"--psgd=" + (scratch_ / "missing").string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("not executable"));
}

TEST_F(SweepBuildEndToEnd, TruncatedAndHandMadeResultsAreSetAsideThenRedone) {
  ASSERT_EQ(sweep({}).exit_code, 0);
  const auto first = results();
  ASSERT_EQ(first.size(), 2u);
  const std::string a = first.begin()->first;
  const std::string b = std::next(first.begin())->first;
  std::ofstream(folder() / a) << R"({"status": "converged"})";
  fs::resize_file(folder() / b, fs::file_size(folder() / b) / 2);

  const FinishedSweep dry = sweep({"--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("broken " + a.substr(0, a.size() - 5)));
  EXPECT_THAT(dry.out, HasSubstr("0 done, 2 to run"));
  const FinishedSweep f = sweep({});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_THAT(f.err, HasSubstr("set aside " + a));
  EXPECT_THAT(f.err, HasSubstr("set aside " + b));
  EXPECT_EQ(files_under(folder() / "set-aside"), 2u);
  std::ifstream kept(folder() / "set-aside" / a);
  EXPECT_EQ(json::parse(kept), json({{"status", "converged"}}));  // the file is intact
  const auto redone = results();
  ASSERT_EQ(redone.size(), 2u);
  for (const auto& [name, id_inode] : redone) EXPECT_FALSE(id_inode.first.empty()) << name;
}

TEST_F(SweepBuildEndToEnd, ARebuiltBinaryRedoesTheRunsAndResumingRedoesNothing) {
  ASSERT_EQ(sweep({}).exit_code, 0);
  const auto first = results();
  ASSERT_EQ(first.size(), 2u);
  const std::string old_id = binary_build_id(PSGD_BINARY);
  for (const auto& [name, id_inode] : first) EXPECT_EQ(id_inode.first, old_id) << name;
  std::ifstream sweep_json(folder() / "sweep.json");
  const json plan = json::parse(sweep_json);
  EXPECT_EQ(plan["build_id"], old_id);
  // The build block: the id and the git state the binary carries (its --version, the runs'
  // context), whatever is checked out when the sweep runs.
  EXPECT_EQ(plan["build"]["id"], old_id);
  const json probed = probe_git_state(PSGD_BINARY);
  EXPECT_EQ(plan["build"]["git_sha"], probed["git_sha"]);
  EXPECT_EQ(plan["build"]["git_dirty"], probed["git_dirty"]);
  const json run_doc = json::parse(std::ifstream(folder() / first.begin()->first));
  EXPECT_EQ(plan["build"]["git_sha"], run_doc["context"]["git_sha"]);
  EXPECT_EQ(plan["build"]["git_dirty"], run_doc["context"]["git_dirty"]);

  // Resuming with the same binary redoes nothing.
  FinishedSweep f = sweep({});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(results(), first);

  // "Rebuild": the same program with one more byte is another build.
  const fs::path rebuilt = scratch_ / "psgd-rebuilt";
  fs::copy_file(PSGD_BINARY, rebuilt);
  std::ofstream(rebuilt, std::ios::app | std::ios::binary) << '\0';
  const std::string new_id = binary_build_id(rebuilt.string());
  ASSERT_NE(new_id, old_id);
  const FinishedSweep dry = sweep({"--psgd=" + rebuilt.string(), "--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("0 done, 2 to run"));
  EXPECT_THAT(dry.out, HasSubstr("build " + new_id));
  EXPECT_THAT(dry.out, HasSubstr("2 result(s) come from another build, e.g. build " + old_id));
  EXPECT_THAT(dry.out, HasSubstr("\nbuild batch-4__r0-"));

  // Kept as they are with --accept-other-builds.
  f = sweep({"--psgd=" + rebuilt.string(), "--accept-other-builds"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(results(), first);

  f = sweep({"--psgd=" + rebuilt.string()});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_THAT(f.err, HasSubstr("results of build " + old_id));
  const auto second = results();
  ASSERT_EQ(second.size(), 2u);
  for (const auto& [name, id_inode] : second) EXPECT_EQ(id_inode.first, new_id) << name;
  // Nothing lost, and the old build's folder reads like a sweep folder of its own: its two
  // results, an index.csv of them and a sweep.json with its build id.
  const fs::path old_folder = folder() / "superseded" / old_id;
  EXPECT_EQ(files_under(old_folder), 4u);
  std::ifstream index(old_folder / "index.csv");
  std::size_t rows = 0;
  for (std::string line; std::getline(index, line);) ++rows;
  EXPECT_EQ(rows, 3u);  // header + 2 runs
  const json old_plan = json::parse(std::ifstream(old_folder / "sweep.json"));
  EXPECT_EQ(old_plan.value("build_id", ""), old_id);
  EXPECT_EQ(old_plan.value("superseded", false), true);
  EXPECT_TRUE(old_plan["context"].is_object());
  EXPECT_EQ(old_plan["build"]["id"], old_id);
  EXPECT_EQ(old_plan["build"]["git_sha"], old_plan["context"]["git_sha"]);
  // psgd compare reads both builds: one repetition a point is too few for a verdict, so every
  // measure is "not comparable", which fails nothing.
  const test::ProcessResult compared =
      test::run_psgd("compare " + old_folder.string() + " " + folder().string());
  EXPECT_EQ(compared.exit_code, 0) << compared.out << compared.err;
  EXPECT_THAT(compared.out, HasSubstr("not comparable (too few reps)"));
  EXPECT_THAT(compared.out, HasSubstr("build " + old_id));

  // And resuming with the rebuilt binary redoes nothing.
  f = sweep({"--psgd=" + rebuilt.string()});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(results(), second);
  EXPECT_THAT(f.err, Not(HasSubstr("redone")));
}

TEST_F(SweepBuildEndToEnd, RerunRedoesEverythingAndKeepsTheOldResults) {
  ASSERT_EQ(sweep({}).exit_code, 0);
  const auto first = results();
  const FinishedSweep dry = sweep({"--rerun", "--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("0 done, 2 to run"));
  EXPECT_THAT(dry.out, HasSubstr("\nrerun batch-4__r0-"));
  const FinishedSweep f = sweep({"--rerun"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const auto second = results();
  ASSERT_EQ(second.size(), 2u);
  for (const auto& [name, id_inode] : second)
    EXPECT_NE(id_inode.second, first.at(name).second) << name << " was not redone";
  EXPECT_EQ(files_under(folder() / "superseded" / binary_build_id(PSGD_BINARY)), 4u);  // + index
  EXPECT_EQ(sweep({"--rerun", "--accept-other-builds"}).exit_code, 2);
}

}  // namespace
}  // namespace psgd
