// The Slurm backend without a cluster: the spec's slurm block and its options, the time limit,
// the grouping of runs into arrays and the batch script, the parsers of Slurm's commands, the
// allocation a task records, and the collector's bookkeeping against a stand-in SlurmClient
// (running, queued, killed -> crashed with Slurm's reason, stale markers, missing, unknown).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/errors.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/slurm/collect.hpp"
#include "harness/sweep/slurm/files.hpp"
#include "harness/sweep/slurm/query.hpp"
#include "harness/sweep/slurm/script.hpp"
#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/slurm/task.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no ConfigError)";
}

TEST(SlurmSettings, SpecBlockIsReadAndCheckedKeyByKey) {
  const SlurmSettings s = parse_slurm_block(ordered_json::parse(R"({"slurm": {
      "partition": "short", "account": "proj42", "mem": "4G", "extra": ["--qos=long",
      "#SBATCH --constraint=avx2", "exclusive"], "runs_per_task": 3, "max_running": 50}})"));
  EXPECT_EQ(s.partition, "short");
  EXPECT_EQ(s.account, "proj42");
  EXPECT_EQ(s.mem, "4G");
  EXPECT_THAT(s.extra, ElementsAre("--qos=long", "--constraint=avx2", "--exclusive"));
  EXPECT_EQ(s.runs_per_task, 3);
  EXPECT_EQ(s.max_running, 50);
  EXPECT_EQ(s.max_array_size, kDefaultMaxArraySize);
  EXPECT_EQ(parse_slurm_block(ordered_json::parse(R"({"name": "x"})")).runs_per_task, 1);

  auto error_of = [](const char* block) {
    return config_error([&] { parse_slurm_block(ordered_json::parse(block)); });
  };
  EXPECT_THAT(error_of(R"({"slurm": {"partiton": "a"}})"),
              HasSubstr("slurm: unknown key 'partiton'; valid: partition, account, mem"));
  EXPECT_THAT(error_of(R"({"slurm": {"partition": "a b"}})"), HasSubstr("slurm.partition"));
  EXPECT_THAT(error_of(R"({"slurm": {"mem": "4 GB"}})"), HasSubstr("slurm.mem"));
  EXPECT_THAT(error_of(R"({"slurm": {"mem": "0"}})"), HasSubstr("slurm.mem"));
  EXPECT_THAT(error_of(R"({"slurm": {"runs_per_task": 0}})"), HasSubstr("slurm.runs_per_task"));
  EXPECT_THAT(error_of(R"({"slurm": {"runs_per_task": 1.5}})"), HasSubstr("slurm.runs_per_task"));
  EXPECT_THAT(error_of(R"({"slurm": {"extra": ["--time=10"]}})"), HasSubstr("--time is set by"));
  EXPECT_THAT(error_of(R"({"slurm": {"extra": ["--array=0-3"]}})"), HasSubstr("--array"));
  EXPECT_THAT(error_of(R"({"slurm": {"extra": ["-p short"]}})"), HasSubstr("long option"));
  EXPECT_THAT(error_of(R"({"slurm": {"extra": ["--qos=a\n#SBATCH --time=1"]}})"),
              HasSubstr("no newline"));
  EXPECT_THAT(error_of(R"({"slurm": []})"), HasSubstr("slurm must be a JSON object"));
}

TEST(SlurmSettings, TheSpecAcceptsASlurmBlockAndScalesReplaceIt) {
  const SweepSpec spec = parse_sweep_spec(ordered_json::parse(R"({"name": "s",
      "slurm": {"partition": "short"},
      "scales": {"full": {"slurm": {"partition": "long", "runs_per_task": 2}}}})"),
                                          "full");
  const SlurmSettings s = parse_slurm_block(spec.resolved);
  EXPECT_EQ(s.partition, "long");
  EXPECT_EQ(s.runs_per_task, 2);
}

TEST(SlurmSettings, CommandLineOverridesTheBlock) {
  SlurmOverrides o;
  for (const Option<SlurmOverrides>& opt : slurm_cli_options()) {
    if (opt.name == "slurm-partition") opt.set(o, "gpu");
    if (opt.name == "slurm-extra") opt.set(o, "--qos=debug");
    if (opt.name == "runs-per-task") opt.set(o, "4");
  }
  EXPECT_TRUE(o.any());
  SlurmSettings base;
  base.partition = "short";
  base.account = "proj";
  base.extra = {"--constraint=avx2"};
  const SlurmSettings s = apply_overrides(base, o);
  EXPECT_EQ(s.partition, "gpu");
  EXPECT_EQ(s.account, "proj");
  EXPECT_THAT(s.extra, ElementsAre("--constraint=avx2", "--qos=debug"));
  EXPECT_EQ(s.runs_per_task, 4);
  for (const Option<SlurmOverrides>& opt : slurm_cli_options()) {
    if (opt.name == "runs-per-task") {
      EXPECT_THAT(config_error([&] { opt.set(o, "0"); }), HasSubstr("--runs-per-task"));
    }
    if (opt.name == "slurm-mem") {
      EXPECT_THAT(config_error([&] { opt.set(o, "lots"); }), HasSubstr("--slurm-mem"));
    }
  }
}

TEST(SlurmSettings, TimeLimitCoversEveryRunsTimeoutGraceAndTheTaskInWholeMinutes) {
  // (1800 + 5) + 120 = 1925 s -> 33 minutes.
  EXPECT_EQ(slurm_time_limit(1800, 1), "0-00:33:00");
  // 3 x (60 + 5) + 120 = 315 s -> 6 minutes.
  EXPECT_EQ(slurm_time_limit(60, 3), "0-00:06:00");
  // 10 x (86400 + 5) + 120 = 864170 s -> 14403 minutes = 10 days 0 h 3 min.
  EXPECT_EQ(slurm_time_limit(86400, 10), "10-00:03:00");
  // The longest timeout accepted, for the most runs a sweep may plan in one task, still gives a
  // well-formed D-HH:MM:SS (a 1e300 timeout once wrote "-6405119470038038--18:-8:00").
  const std::string longest = slurm_time_limit(kMaxTimeoutSeconds, 100'000);
  EXPECT_EQ(longest.find('-'), longest.rfind('-')) << longest;
  EXPECT_NE(longest.find('-'), 0U) << longest;
  EXPECT_EQ(longest.substr(longest.size() - 3), ":00") << longest;
}

std::vector<PlannedRun> plan_of(const char* spec_text) {
  return expand(parse_sweep_spec(ordered_json::parse(spec_text), ""));
}

constexpr const char* kGridSpec = R"({"name": "grid",
  "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "updates": 10,
           "placement": "none"},
  "axes": {"threads": [1, 2], "batch": [4, 8, 16]}, "repetitions": 2})";

TEST(SlurmScript, RunsAreGroupedByThreadsCutIntoTasksAndArraysInPlanOrder) {
  const std::vector<PlannedRun> runs = plan_of(kGridSpec);
  ASSERT_EQ(runs.size(), 12u);
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < runs.size(); ++i) pending.push_back(i);
  SlurmSettings s;
  s.runs_per_task = 2;
  s.max_array_size = 2;
  const std::vector<SlurmArray> arrays = plan_arrays(runs, pending, s);
  // 6 runs of 1 thread -> 3 tasks of 2 -> arrays of 2 and 1 tasks; the same for 2 threads.
  ASSERT_EQ(arrays.size(), 4u);
  EXPECT_EQ(arrays[0].threads, 1);
  EXPECT_EQ(arrays[0].tasks.size(), 2u);
  EXPECT_EQ(arrays[1].tasks.size(), 1u);
  EXPECT_EQ(arrays[2].threads, 2);
  std::size_t total = 0;
  std::map<int, std::size_t> next;  // per thread count: runs come in plan order
  for (const SlurmArray& a : arrays) {
    total += a.run_count();
    for (const auto& task : a.tasks) {
      EXPECT_LE(task.size(), 2u);
      for (const std::size_t i : task) {
        EXPECT_EQ(run_threads(runs[i]), a.threads);
        EXPECT_GE(i, next[a.threads]);
        next[a.threads] = i + 1;
      }
    }
  }
  EXPECT_EQ(total, runs.size());
  const std::string tasks = tasks_file_text(runs, arrays[0]);
  EXPECT_EQ(std::count(tasks.begin(), tasks.end(), '\n'), 2);
  EXPECT_THAT(tasks, HasSubstr(runs[arrays[0].tasks[0][0]].run_id + "," +
                               runs[arrays[0].tasks[0][1]].run_id + "\n"));
}

TEST(SlurmScript, ScriptAsksForTheRunsCpusAndRunsItsLineOfTheTasksFile) {
  const std::vector<PlannedRun> runs = plan_of(kGridSpec);
  SlurmArray array{2, {{1}, {3}, {5}}};
  SlurmScriptInputs in;
  in.sweep_id = "grid";
  in.job_name = slurm_job_name("grid");
  in.settings.partition = "short";
  in.settings.mem = "2G";
  in.settings.extra = {"--qos=long"};
  in.settings.max_running = 2;
  in.time_limit = "0-00:33:00";
  in.tasks_file = "/r/grid/slurm/x-0.tasks";
  in.log_dir = "/r/grid/slurm";
  in.task_argv = {"/bin/psgd", "sweep", "/s/spec file.json", "--results-dir=/r"};
  const std::string script = array_script(in, array);
  EXPECT_EQ(script.rfind("#!/bin/bash\n", 0), 0u);
  for (const char* line :
       {"#SBATCH --job-name=psgd-grid\n", "#SBATCH --array=0-2%2\n", "#SBATCH --nodes=1\n",
        "#SBATCH --ntasks=1\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --time=0-00:33:00\n",
        "#SBATCH --output=/r/grid/slurm/%A_%a.out\n", "#SBATCH --partition=short\n",
        "#SBATCH --mem=2G\n", "#SBATCH --qos=long\n",
        "ids=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" /r/grid/slurm/x-0.tasks)\n",
        "exec /bin/psgd sweep '/s/spec file.json' --results-dir=/r --run-id=\"$ids\"\n"}) {
    EXPECT_THAT(script, HasSubstr(line));
  }
  EXPECT_THAT(script, Not(HasSubstr("--account")));
  // Every #SBATCH line comes before the first command: sbatch stops reading them there.
  EXPECT_LT(script.rfind("#SBATCH"), script.find("set -eu"));
}

TEST(SlurmQuery, ParsersReadWhatSlurmsCommandsPrint) {
  const auto q = parse_squeue("12_0|RUNNING|None\n12_1|PENDING|Resources\n\n13|PENDING|Priority\n");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q.at("12_0").state, "RUNNING");
  EXPECT_EQ(q.at("12_1").reason, "Resources");
  EXPECT_TRUE(q.contains("13"));

  const auto acct = parse_sacct("CANCELLED by 0|0:15\n");
  ASSERT_TRUE(acct);
  EXPECT_EQ(acct->state, "CANCELLED by 0");
  EXPECT_EQ(acct->exit_code, "0:15");
  EXPECT_EQ(acct->source, "sacct");
  EXPECT_FALSE(parse_sacct("\n"));

  const auto ctl = parse_scontrol_job(
      "JobId=6 ArrayJobId=5 ArrayTaskId=0 JobName=x\n   JobState=TIMEOUT Reason=TimeLimit "
      "Dependency=(null)\n   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15\n");
  ASSERT_TRUE(ctl);
  EXPECT_EQ(ctl->state, "TIMEOUT");
  EXPECT_EQ(ctl->reason, "TimeLimit");
  EXPECT_EQ(ctl->exit_code, "0:15");
  EXPECT_FALSE(parse_scontrol_job("slurm_load_jobs error: Invalid job id specified\n"));

  EXPECT_EQ(parse_sbatch_job_id("4242\n"), "4242");
  EXPECT_EQ(parse_sbatch_job_id("4242;cluster1\n"), "4242");
  EXPECT_THROW(parse_sbatch_job_id("sbatch: error: Batch job submission failed"), EnvironmentError);
}

TEST(SlurmQuery, AllocationComesFromTheTasksSlurmVariables) {
  const std::map<std::string, std::string> env = {
      {"SLURM_JOB_ID", "57"},          {"SLURM_ARRAY_JOB_ID", "50"}, {"SLURM_ARRAY_TASK_ID", "7"},
      {"SLURMD_NODENAME", "node03"},   {"SLURM_CPUS_PER_TASK", "4"}, {"SLURM_CPUS_ON_NODE", "4"},
      {"SLURM_JOB_PARTITION", "short"}};
  auto lookup = [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  const json a = slurm_allocation(lookup, "0-3");
  EXPECT_EQ(a["job_id"], 57);
  EXPECT_EQ(a["array_job_id"], 50);
  EXPECT_EQ(a["array_task_id"], 7);
  EXPECT_EQ(a["task_key"], "50_7");
  EXPECT_EQ(a["node"], "node03");
  EXPECT_EQ(a["cpus_per_task"], 4);
  EXPECT_EQ(a["partition"], "short");
  EXPECT_TRUE(a["account"].is_null());
  EXPECT_EQ(a["cpus_allowed"], "0-3");
  EXPECT_TRUE(slurm_allocation([](const char*) -> const char* { return nullptr; }, "").is_null());
  EXPECT_FALSE(allowed_cpus_text().empty());
  EXPECT_THAT(split_run_ids("a,b"), ElementsAre("a", "b"));
  EXPECT_THROW(split_run_ids("a,,b"), ConfigError);
  EXPECT_THROW(split_run_ids(""), ConfigError);
}

}  // namespace
}  // namespace psgd
