// harness/sweep/slurm/submit.hpp — `psgd sweep SPEC --backend slurm`: hand the runs still to do
// to Slurm as job arrays (one sbatch per thread count, see slurm/script.hpp), and print the job
// ids. Runs complete in the folder are skipped exactly as a local sweep skips them; runs queued or
// running under an earlier submission are never submitted twice; tasks killed since the last
// collection are first recorded as crashed (slurm/collect.hpp), and run again with --redo-crashed.
//
// Not thread-safe; one submitter per folder (it holds the folder's locks, slurm/files.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "harness/sweep/results.hpp"
#include "harness/sweep/scheduler.hpp"
#include "harness/sweep/slurm/query.hpp"
#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

struct SlurmSubmission {
  SlurmSettings settings;
  // `psgd sweep SPEC --results-dir=... [--scale, --timeout, --psgd, --redo-crashed]` with absolute
  // paths: what every array task runs, followed by --run-id=<its runs>.
  std::vector<std::string> task_argv;
};

// Submits (or, with dry_run, prints the scripts it would submit, touching nothing). Prints to
// `out` the state of the sweep, then per array its job id (or its script). Returns 0. Throws
// ConfigError for a results path Slurm's #SBATCH lines cannot carry (spaces, quotes), and
// EnvironmentError when the folder is locked, squeue cannot say what is already queued, or sbatch
// fails (arrays submitted before the failure stay recorded and are not submitted again).
int submit_sweep(const SweepSpec& spec, const SchedulerOptions& options,
                 const SlurmSubmission& submission, const std::vector<PlannedRun>& runs,
                 ResultsDir& dir, const SlurmClient& slurm, bool dry_run, std::ostream& out);

}  // namespace psgd
