// harness/sweep/slurm/query.hpp — the Slurm commands the backend runs (sbatch, squeue, sacct,
// scontrol), what it reads from their output, and the allocation a task records from SLURM_*.
//
// The collector and the submitter reach Slurm only through a SlurmClient, a struct of functions,
// so that their bookkeeping can be tested without a cluster; system_slurm() is the real one. The
// parsers are pure functions over the commands' text.
//
// Not thread-safe: the sweep's one thread runs the commands (each a child process with a timeout).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace psgd {

// A command's end and what it printed.
struct CommandResult {
  int exit_code = -1;  // -1: not started, killed by a signal, or timed out
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH) with a timeout; never throws for a failing command (its
// exit code and stderr say why; a missing program is exit 127). Throws EnvironmentError only when
// no process can be started at all.
CommandResult run_command(const std::vector<std::string>& argv, double timeout_seconds);

// An array task still in Slurm's queue: key "<array job id>_<task id>".
struct SlurmQueuedTask {
  std::string state;   // PENDING, RUNNING, COMPLETING, CONFIGURING, SUSPENDED, ...
  std::string reason;  // squeue's %r (why it waits), "None" when running
};

// What squeue said about the jobs of one name.
struct SlurmQueue {
  bool known = false;  // false: squeue failed (error says why), so nothing is known
  std::string error;
  std::map<std::string, SlurmQueuedTask> tasks;
};

// How an array task ended, as Slurm tells it.
struct SlurmEnd {
  std::string state;      // e.g. "CANCELLED by 0", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"
  std::string exit_code;  // "<exit>:<signal>", e.g. "0:15"; empty when unknown
  std::string reason;     // scontrol's Reason, when it gives one other than None
  std::string source;     // "sacct", "scontrol", or "none" (Slurm no longer knows the job)
};

// The Slurm the backend talks to.
struct SlurmClient {
  std::function<SlurmQueue(const std::string& job_name)> queue;
  std::function<SlurmEnd(const std::string& task_key)> end_of;
  // Submits a batch script; returns the job id. Throws EnvironmentError with sbatch's message.
  std::function<std::string(const std::string& script_path)> submit;
};

// sbatch, squeue, sacct and scontrol from PATH.
SlurmClient system_slurm();

// ---- parsers -----------------------------------------------------------------------------
// `squeue -h -r -o '%i|%T|%r'`: one line per array task.
std::map<std::string, SlurmQueuedTask> parse_squeue(const std::string& text);
// `sacct -n -P -X -o State,ExitCode`: the first line, or nullopt when there is none.
std::optional<SlurmEnd> parse_sacct(const std::string& text);
// `scontrol show job ID`: JobState, Reason and ExitCode, or nullopt without a JobState.
std::optional<SlurmEnd> parse_scontrol_job(const std::string& text);
// `sbatch --parsable`: "<job id>" or "<job id>;<cluster>". Throws EnvironmentError otherwise.
std::string parse_sbatch_job_id(const std::string& text);

// ---- the allocation a task runs in ---------------------------------------------------------
// The task's allocation from its SLURM_* variables (lookup returns nullptr for an unset one):
// job_id, array_job_id, array_task_id, task_key ("<array job>_<task>", or the job id outside
// an array), node, cpus_per_task, cpus_on_node, partition, account, cluster, and cpus_allowed
// (the CPUs the task may run on, e.g. "0-3", when known). Null when SLURM_JOB_ID is unset.
nlohmann::json slurm_allocation(const std::function<const char*(const char*)>& lookup,
                                const std::string& cpus_allowed);

// This process's allowed CPUs (sched_getaffinity) as a list like "0-3,8".
std::string allowed_cpus_text();

}  // namespace psgd
