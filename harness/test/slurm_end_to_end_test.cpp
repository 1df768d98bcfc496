// End-to-end: `psgd sweep --backend slurm` against a real single-host Slurm on localhost
// (local_slurm.hpp). A small synthetic sweep is submitted as job arrays, runs, and is collected
// with every run present exactly once, its allocation recorded, and index.csv complete; a task
// cancelled with scancel mid-run is recorded as crashed with Slurm's state, is not resubmitted
// without --redo-crashed, and is redone by a re-submission with it. Skips (with the reason) where
// the daemons cannot start: not root, Slurm or munge not installed (`make slurm-deps`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "harness/sweep/slurm/files.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/local_slurm.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::LocalSlurm;

// A whole submission (queue, 2 CPUs, tiny runs) ends in seconds here; this bounds a loaded CI.
constexpr double kSweepSeconds = 90;

class SlurmEndToEnd : public psgd::test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    slurm_ = std::make_unique<LocalSlurm>();
    if (!slurm_->skip_reason().empty()) GTEST_SKIP() << "no local Slurm: " << slurm_->skip_reason();
  }
  void TearDown() override {
    if (slurm_) {
      EXPECT_EQ(slurm_->stop(), "") << "a daemon outlived SIGTERM";
    }
    ScratchDirTest::TearDown();
  }

  std::string write_spec(const std::string& text) {
    const std::string path = (scratch_ / "spec.json").string();
    std::ofstream(path) << text;
    return path;
  }

  // `psgd sweep SPEC --results-dir=... extra...`, to its end; exit code and what it printed.
  CommandResult sweep(const std::string& spec, std::vector<std::string> extra) {
    std::vector<std::string> argv = {PSGD_BINARY, "sweep", spec,
                                     "--results-dir=" + (scratch_ / "results").string()};
    for (std::string& e : extra) argv.push_back(std::move(e));
    return run_command(argv, kSweepSeconds);
  }

  // Waits until no job of the sweep is queued or running.
  void wait_for_sweep(const std::string& job_name) {
    const bool done = LocalSlurm::wait_until(
        [&] {
          const CommandResult r = run_command({"squeue", "-h", "--name=" + job_name}, 30);
          return r.exit_code == 0 && r.out.empty();
        },
        kSweepSeconds);
    ASSERT_TRUE(done) << "the sweep's jobs did not end\n" << slurm_->logs();
  }

  std::unique_ptr<LocalSlurm> slurm_;
};

// Every planned run has exactly one document, whose status is one of `allowed`; nothing partial is
// left; index.csv has each run once. Returns the documents by run id.
std::map<std::string, json> expect_collected(const fs::path& folder,
                                             const std::vector<PlannedRun>& plan,
                                             const std::vector<std::string>& allowed) {
  std::map<std::string, json> docs;
  std::set<std::string> want;
  for (const PlannedRun& r : plan) want.insert(r.run_id);
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    EXPECT_FALSE(name.ends_with(".part") || name.ends_with(".stderr") ||
                 name.ends_with(".started") || name.find(".tmp.") != std::string::npos)
        << "left behind: " << name;
    if (!name.ends_with(".json") || name == "sweep.json") continue;
    std::ifstream in(e.path());
    const json doc = json::parse(in);
    const std::string id = doc["sweep"]["run_id"];
    EXPECT_EQ(id + ".json", name);
    EXPECT_THAT(allowed, ::testing::Contains(doc["status"].get<std::string>())) << name;
    EXPECT_TRUE(docs.emplace(id, doc).second) << id;
  }
  std::set<std::string> got;
  for (const auto& [id, doc] : docs) got.insert(id);
  EXPECT_EQ(got, want);
  std::ifstream index(folder / "index.csv");
  std::string line;
  std::getline(index, line);
  std::multiset<std::string> rows;
  while (std::getline(index, line)) rows.insert(line.substr(0, line.find(',')));
  EXPECT_EQ(rows.size(), plan.size());
  for (const PlannedRun& r : plan) EXPECT_EQ(rows.count(r.run_id), 1u) << r.run_id;
  return docs;
}

TEST_F(SlurmEndToEnd, SubmittedSweepRunsAsArraysAndIsCollectedWithEveryRunOnce) {
  // 1 and 2 threads x 3 batch sizes: two arrays (one per thread count), 2 runs per task.
  const std::string spec = write_spec(R"({
    "name": "e2e-slurm",
    "base": {"dataset": "synthetic-dense:512x8x2", "model": "linear", "algo": "mutex",
             "updates": 200, "placement": "none"},
    "axes": {"threads": [1, 2], "batch": [4, 8, 16]},
    "timeout_seconds": 60,
    "slurm": {"runs_per_task": 2}
  })");
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  const CommandResult dry = sweep(spec, {"--backend=slurm", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("would submit 6 run(s) in 2 job array(s)"));
  EXPECT_THAT(dry.out, HasSubstr("#SBATCH --cpus-per-task=2\n"));
  EXPECT_FALSE(fs::exists(scratch_ / "results" / "e2e-slurm"));  // a dry run writes nothing

  const CommandResult submitted = sweep(spec, {"--backend=slurm", "--slurm-max-running=2"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;
  EXPECT_THAT(submitted.out, HasSubstr("submitted job "));
  wait_for_sweep("psgd-e2e-slurm");

  const CommandResult collected = sweep(spec, {"--collect"});
  ASSERT_EQ(collected.exit_code, 0) << collected.err;
  EXPECT_THAT(collected.out, HasSubstr("6 runs: 6 complete"));
  EXPECT_THAT(collected.out, HasSubstr("0 running, 0 queued, 0 missing"));
  const fs::path folder = scratch_ / "results" / "e2e-slurm";
  const std::map<std::string, json> docs =
      expect_collected(folder, plan, {"converged", "not_converged"});
  for (const PlannedRun& r : plan) {
    const json& slurm = docs.at(r.run_id)["slurm"];
    ASSERT_TRUE(slurm.is_object()) << r.run_id;
    EXPECT_EQ(slurm["node"], slurm_->node());
    EXPECT_EQ(slurm["cpus_per_task"].get<int>(), std::stoi(r.options.at("threads")));
    EXPECT_TRUE(slurm["array_task_id"].is_number());
    EXPECT_TRUE(slurm["job_id"].is_number());
    EXPECT_EQ(docs.at(r.run_id)["config"]["threads"].get<int>(),
              std::stoi(r.options.at("threads")));
  }
  std::ifstream sweep_doc(folder / "sweep.json");
  EXPECT_EQ(json::parse(sweep_doc)["backend"], "slurm");

  // Everything is done: a re-submission submits nothing.
  const CommandResult again = sweep(spec, {"--backend=slurm"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("nothing to submit"));
}

TEST_F(SlurmEndToEnd, ScancelledTaskIsRecordedAsCrashedAndRedoneByAResubmission) {
  // Two runs of 2 s of training each (a time limit on a budget they cannot finish).
  const std::string spec = write_spec(R"({
    "name": "e2e-scancel",
    "base": {"dataset": "synthetic-dense:512x8x2", "model": "linear", "algo": "mutex",
             "epochs": 100000, "time-limit": 2, "placement": "none"},
    "axes": {"batch": [4, 8]},
    "timeout_seconds": 60
  })");
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  ASSERT_EQ(plan.size(), 2u);
  const fs::path folder = scratch_ / "results" / "e2e-scancel";
  const CommandResult submitted = sweep(spec, {"--backend=slurm"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;

  // Cancel the task of the first run once that run is in flight.
  const ResultsDir results(folder.string());
  const std::string victim = plan[0].run_id;
  std::optional<json> marker;
  ASSERT_TRUE(LocalSlurm::wait_until(
      [&] { return (marker = read_started_marker(results, victim)).has_value(); }, kSweepSeconds))
      << slurm_->logs();
  const std::string task_key = (*marker)["slurm"]["task_key"];
  ASSERT_EQ(run_command({"scancel", task_key}, 30).exit_code, 0);
  wait_for_sweep("psgd-e2e-scancel");

  const CommandResult collected = sweep(spec, {"--collect"});
  ASSERT_EQ(collected.exit_code, 0) << collected.err;
  EXPECT_THAT(collected.out, HasSubstr("recorded as crashed: " + victim + ": Slurm CANCELLED"));
  std::map<std::string, json> docs =
      expect_collected(folder, plan, {"converged", "not_converged", "crashed"});
  const json& crash = docs.at(victim)["crash"];
  EXPECT_EQ(docs.at(victim)["status"], "crashed");
  EXPECT_EQ(crash["kind"], "slurm");
  EXPECT_THAT(crash["slurm_state"].get<std::string>(), HasSubstr("CANCELLED"));
  EXPECT_EQ(docs.at(victim)["slurm"]["task_key"], task_key);
  EXPECT_NE(docs.at(plan[1].run_id)["status"], "crashed");

  // A crash is a result: only --redo-crashed submits it again, and then only it.
  const CommandResult plain = sweep(spec, {"--backend=slurm"});
  EXPECT_THAT(plain.out, HasSubstr("nothing to submit"));
  const CommandResult redo = sweep(spec, {"--backend=slurm", "--redo-crashed"});
  ASSERT_EQ(redo.exit_code, 0) << redo.err << redo.out;
  EXPECT_THAT(redo.out, HasSubstr("submitting 1 run(s)"));
  wait_for_sweep("psgd-e2e-scancel");
  const CommandResult final_collect = sweep(spec, {"--collect"});
  ASSERT_EQ(final_collect.exit_code, 0) << final_collect.err;
  EXPECT_THAT(final_collect.out, HasSubstr("2 runs: 2 complete"));
  docs = expect_collected(folder, plan, {"converged", "not_converged"});
  EXPECT_NE(docs.at(victim)["slurm"]["task_key"], task_key);  // a new task of a new job
}

// Without Slurm: the task entry point runs exactly the listed runs and commits them as a local
// sweep does; bad combinations and unknown ids are one line and exit 2.
TEST(SweepTaskEndToEnd, RunIdRunsExactlyTheListedRunsAndRejectsUnknownOnes) {
  const fs::path dir = psgd::test::scratch_dir("psgd_sweep_task_e2e");
  const std::string spec = (dir / "spec.json").string();
  std::ofstream(spec) << R"({"name": "e2e-task",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 40},
    "axes": {"batch": [4, 8, 16]}})";
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  auto sweep = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {PSGD_BINARY, "sweep", spec,
                                     "--results-dir=" + (dir / "results").string()};
    for (std::string& e : extra) argv.push_back(std::move(e));
    return run_command(argv, 60);
  };
  const CommandResult ran = sweep({"--run-id=" + plan[2].run_id + "," + plan[0].run_id});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  const fs::path folder = dir / "results" / "e2e-task";
  const ResultsDir results(folder.string());
  for (const std::size_t i : {0u, 2u}) {
    const std::optional<json> doc = results.load_complete(plan[i].run_id);
    ASSERT_TRUE(doc) << plan[i].run_id;
    EXPECT_EQ((*doc)["sweep"]["run_id"], plan[i].run_id);
    EXPECT_FALSE(doc->contains("slurm"));  // outside an allocation there is none to record
    EXPECT_FALSE(fs::exists(started_marker_path(results, plan[i].run_id)));
    EXPECT_FALSE(fs::exists(results.part_path(plan[i].run_id)));
  }
  EXPECT_FALSE(results.load_complete(plan[1].run_id));
  EXPECT_FALSE(fs::exists(folder / "index.csv"));  // the collector's to write
  const CommandResult again = sweep({"--run-id=" + plan[0].run_id});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already complete"));

  const CommandResult collected = sweep({"--collect"});
  ASSERT_EQ(collected.exit_code, 0) << collected.err;
  EXPECT_THAT(collected.out, HasSubstr("3 runs: 2 complete"));
  EXPECT_THAT(collected.out, HasSubstr("1 missing"));
  EXPECT_THAT(collected.out, HasSubstr("(2 rows)"));

  CommandResult bad = sweep({"--run-id=nope__r0-000000"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--run-id nope__r0-000000 is not a run of sweep e2e-task"));
  bad = sweep({"--slurm-partition=short"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("apply to --backend slurm only"));
  bad = sweep({"--backend=slurm", "--jobs=2"});
  EXPECT_EQ(bad.exit_code, 2);
  bad = sweep({"--backend=pbs"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--backend must be local or slurm"));
  std::ofstream(spec) << R"({"name": "e2e-task", "slurm": {"partion": "x"}})";
  bad = sweep({"--dry-run"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("slurm: unknown key 'partion'"));
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace psgd
