// harness/sweep/slurm/query.cpp — running Slurm's commands and reading what they print.
#include "harness/sweep/slurm/query.hpp"

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/errors.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Slurm's commands answer in well under a second on a healthy controller; its own client
// timeout (MessageTimeout) is 10 s with retries, so a controller that does not answer in a minute
// is down, and the sweep says so instead of waiting on.
constexpr double kCommandTimeoutSeconds = 60.0;
// How often a running command is polled: commands take tens of milliseconds.
constexpr auto kPollInterval = std::chrono::milliseconds(5);

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string read_all(const std::string& path) { return read_tail(path, 1 << 20); }

std::string trim(std::string s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

SlurmQueue query_queue(const std::string& job_name) {
  SlurmQueue q;
  const CommandResult r = run_command(
      {"squeue", "-h", "-r", "--name=" + job_name, "-o", "%i|%T|%r"}, kCommandTimeoutSeconds);
  if (r.exit_code != 0) {
    q.error = "squeue failed (exit " + std::to_string(r.exit_code) + "): " + trim(r.err);
    return q;
  }
  q.known = true;
  q.tasks = parse_squeue(r.out);
  return q;
}

SlurmEnd query_end(const std::string& task_key) {
  const CommandResult acct = run_command(
      {"sacct", "-n", "-P", "-X", "-j", task_key, "-o", "State,ExitCode"}, kCommandTimeoutSeconds);
  if (acct.exit_code == 0) {
    if (std::optional<SlurmEnd> e = parse_sacct(acct.out)) return *e;
  }
  // Without accounting storage (sacct: "accounting storage is disabled") the controller still
  // knows a job for MinJobAge seconds (300 by default) after it ended.
  const CommandResult ctl =
      run_command({"scontrol", "show", "job", task_key}, kCommandTimeoutSeconds);
  if (ctl.exit_code == 0) {
    if (std::optional<SlurmEnd> e = parse_scontrol_job(ctl.out)) return *e;
  }
  return SlurmEnd{"unknown", "", "", "none"};
}

std::string submit_script(const std::string& script_path) {
  const CommandResult r =
      run_command({"sbatch", "--parsable", script_path}, kCommandTimeoutSeconds);
  if (r.exit_code != 0) {
    throw EnvironmentError("sbatch " + script_path + " failed (exit " +
                           std::to_string(r.exit_code) + "): " + trim(r.err + " " + r.out));
  }
  return parse_sbatch_job_id(r.out);
}

// The value of KEY= in scontrol's "Key=Value Key=Value" text, or "".
std::string scontrol_field(const std::string& text, const std::string& key) {
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    if (w.rfind(key + "=", 0) == 0) return w.substr(key.size() + 1);
  }
  return "";
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, double timeout_seconds) {
  CommandResult result;
  std::vector<std::string> resolved = argv;
  resolved.at(0) = find_in_path(argv.at(0));
  if (resolved[0].empty()) {
    result.exit_code = 127;
    result.err = argv[0] + ": not found in PATH (is Slurm installed on this machine?)";
    return result;
  }
  static std::atomic<unsigned> counter{0};
  // relaxed: the counter only makes the file names of concurrent calls differ.
  const std::string stem = (fs::temp_directory_path() /
                            ("psgd-slurm-" + std::to_string(getpid()) + "-" +
                             std::to_string(counter.fetch_add(1, std::memory_order_relaxed))))
                               .string();
  const std::string out_path = stem + ".out";
  const std::string err_path = stem + ".err";
  {
    ChildProcess child(resolved, err_path, timeout_seconds, out_path);
    for (;;) {
      if (const std::optional<ChildOutcome> o = child.poll()) {
        if (o->kind == ChildOutcome::Kind::kExited) result.exit_code = o->exit_code;
        break;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }
  result.out = read_all(out_path);
  result.err = read_all(err_path);
  std::error_code ec;
  fs::remove(out_path, ec);
  fs::remove(err_path, ec);
  return result;
}

SlurmClient system_slurm() { return SlurmClient{query_queue, query_end, submit_script}; }

std::map<std::string, SlurmQueuedTask> parse_squeue(const std::string& text) {
  std::map<std::string, SlurmQueuedTask> tasks;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = trim(line);
    const std::size_t a = line.find('|');
    if (line.empty() || a == std::string::npos) continue;
    const std::size_t b = line.find('|', a + 1);
    SlurmQueuedTask t;
    t.state = line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) t.reason = line.substr(b + 1);
    tasks[line.substr(0, a)] = t;
  }
  return tasks;
}

std::optional<SlurmEnd> parse_sacct(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = trim(line);
    const std::size_t bar = line.find('|');
    if (line.empty() || bar == std::string::npos || bar == 0) continue;
    return SlurmEnd{line.substr(0, bar), line.substr(bar + 1), "", "sacct"};
  }
  return std::nullopt;
}

std::optional<SlurmEnd> parse_scontrol_job(const std::string& text) {
  const std::string state = scontrol_field(text, "JobState");
  if (state.empty()) return std::nullopt;
  std::string reason = scontrol_field(text, "Reason");
  if (reason == "None") reason.clear();
  return SlurmEnd{state, scontrol_field(text, "ExitCode"), reason, "scontrol"};
}

std::string parse_sbatch_job_id(const std::string& text) {
  const std::string t = trim(text);
  const std::string id = t.substr(0, t.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw EnvironmentError("sbatch printed no job id: '" + t + "'");
  }
  return id;
}

json slurm_allocation(const std::function<const char*(const char*)>& lookup,
                      const std::string& cpus_allowed) {
  const char* job = lookup("SLURM_JOB_ID");
  if (job == nullptr) return json(nullptr);
  // Numbers as numbers when they are (the allocation's CPU counts), text otherwise.
  auto value = [&lookup](const char* name) -> json {
    const char* v = lookup(name);
    if (v == nullptr) return json(nullptr);
    const std::string s = v;
    long n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size()) return json(n);
    return json(s);
  };
  json a;
  a["job_id"] = value("SLURM_JOB_ID");
  a["array_job_id"] = value("SLURM_ARRAY_JOB_ID");
  a["array_task_id"] = value("SLURM_ARRAY_TASK_ID");
  const char* array_job = lookup("SLURM_ARRAY_JOB_ID");
  const char* array_task = lookup("SLURM_ARRAY_TASK_ID");
  a["task_key"] = array_job != nullptr && array_task != nullptr
                      ? std::string(array_job) + "_" + array_task
                      : std::string(job);
  a["node"] = value("SLURMD_NODENAME");
  a["cpus_per_task"] = value("SLURM_CPUS_PER_TASK");
  a["cpus_on_node"] = value("SLURM_CPUS_ON_NODE");
  a["partition"] = value("SLURM_JOB_PARTITION");
  a["account"] = value("SLURM_JOB_ACCOUNT");
  a["cluster"] = value("SLURM_CLUSTER_NAME");
  a["cpus_allowed"] = cpus_allowed.empty() ? json(nullptr) : json(cpus_allowed);
  return a;
}

std::string allowed_cpus_text() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "";
  std::string text;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    // Appended piecewise: `"," + std::to_string(..)` trips GCC 12's false -Wrestrict at -O3.
    if (!text.empty()) text += ',';
    text += std::to_string(cpu);
    if (last > cpu) text.append("-").append(std::to_string(last));
    cpu = last;
  }
  return text;
}

}  // namespace psgd
