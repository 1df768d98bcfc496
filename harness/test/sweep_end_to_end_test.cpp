// End-to-end: the real `psgd sweep` on tiny synthetic sweeps. A sweep killed with SIGKILL
// mid-way resumes with every run present exactly once and nothing complete run again; crashing,
// failing and hanging runs are recorded as crashed while the sweep goes on; the index has its
// documented columns; --dry-run tells done from to-do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

struct Finished {
  ChildOutcome outcome;
  std::string stderr_text;
  std::string stdout_text;
};

class SweepEndToEnd : public psgd::test::ScratchDirTest {
 protected:
  std::string write_spec(const std::string& text) {
    const std::string path = (scratch_ / "spec.json").string();
    std::ofstream(path) << text;
    return path;
  }

  std::vector<std::string> sweep_argv(const std::string& spec,
                                      std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {PSGD_BINARY, "sweep", spec,
                                     "--results-dir=" + (scratch_ / "results").string()};
    for (std::string& e : extra) argv.push_back(std::move(e));
    return argv;
  }

  // Runs the command to its end (at most limit_seconds).
  Finished run_to_end(const std::vector<std::string>& argv, double limit_seconds = 60) {
    const test::TimedProcessResult r = test::run_to_end(argv, scratch_, limit_seconds);
    return {r.outcome, r.err, r.out};
  }

  fs::path results(const std::string& sweep) const { return scratch_ / "results" / sweep; }
};

std::size_t index_rows(const fs::path& index) {
  std::ifstream in(index);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines > 0 ? lines - 1 : 0;
}

struct FileStamp {
  ino_t inode;
  std::int64_t mtime_ns;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return {st.st_ino,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// The complete run documents in the folder, by file name.
std::map<std::string, FileStamp> complete_runs(const fs::path& dir) {
  std::map<std::string, FileStamp> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".json") && name != "sweep.json") out[name] = stamp(e.path());
  }
  return out;
}

// Every planned run exactly once, as a whole document of its own; nothing else left behind.
void expect_complete_sweep(const fs::path& dir, const std::vector<PlannedRun>& plan) {
  std::set<std::string> want;
  for (const PlannedRun& r : plan) want.insert(r.run_id + ".json");
  std::set<std::string> json_files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_FALSE(name.ends_with(".part") || name.ends_with(".stderr") ||
                 name.find(".tmp.") != std::string::npos)
        << "left behind: " << name;
    if (!name.ends_with(".json") || name == "sweep.json") continue;
    json_files.insert(name);
    std::ifstream in(e.path());
    json doc;
    ASSERT_NO_THROW(doc = json::parse(in)) << name;
    EXPECT_EQ(doc["schema_version"], 3) << name;
    EXPECT_EQ(doc["sweep"]["run_id"].get<std::string>() + ".json", name);
    // The command line names the document where it lives, as config.out does.
    EXPECT_THAT(doc["argv"],
                ::testing::Contains("--out=" + doc["config"]["out"].get<std::string>()))
        << name;
    EXPECT_THAT((std::vector<std::string>{"converged", "not_converged", "diverged"}),
                ::testing::Contains(doc["status"].get<std::string>()))
        << name;
  }
  EXPECT_EQ(json_files, want);
  // The index has one row per run, each run once.
  std::ifstream index(dir / "index.csv");
  std::string line;
  std::getline(index, line);
  std::multiset<std::string> rows;
  while (std::getline(index, line)) rows.insert(line.substr(0, line.find(',')));
  EXPECT_EQ(rows.size(), plan.size());
  for (const PlannedRun& r : plan) EXPECT_EQ(rows.count(r.run_id), 1u) << r.run_id;
}

// Six points x two repetitions of a linear model on a small synthetic set: each run takes a few
// tens of milliseconds even in a debug build.
constexpr const char* kResumeSpec = R"({
  "name": "e2e-resume",
  "base": {"dataset": "synthetic-dense:1024x16x4", "model": "linear", "updates": 300, "checkpoints": 8},
  "axes": {"batch": [8, 16, 32], "step": [0.02, 0.05]},
  "repetitions": 2,
  "timeout_seconds": 60
})";

TEST_F(SweepEndToEnd, KilledWithSigkillMidwayResumesWithNothingLostAndNothingRunTwice) {
  const std::string spec = write_spec(kResumeSpec);
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  const fs::path out = results("e2e-resume");

  // Kill as soon as a run is complete (the index has a row), so most of the sweep is still to do.
  {
    ChildProcess sweep(sweep_argv(spec), (scratch_ / "killed.stderr").string(), 60);
    bool ended = false;
    for (int i = 0; i < 30000; ++i) {
      if (fs::exists(out / "index.csv") && index_rows(out / "index.csv") >= 1) break;
      if (sweep.poll()) {
        ended = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_FALSE(ended) << read_tail((scratch_ / "killed.stderr").string());
    const ChildOutcome killed = sweep.kill_now();  // SIGKILL: no chance to clean up
    EXPECT_EQ(killed.signal, SIGKILL);
  }
  const std::map<std::string, FileStamp> before = complete_runs(out);
  ASSERT_GE(before.size(), 1u);
  ASSERT_LT(before.size(), plan.size()) << "the sweep finished before it could be killed";

  const Finished resumed = run_to_end(sweep_argv(spec));
  ASSERT_EQ(resumed.outcome.kind, ChildOutcome::Kind::kExited) << resumed.stderr_text;
  ASSERT_EQ(resumed.outcome.exit_code, 0) << resumed.stderr_text;
  EXPECT_THAT(resumed.stderr_text,
              HasSubstr(std::to_string(before.size()) + " of " + std::to_string(plan.size()) +
                        " runs already complete"));
  expect_complete_sweep(out, plan);
  // The runs complete before the kill were not run again: same file, untouched.
  const std::map<std::string, FileStamp> after = complete_runs(out);
  for (const auto& [name, s] : before) {
    ASSERT_TRUE(after.contains(name)) << name;
    EXPECT_EQ(after.at(name), s) << name << " was rewritten";
  }
}

TEST_F(SweepEndToEnd, KilledRepeatedlyAtArbitraryMomentsEndsCompleteAndValid) {
  const std::string spec = write_spec(kResumeSpec);
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  const fs::path out = results("e2e-resume");
  // Fixed delays so a failure reproduces; they land during start-up, a child's run, the commit.
  for (const int delay_ms : {3, 40, 95, 17, 160, 70}) {
    const std::map<std::string, FileStamp> before = complete_runs(out);
    ChildProcess sweep(sweep_argv(spec), (scratch_ / "killed.stderr").string(), 60);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    (void)sweep.kill_now();
    const std::map<std::string, FileStamp> after = complete_runs(out);
    for (const auto& [name, s] : before) {
      ASSERT_TRUE(after.contains(name)) << name;
      EXPECT_EQ(after.at(name), s) << name << " was rewritten";
    }
  }
  const Finished resumed = run_to_end(sweep_argv(spec));
  ASSERT_EQ(resumed.outcome.exit_code, 0) << resumed.stderr_text;
  expect_complete_sweep(out, plan);
}

TEST_F(SweepEndToEnd, CrashingFailingAndHangingRunsAreRecordedAndTheSweepGoesOn) {
  const std::string spec = write_spec(R"({
    "name": "e2e-crash",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 20},
    "axes": {"test-fault": ["abort", "hang", "exit:5", "none"]},
    "timeout_seconds": 1.5
  })");
  const Finished f = run_to_end(sweep_argv(spec));
  ASSERT_EQ(f.outcome.kind, ChildOutcome::Kind::kExited) << f.stderr_text;
  EXPECT_EQ(f.outcome.exit_code, 0) << f.stderr_text;  // crashes are results, not sweep failures

  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  ASSERT_EQ(plan.size(), 4u);
  std::map<std::string, json> docs;
  for (const PlannedRun& r : plan) {
    std::ifstream in(results("e2e-crash") / (r.run_id + ".json"));
    ASSERT_TRUE(in) << r.run_id;
    docs[r.options.at("test-fault")] = json::parse(in);
  }
  const json& aborted = docs["abort"];
  EXPECT_EQ(aborted["status"], "crashed");
  EXPECT_EQ(aborted["crash"]["kind"], "signal");
  EXPECT_EQ(aborted["crash"]["signal"], SIGABRT);
  EXPECT_EQ(aborted["crash"]["signal_name"], "SIGABRT");
  EXPECT_TRUE(aborted["crash"].contains("stderr_tail"));
  EXPECT_EQ(aborted["config"]["test_fault"], "abort");
  EXPECT_EQ(aborted["schema_version"], 3);

  const json& hung = docs["hang"];
  EXPECT_EQ(hung["status"], "crashed");
  EXPECT_EQ(hung["crash"]["kind"], "timeout");
  EXPECT_DOUBLE_EQ(hung["crash"]["timeout_seconds"].get<double>(), 1.5);
  EXPECT_GE(hung["sweep"]["run_seconds"].get<double>(), 1.5);

  const json& failed = docs["exit:5"];
  EXPECT_EQ(failed["status"], "crashed");
  EXPECT_EQ(failed["crash"]["kind"], "exit");
  EXPECT_EQ(failed["crash"]["exit_code"], 5);

  EXPECT_THAT((std::vector<std::string>{"converged", "not_converged", "diverged"}),
              ::testing::Contains(docs["none"]["status"].get<std::string>()));
  EXPECT_EQ(index_rows(results("e2e-crash") / "index.csv"), 4u);
}

// A child that refuses its configuration (exit 2: here more workers than hardware threads under
// compact placement) is `invalid`, counted apart from crashes, with the child's message.
TEST_F(SweepEndToEnd, RefusedRunsAreInvalidNotCrashed) {
  const unsigned too_many = std::max(1U, std::thread::hardware_concurrency()) + 1;
  const std::string spec = write_spec(R"({
    "name": "e2e-invalid",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 20,
             "algo": "mutex", "placement": "compact"},
    "axes": {"threads": [1, )" + std::to_string(too_many) +
                                      R"(]}
  })");
  const Finished f = run_to_end(sweep_argv(spec));
  ASSERT_EQ(f.outcome.exit_code, 0) << f.stderr_text;
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  ASSERT_EQ(plan.size(), 2u);
  std::map<std::string, json> docs;
  for (const PlannedRun& r : plan) {
    std::ifstream in(results("e2e-invalid") / (r.run_id + ".json"));
    ASSERT_TRUE(in) << r.run_id;
    docs[r.options.at("threads")] = json::parse(in);
  }
  const json& refused = docs[std::to_string(too_many)];
  EXPECT_EQ(refused["status"], "invalid");
  EXPECT_EQ(refused["crash"]["kind"], "invalid");
  EXPECT_EQ(refused["crash"]["exit_code"], 2);
  EXPECT_THAT(refused["crash"]["message"].get<std::string>(), HasSubstr("--placement none"));
  EXPECT_NE(docs["1"]["status"], "invalid");
  EXPECT_THAT(f.stderr_text, HasSubstr("1 invalid"));
  std::ifstream index(results("e2e-invalid") / "index.csv");
  std::stringstream text;
  text << index.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(",invalid,"));
}

TEST_F(SweepEndToEnd, IndexHasTheDocumentedColumns) {
  const std::string spec = write_spec(R"({
    "name": "e2e-index",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 40},
    "axes": {"threads": [1, 2], "algo": ["mutex"]},
    "seeds": [11]
  })");
  const Finished f = run_to_end(sweep_argv(spec));
  ASSERT_EQ(f.outcome.exit_code, 0) << f.stderr_text;
  std::ifstream in(results("e2e-index") / "index.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(
      header.rfind(
          "run_id,point_id,repetition,seed,threads,algo,batch,step,placement,memory,model,dataset,"
          "status,stop_reason,crash,exit_code,signal,run_seconds,wall_seconds,initial_train_loss,"
          "final_train_loss,final_test_loss,final_test_accuracy,time_to_epsilon_50pct,"
          "time_to_epsilon_25pct,time_to_epsilon_20pct,updates_to_epsilon_50pct,"
          "updates_to_epsilon_25pct,updates_to_epsilon_20pct,updates_applied,updates_computed,"
          "updates_dropped,updates_per_second,samples_per_second,staleness_mean,staleness_p50,"
          "staleness_p99,staleness_max,failed_attempts,failed_attempts_per_update_mean,"
          "lock_wait_seconds,backoff_seconds,dropped_gradients,peak_rss_bytes,cpu_utilisation,"
          "oversubscribed,file,passes,lost_fraction,gradients,epsilon_targets_reached,epsilon_"
          "reached_50pct,"
          "epsilon_reached_25pct,epsilon_reached_20pct",
          0),
      0u)
      << header;
  std::string row;
  std::getline(in, row);
  EXPECT_THAT(row, HasSubstr(",0,11,1,mutex,"));  // repetition, seed, threads, algo
  EXPECT_EQ(index_rows(results("e2e-index") / "index.csv"), 2u);
  std::ifstream sweep_doc(results("e2e-index") / "sweep.json");
  const json s = json::parse(sweep_doc);
  EXPECT_EQ(s["runs"], 2);
  EXPECT_EQ(s["axes"], json({"threads", "algo"}));
}

TEST_F(SweepEndToEnd, DryRunListsWhatWouldRunAndWhatIsDone) {
  const std::string spec = write_spec(R"({
    "name": "e2e-dry",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 20},
    "axes": {"batch": [4, 8]},
    "scales": {"quick": {"axes": {"batch": [4]}}, "full": {}}
  })");
  Finished f = run_to_end(sweep_argv(spec, {"--dry-run"}));
  ASSERT_EQ(f.outcome.exit_code, 0) << f.stderr_text;
  EXPECT_THAT(f.stdout_text, HasSubstr("2 runs (2 points x 1 repetitions), 0 done, 2 to run"));
  EXPECT_THAT(f.stdout_text, HasSubstr("run   batch-4__r0-"));
  EXPECT_THAT(f.stdout_text,
              HasSubstr(" run --batch=4 --dataset=synthetic-dense:256x8x2 --model=linear"));
  EXPECT_FALSE(fs::exists(results("e2e-dry")));  // a dry run writes nothing

  f = run_to_end(sweep_argv(spec, {"--scale=quick"}));
  ASSERT_EQ(f.outcome.exit_code, 0) << f.stderr_text;
  EXPECT_TRUE(fs::exists(results("e2e-dry-quick") / "index.csv"));
  f = run_to_end(sweep_argv(spec, {"--scale=quick", "--dry-run"}));
  EXPECT_THAT(f.stdout_text, HasSubstr("1 runs (1 points x 1 repetitions), 1 done, 0 to run"));
  EXPECT_THAT(f.stdout_text, HasSubstr("done  batch-4__r0-"));
}

TEST_F(SweepEndToEnd, BadSpecsAndOptionsExitTwoWithTheValidNames) {
  const std::string spec = write_spec(R"({"name": "e2e-bad", "axes": {"thread": [1, 2]}})");
  Finished f = run_to_end(sweep_argv(spec));
  EXPECT_EQ(f.outcome.exit_code, 2);
  EXPECT_THAT(f.stderr_text, HasSubstr("unknown option 'thread'; valid: "));
  EXPECT_THAT(f.stderr_text, HasSubstr("threads"));

  f = run_to_end(sweep_argv(spec, {"--scale=quick"}));
  EXPECT_EQ(f.outcome.exit_code, 2);

  f = run_to_end(sweep_argv(spec, {"--jobz=2"}));
  EXPECT_EQ(f.outcome.exit_code, 2);
  EXPECT_THAT(f.stderr_text, HasSubstr("valid: --scale"));

  f = run_to_end({PSGD_BINARY, "sweep", "--help"});
  EXPECT_EQ(f.outcome.exit_code, 0);
  EXPECT_THAT(f.stdout_text, HasSubstr("usage: psgd sweep SPEC.json"));
}

TEST_F(SweepEndToEnd, JobsRunsInParallelWithAWarning) {
  const std::string spec = write_spec(R"({
    "name": "e2e-jobs",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "updates": 20},
    "axes": {"batch": [4, 8, 16]},
    "repetitions": 2
  })");
  const Finished f = run_to_end(sweep_argv(spec, {"--jobs=3"}));
  ASSERT_EQ(f.outcome.exit_code, 0) << f.stderr_text;
  EXPECT_THAT(f.stderr_text, HasSubstr("warning: --jobs 3"));
  expect_complete_sweep(results("e2e-jobs"), expand(load_sweep_spec(spec, "")));
}

}  // namespace
}  // namespace psgd
