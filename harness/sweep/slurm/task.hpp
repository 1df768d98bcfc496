// harness/sweep/slurm/task.hpp — `psgd sweep SPEC --run-id=ID[,ID...]`: run exactly the listed
// planned runs in this process, one after the other. This is what a Slurm array task executes,
// and it works the same outside Slurm.
//
// Each run is a local sweep's run: the child `psgd run --out=<run-id>.json.part`, the same
// timeout, the same document (run_document) committed by renaming it to <run-id>.json. Beside
// it: a <run-id>.started marker while the run is in flight (see slurm/files.hpp), and, inside a
// Slurm allocation, a "slurm" block in the document with the allocation (slurm_allocation()).
//
// Other tasks write the same folder at the same time, on other nodes: a task touches only the
// files of its own runs, never index.csv (`psgd sweep --collect` rebuilds it), and holds the
// folder's lock shared.
//
// Not thread-safe: the calling thread must live as long as the runs (see child_process.hpp).
#pragma once

#include <string>
#include <vector>

#include "harness/sweep/results.hpp"
#include "harness/sweep/scheduler.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// Splits "a,b,c" into run ids. Throws ConfigError for an empty list or an empty id.
std::vector<std::string> split_run_ids(const std::string& text);

// Runs the planned runs with these ids, in the order given. A run already complete (counts_as_done)
// is skipped. Returns 0 when every listed run has a result, or 128+signal when SIGTERM, SIGINT or
// SIGHUP (Slurm's scancel, time limit, preemption) stopped it: the run in flight is killed, its
// partial document removed, its marker kept (noting the signal) for the collector. Throws
// ConfigError for an id that is not in the plan (the spec changed since the submission), and
// EnvironmentError when the folder is held by a local sweep or a child cannot be started.
int run_listed_runs(const SweepSpec& spec, const SchedulerOptions& options,
                    const std::vector<PlannedRun>& runs, const ResultsDir& dir,
                    const std::vector<std::string>& run_ids);

}  // namespace psgd
