// harness/sweep/scheduler.hpp — runs a planned sweep: every run not yet complete in the results
// folder becomes a child `psgd run`, up to `jobs` at once, and each outcome (a crash included) is
// committed as the run's document before the index is rewritten. Also the dry-run listing of the
// same plan, and the sweep's own record (sweep.json).
//
// Not thread-safe: the sweep's one thread runs everything here, and must be the thread that lives
// as long as the sweep (children are spawned with PR_SET_PDEATHSIG; see child_process.hpp).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// What the scheduler takes from the command line besides the spec and the results folder.
struct SchedulerOptions {
  std::string spec_path;      // as given; recorded in sweep.json
  std::string psgd;           // the binary every child runs (see resolve_psgd_binary)
  int jobs = 1;               // children at once
  bool redo_crashed = false;  // a run recorded as crashed counts as not done
  std::string build_id;       // of `psgd` (build_identity.hpp); recorded in every result
  bool rerun = false;         // --rerun: every result is redone (the old one kept, superseded/)
  bool accept_other_builds = false;  // results of another build count as done
  // git_sha and git_dirty of `psgd` (build_identity.hpp: probe_git_state); sweep.json's build.
  nlohmann::json build_git = nlohmann::json::object();
};

// A run found on disk (`doc`: ResultsDir::load_complete) is done unless it comes from another
// build, --rerun or --redo-crashed asks for it to be run again (resume.hpp: Resume::kDone).
bool counts_as_done(const std::optional<nlohmann::json>& doc, const SchedulerOptions& options);

// The document a finished child leaves for `run`: the child's own document from part_path with
// the sweep block (build_id included) added, or, when the child did not exit cleanly with a
// document, the crashed record of `outcome` (with the tail of stderr_path). Reads the folder,
// writes nothing: the caller commits it to final_path (the local scheduler, and each Slurm array
// task).
nlohmann::json run_document(const SweepSpec& spec, const PlannedRun& run, const ResultsDir& dir,
                            const ChildOutcome& outcome, const std::string& build_id);

// The binary the children run: `given` (--psgd) when not empty, else this executable. Throws
// EnvironmentError when this executable cannot be found or the binary is not executable.
std::string resolve_psgd_binary(const std::string& given);

// The child's argv: `psgd run` with the run's options, its seed and `--out=out`; a run with ranks
// (or backend mpi) behind its launcher's prefix (rank_launch_prefix: mpirun -np R ..., or srun
// inside a Slurm allocation).
std::vector<std::string> child_argv(const std::string& psgd, const PlannedRun& run,
                                    const std::string& out);

// argv as one line a POSIX shell splits back into the same words (single quotes where needed).
std::string command_line(const std::vector<std::string>& argv);

// The sweep's own record: what was planned from which spec, for the plots and for people.
nlohmann::json sweep_document(const SweepSpec& spec, const SchedulerOptions& options,
                              const std::vector<PlannedRun>& runs);

// --dry-run: writes to `out` a line with the counts, then one line per run: "done" with its
// status, or "run" / "redo" (files of an interrupted run are there) with its command line.
// Reads the folder and writes nothing to it. Returns the exit code, 0.
int print_dry_run(const SweepSpec& spec, const SchedulerOptions& options,
                  const std::vector<PlannedRun>& runs, const ResultsDir& dir, std::ostream& out);

// Locks and prepares `dir`, writes sweep.json, then runs every run not complete there (in plan
// order), with progress on stderr. Returns the exit code: 0 when every run has a result,
// 128+signal when SIGINT, SIGTERM or SIGHUP stopped it (the runs in flight are killed, their
// files removed, and they are redone on restart), or 3 when the results folder cannot take a
// result (results_write_failure, or the sweep's own write fails): the sweep stops there and the
// runs without a result stay pending, never recorded as crashed. Throws EnvironmentError when
// the folder cannot be made or locked, or a child cannot be started.
int run_sweep(const SweepSpec& spec, const SchedulerOptions& options,
              const std::vector<PlannedRun>& runs, ResultsDir& dir);

}  // namespace psgd
