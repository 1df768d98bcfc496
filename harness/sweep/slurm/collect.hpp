// harness/sweep/slurm/collect.hpp — `psgd sweep SPEC --collect`: where every run of a sweep
// handed to Slurm stands, from what the array tasks wrote and what Slurm's queue says; rebuilds
// index.csv and prints counts.
//
// A run is, in this order of precedence:
//   running   its <run-id>.started marker names an array task that is still in squeue;
//   killed    its marker names a task that is gone from the queue: Slurm (or something else)
//             killed the task mid-run. The collector commits it as the run's crashed document,
//             with crash.kind "slurm" and Slurm's state and exit code (sacct, else scontrol).
//             A marker beside a document that is not a crash (or beside the document its own
//             attempt wrote) is stale and only removed: a dead attempt never replaces a result;
//   queued    a task of a recorded submission that is still in squeue lists it, and it has no
//             complete document (or a crashed one, being redone);
//   complete  its <run-id>.json is complete (any status, crashed included);
//   missing   none of these: never submitted, cancelled while pending, or a later run of a task
//             that was killed. Submitting again runs it.
//   unknown   it has a marker but squeue could not be asked (or the marker is from a --run-id
//             process outside Slurm): it may still be running, so it is neither collected nor
//             submitted again.
//
// Not thread-safe; the caller holds the folder's locks (slurm/files.hpp).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/sweep/results.hpp"
#include "harness/sweep/run_index.hpp"
#include "harness/sweep/scheduler.hpp"
#include "harness/sweep/slurm/query.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

enum class SlurmRunState { kComplete, kRunning, kKilled, kQueued, kMissing, kUnknown };

// Where a sweep's runs stand. Plain data.
struct SlurmCollection {
  std::vector<SlurmRunState> states;                 // per planned run
  std::vector<std::optional<IndexEntry>> summaries;  // per planned run: set when complete
  std::vector<std::string> task_of;                  // per planned run: running/queued task key
  std::vector<std::string> build_ids;                // per planned run: sweep.build_id, or ""
  std::vector<std::string> crashed_now;              // "<run id>: <Slurm's reason>" just recorded
  SlurmQueue queue;                                  // squeue's answer (not asked: known false)
  bool queue_asked = false;
};

// Reads the folder and asks `slurm` about the recorded jobs (squeue once, and sacct/scontrol per
// killed run). With `commit`, killed runs are committed as crashed documents (their markers and
// stderr files then removed) and stale markers of complete runs removed; without (a dry run), the
// folder is not touched and killed runs stay kKilled.
SlurmCollection collect_slurm_runs(const SweepSpec& spec, const std::vector<PlannedRun>& runs,
                                   const ResultsDir& dir, const SlurmClient& slurm, bool commit);

// The crashed document of a run whose array task ended while it ran: crashed_report()'s skeleton
// with crash {kind "slurm", slurm_state, slurm_exit_code, slurm_reason, slurm_source, exit_code,
// signal/signal_name (from Slurm's "<exit>:<signal>"), interrupted_by (the signal the task
// caught, when it caught one), detail, stderr_tail}, the marker's allocation as "slurm" and its
// context; sweep.run_seconds is null (Slurm's end time is not the run's).
nlohmann::json slurm_crash_document(const SweepSpec& spec, const PlannedRun& run,
                                    const ResultsDir& dir, const nlohmann::json& marker,
                                    const SlurmEnd& end);

// The plan indexes a submission runs: missing runs, and crashed (or killed) ones with
// --redo-crashed. Never a running, queued or unknown run.
std::vector<std::size_t> runs_to_submit(const SlurmCollection& c,
                                        const std::vector<PlannedRun>& runs,
                                        const SchedulerOptions& options);

// Counts per state and per status, then the runs recorded as crashed just now, running, queued,
// missing and unknown (a few of each by id).
void print_collection(const SlurmCollection& c, const SweepSpec& spec,
                      const std::vector<PlannedRun>& runs, std::ostream& out);

// `--collect`: locks the folder, collects with commit, rewrites index.csv, prints. Returns 0.
// Throws EnvironmentError when the folder does not exist or is locked.
int collect_sweep(const SweepSpec& spec, const std::vector<PlannedRun>& runs, ResultsDir& dir,
                  const SlurmClient& slurm, std::ostream& out);

}  // namespace psgd
