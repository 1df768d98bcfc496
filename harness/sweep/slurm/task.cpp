// harness/sweep/slurm/task.cpp — one array task: the listed runs, each committed like a local one.
#include "harness/sweep/slurm/task.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/progress.hpp"
#include "harness/sweep/resume.hpp"
#include "harness/sweep/slurm/files.hpp"
#include "harness/sweep/slurm/query.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A task waits for its child in steps of at most this long (a signal or the child's end wakes it
// at once; the step only bounds how late the timeout is enforced).
constexpr double kWaitStepSeconds = 0.5;

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

std::string text_or(const json& v) { return v.is_string() ? v.get<std::string>() : ""; }

const PlannedRun& find_run(const SweepSpec& spec, const std::vector<PlannedRun>& runs,
                           const std::string& id) {
  const auto it =
      std::find_if(runs.begin(), runs.end(), [&id](const PlannedRun& r) { return r.run_id == id; });
  if (it == runs.end()) {
    throw ConfigError("--run-id " + id + " is not a run of sweep " + spec.sweep_id() +
                      " as the spec reads now (was the spec edited after the submission?)");
  }
  return *it;
}

// Runs one run to its end or to a termination signal (returned; 0 when the run ended).
int run_one(const SweepSpec& spec, const SchedulerOptions& options, const PlannedRun& run,
            const ResultsDir& dir, const json& allocation) {
  const std::string marker = started_marker_path(dir, run.run_id);
  // Files a killed attempt at this run left (this task is now the run's only writer).
  remove_quietly(dir.part_path(run.run_id));
  // Names this attempt at the run: the collector tells a marker the document's own attempt left
  // behind (stale) from one of a later attempt that died.
  const json context = run_context();
  const std::string attempt =
      text_or(context["host"]) + ":" + std::to_string(getpid()) + ":" +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  json started = {{"run_id", run.run_id},     {"attempt", attempt}, {"slurm", allocation},
                  {"pid", getpid()},          {"context", context}, {"build_id", options.build_id},
                  {"interrupted_by", nullptr}};
  write_json(started, marker);
  ChildProcess child(child_argv(options.psgd, run, dir.part_path(run.run_id)),
                     dir.stderr_path(run.run_id), spec.timeout_seconds);
  for (;;) {
    if (const std::optional<ChildOutcome> outcome = child.poll()) {
      if (outcome->kind == ChildOutcome::Kind::kExited) {
        // A full or read-only results folder is no crash of the point: the run stays pending
        // (no marker, so --collect does not record it as crashed) and the task fails.
        const std::string why = results_write_failure(dir, run.run_id, outcome->exit_code);
        if (!why.empty()) {
          remove_quietly(dir.part_path(run.run_id));
          remove_quietly(dir.stderr_path(run.run_id));
          remove_quietly(marker);
          throw EnvironmentError("the results folder " + dir.dir() + " cannot be written (run " +
                                 run.run_id + ": " + why + "); the run stays pending");
        }
      }
      json doc = run_document(spec, run, dir, *outcome, options.build_id);
      if (!allocation.is_null()) {
        doc["slurm"] = allocation;
        doc["slurm"]["attempt"] = attempt;
      }
      write_json(doc, dir.final_path(run.run_id));  // the commit point, as in a local sweep
      remove_quietly(dir.part_path(run.run_id));
      remove_quietly(dir.stderr_path(run.run_id));
      remove_quietly(marker);
      std::cerr << "psgd sweep: " << run.run_id << ": " << doc.value("status", "") << " in "
                << SweepProgress::duration_text(outcome->seconds) << "\n";
      return 0;
    }
    const double wait = std::min(kWaitStepSeconds, child.seconds_to_deadline() + 0.001);
    if (const int sig = wait_for_child_or_signal(wait); sig != 0) {
      (void)child.kill_now();
      remove_quietly(dir.part_path(run.run_id));
      // The marker and the child's stderr stay: the collector records the crash from them.
      started["interrupted_by"] = signal_text(sig);
      write_json(started, marker);
      std::cerr << "psgd sweep: " << run.run_id << ": stopped by " << signal_text(sig)
                << "; `psgd sweep --collect` records it as crashed\n";
      return sig;
    }
  }
}

}  // namespace

std::vector<std::string> split_run_ids(const std::string& text) {
  std::vector<std::string> ids;
  std::istringstream in(text);
  for (std::string id; std::getline(in, id, ',');) {
    if (id.empty()) throw ConfigError("--run-id: empty run id in '" + text + "'");
    ids.push_back(id);
  }
  if (ids.empty()) throw ConfigError("--run-id needs one or more run ids, comma-separated");
  return ids;
}

int run_listed_runs(const SweepSpec& spec, const SchedulerOptions& options,
                    const std::vector<PlannedRun>& runs, const ResultsDir& dir,
                    const std::vector<std::string>& run_ids) {
  std::vector<const PlannedRun*> listed;
  for (const std::string& id : run_ids) listed.push_back(&find_run(spec, runs, id));
  std::error_code ec;
  fs::create_directories(dir.dir(), ec);
  if (ec) throw EnvironmentError("cannot create '" + dir.dir() + "': " + ec.message());
  const FileLock lock(dir.dir() + "/.lock", FileLock::Mode::kShared, "a local `psgd sweep`");
  const json allocation =
      slurm_allocation([](const char* name) { return std::getenv(name); }, allowed_cpus_text());
  block_sweep_signals();
  for (const PlannedRun* run : listed) {
    // A task never reruns its own result: a requeued task finds it done (--rerun moved the
    // old results at submission and is not passed on).
    SchedulerOptions task_options = options;
    task_options.rerun = false;
    const ResumeCheck check = check_resume(dir, run->run_id, task_options);
    if (check.action == Resume::kDone) {
      std::cerr << "psgd sweep: " << run->run_id << ": already complete ("
                << check.doc->value("status", "") << "), skipped\n";
      continue;
    }
    const std::string moved = move_aside(dir, run->run_id, check);
    if (!moved.empty())
      std::cerr << "psgd sweep: " << move_aside_note(run->run_id, check, moved) << "\n";
    if (const int sig = run_one(spec, options, *run, dir, allocation); sig != 0) return 128 + sig;
  }
  return 0;
}

}  // namespace psgd
