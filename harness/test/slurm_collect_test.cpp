// The Slurm collector against a stand-in SlurmClient and a hand-made results folder: every state
// of the precedence in slurm/collect.hpp, the crash record of a killed task with Slurm's reason,
// stale markers, dry runs that touch nothing, and what a re-submission picks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/run/report.hpp"
#include "harness/sweep/slurm/collect.hpp"
#include "harness/sweep/slurm/files.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SlurmCollect : public psgd::test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    spec_ = parse_sweep_spec(ordered_json::parse(R"({"name": "col",
        "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "updates": 10},
        "axes": {"batch": [1, 2, 3, 4, 5, 6]}})"),
                             "");
    runs_ = expand(spec_);
    dir_ = std::make_unique<ResultsDir>((scratch_ / "col").string());
    fs::create_directories(scratch_ / "col" / "slurm");
    client_.queue = [this](const std::string& name) {
      ++queue_calls_;
      EXPECT_EQ(name, "psgd-col");
      return queue_;
    };
    client_.end_of = [this](const std::string& key) {
      asked_end_of_.push_back(key);
      return SlurmEnd{"CANCELLED by 0", "0:15", "", "sacct"};
    };
    queue_.known = true;
  }

  const std::string& id(std::size_t i) const { return runs_.at(i).run_id; }

  void write_doc(std::size_t i, const std::string& status, const std::string& attempt = "") {
    json doc = {{"schema_version", 3}, {"status", status}};
    doc["sweep"] = sweep_block(spec_, runs_[i], 1.0, "b1");
    if (!attempt.empty()) doc["slurm"] = {{"task_key", "9_0"}, {"attempt", attempt}};
    write_json(doc, dir_->final_path(id(i)));
  }
  void write_marker(std::size_t i, const std::string& task_key, const std::string& attempt) {
    json alloc = task_key.empty() ? json(nullptr) : json{{"task_key", task_key}, {"node", "n1"}};
    write_json({{"run_id", id(i)},
                {"attempt", attempt},
                {"slurm", alloc},
                {"context", {{"host", "n1"}}},
                {"build_id", "b1"},
                {"interrupted_by", "SIGTERM"}},
               started_marker_path(*dir_, id(i)));
  }

  SweepSpec spec_;
  std::vector<PlannedRun> runs_;
  std::unique_ptr<ResultsDir> dir_;
  SlurmClient client_;
  SlurmQueue queue_;
  int queue_calls_ = 0;
  std::vector<std::string> asked_end_of_;
};

TEST_F(SlurmCollect, EveryRunGetsOneStateAndAKilledTaskBecomesACrashWithSlurmsReason) {
  write_doc(0, "converged");
  write_marker(1, "10_1", "a1");  // its task still runs
  write_marker(2, "10_2", "a2");  // its task is gone: killed
  std::ofstream(dir_->stderr_path(id(2))) << "loading data\nepoch 0\n";
  write_doc(5, "not_converged", "a5");
  write_marker(5, "9_0", "a5");  // the attempt that wrote run 5's document died after the commit
  write_json({{"job_id", "10"}, {"tasks", {{id(0)}, {id(1)}, {id(2)}, {id(3)}}}},
             slurm_records_dir(*dir_) + "/job-10.json");
  queue_.tasks = {{"10_1", {"RUNNING", "None"}}, {"10_3", {"PENDING", "Resources"}}};

  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/true);
  EXPECT_EQ(queue_calls_, 1);
  EXPECT_THAT(asked_end_of_, ElementsAre("10_2"));
  EXPECT_THAT(c.states, ElementsAre(SlurmRunState::kComplete, SlurmRunState::kRunning,
                                    SlurmRunState::kComplete, SlurmRunState::kQueued,
                                    SlurmRunState::kMissing, SlurmRunState::kComplete));
  EXPECT_EQ(c.task_of[1], "10_1");
  EXPECT_EQ(c.task_of[3], "10_3");
  ASSERT_EQ(c.crashed_now.size(), 1u);
  EXPECT_THAT(c.crashed_now[0], HasSubstr("CANCELLED by 0, exit code 0:15 (sacct)"));

  // Run 2's crash record: committed, with Slurm's state, the allocation and the stderr tail.
  const std::optional<json> crashed = dir_->load_complete(id(2));
  ASSERT_TRUE(crashed);
  EXPECT_EQ((*crashed)["status"], "crashed");
  EXPECT_EQ((*crashed)["crash"]["kind"], "slurm");
  EXPECT_EQ((*crashed)["crash"]["slurm_state"], "CANCELLED by 0");
  EXPECT_EQ((*crashed)["crash"]["slurm_exit_code"], "0:15");
  EXPECT_EQ((*crashed)["crash"]["exit_code"], 0);
  EXPECT_EQ((*crashed)["crash"]["signal_name"], "SIGTERM");
  EXPECT_EQ((*crashed)["crash"]["interrupted_by"], "SIGTERM");
  EXPECT_THAT((*crashed)["crash"]["stderr_tail"].get<std::string>(), HasSubstr("epoch 0"));
  EXPECT_EQ((*crashed)["slurm"]["task_key"], "10_2");
  EXPECT_EQ((*crashed)["slurm"]["attempt"], "a2");
  EXPECT_EQ((*crashed)["sweep"]["run_id"], id(2));
  EXPECT_TRUE((*crashed)["sweep"]["run_seconds"].is_null());
  EXPECT_EQ((*crashed)["sweep"]["build_id"], "b1");  // the build the task's marker names
  EXPECT_EQ((*crashed)["config"]["batch"], 3);
  EXPECT_FALSE(fs::exists(started_marker_path(*dir_, id(2))));
  EXPECT_FALSE(fs::exists(dir_->stderr_path(id(2))));
  // The running task's marker stays; the stale one is gone, its document untouched.
  EXPECT_TRUE(fs::exists(started_marker_path(*dir_, id(1))));
  EXPECT_FALSE(fs::exists(started_marker_path(*dir_, id(5))));
  EXPECT_EQ((*dir_->load_complete(id(5)))["status"], "not_converged");

  // A re-submission: the missing run; with --redo-crashed also the crashed one.
  SchedulerOptions options;
  options.build_id = "b1";  // the build of write_doc's documents
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(4u));
  options.redo_crashed = true;
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(2u, 4u));
  // Complete runs of another build are submitted again (the tasks move them aside); --rerun
  // submits every run not queued or running.
  options.redo_crashed = false;
  options.build_id = "b2";
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(0u, 2u, 4u, 5u));
  options.accept_other_builds = true;
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(4u));
  options.accept_other_builds = false;
  options.build_id = "b1";
  options.rerun = true;
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(0u, 2u, 4u, 5u));

  std::ostringstream report;
  print_collection(c, spec_, runs_, report);
  EXPECT_THAT(report.str(),
              HasSubstr("sweep col: 6 runs: 3 complete (1 converged, 1 crashed, 1 not_converged), "
                        "1 running, 1 queued, 1 missing"));
  EXPECT_THAT(report.str(), HasSubstr("recorded as crashed: " + id(2)));
}

TEST_F(SlurmCollect, ADeadMarkerNeverReplacesAResult) {
  write_doc(3, "converged");  // e.g. written by a local sweep after the task died
  write_marker(3, "10_3", "old");
  write_doc(4, "crashed");  // an earlier crash; the redo's task died too
  write_marker(4, "10_4", "redo");
  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/true);
  EXPECT_THAT(asked_end_of_, ElementsAre("10_4"));
  EXPECT_EQ(c.states[3], SlurmRunState::kComplete);
  EXPECT_EQ((*dir_->load_complete(id(3)))["status"], "converged");
  EXPECT_FALSE(fs::exists(started_marker_path(*dir_, id(3))));
  const json redone = *dir_->load_complete(id(4));
  EXPECT_EQ(redone["crash"]["kind"], "slurm");
  EXPECT_EQ(redone["slurm"]["attempt"], "redo");
}

TEST_F(SlurmCollect, DryRunTouchesNothingAndCountsTheKilledRunAsCrashed) {
  write_marker(2, "10_2", "a2");
  write_json({{"job_id", "10"}, {"tasks", {{id(2)}}}}, slurm_records_dir(*dir_) + "/job-10.json");
  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/false);
  EXPECT_EQ(c.states[2], SlurmRunState::kKilled);
  EXPECT_TRUE(fs::exists(started_marker_path(*dir_, id(2))));
  EXPECT_FALSE(fs::exists(dir_->final_path(id(2))));
  SchedulerOptions options;
  options.build_id = "b1";                                  // the build of write_doc's documents
  EXPECT_EQ(runs_to_submit(c, runs_, options).size(), 5u);  // the killed run waits for --redo
  options.redo_crashed = true;
  EXPECT_EQ(runs_to_submit(c, runs_, options).size(), 6u);
}

TEST_F(SlurmCollect, WithoutSqueueAStartedRunIsUnknownNeitherCollectedNorResubmitted) {
  write_marker(1, "10_1", "a1");
  write_marker(2, "", "local");  // a --run-id process outside Slurm
  queue_.known = false;
  queue_.error =
      "squeue failed (exit 1): slurm_load_jobs error: Unable to contact slurm controller";
  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/true);
  EXPECT_EQ(c.states[1], SlurmRunState::kUnknown);
  EXPECT_EQ(c.states[2], SlurmRunState::kUnknown);
  EXPECT_TRUE(asked_end_of_.empty());
  EXPECT_TRUE(fs::exists(started_marker_path(*dir_, id(1))));
  SchedulerOptions options;
  options.build_id = "b1";  // the build of write_doc's documents
  options.redo_crashed = true;
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(0u, 3u, 4u, 5u));
  std::ostringstream report;
  print_collection(c, spec_, runs_, report);
  EXPECT_THAT(report.str(), HasSubstr("Slurm's queue is unknown: squeue failed"));
}

TEST_F(SlurmCollect, AFolderOfLocalRunsNeedsNoSlurm) {
  write_doc(0, "converged");
  client_.queue = [](const std::string&) -> SlurmQueue {
    ADD_FAILURE() << "squeue asked for a folder without submissions";
    return {};
  };
  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/true);
  EXPECT_FALSE(c.queue_asked);
  EXPECT_EQ(c.states[0], SlurmRunState::kComplete);
  EXPECT_EQ(c.states[1], SlurmRunState::kMissing);
}

TEST_F(SlurmCollect, ANewerSubmissionOfACrashedRunShowsItQueued) {
  write_doc(2, "crashed");
  write_json({{"job_id", "9"}, {"tasks", {{id(2)}}}}, slurm_records_dir(*dir_) + "/job-9.json");
  write_json({{"job_id", "11"}, {"tasks", {{id(2)}}}}, slurm_records_dir(*dir_) + "/job-11.json");
  queue_.tasks = {{"11_0", {"PENDING", "Priority"}}};
  const SlurmCollection c = collect_slurm_runs(spec_, runs_, *dir_, client_, /*commit=*/true);
  EXPECT_EQ(c.states[2], SlurmRunState::kQueued);
  EXPECT_EQ(c.task_of[2], "11_0");
  ASSERT_TRUE(c.summaries[2]);  // still in the index as the crash it is until redone
  SchedulerOptions options;
  options.build_id = "b1";  // the build of write_doc's documents
  options.redo_crashed = true;
  EXPECT_THAT(runs_to_submit(c, runs_, options), ElementsAre(0u, 1u, 3u, 4u, 5u));
}

}  // namespace
}  // namespace psgd
