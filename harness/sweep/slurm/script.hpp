// harness/sweep/slurm/script.hpp — the job arrays of a Slurm submission and their batch scripts.
//
// The runs still to do are grouped by ranks and thread count (every task of one array asks for
// the same --ntasks and --cpus-per-task, and a run gets a task per rank and a CPU per thread), cut
// into array tasks of runs_per_task runs, and each group into arrays of at most max_array_size
// tasks. Array task i reads line i+1 of the array's tasks file (the comma-separated run ids of that
// task) and runs them with `psgd sweep SPEC --run-id=IDS`: the same child `psgd run`, files, commit
// and crash records as a local sweep. Pure functions: nothing here touches the file system or
// Slurm.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// One sbatch: tasks of the same ranks and thread count, each a list of indexes into the plan.
struct SlurmArray {
  int threads = 1;                              // --cpus-per-task
  std::vector<std::vector<std::size_t>> tasks;  // run indexes per array task, in plan order
  int ranks = 1;                                // --ntasks: MPI ranks of each run (srun -n)

  [[nodiscard]] std::size_t run_count() const noexcept;
};

// The run's --threads (its option text, else the option's default). Throws ConfigError when it is
// not a positive integer (cannot happen for a validated plan).
int run_threads(const PlannedRun& run);

// The arrays for the plan indexes in `pending` (in plan order), by ascending ranks, then thread
// count.
std::vector<SlurmArray> plan_arrays(const std::vector<PlannedRun>& runs,
                                    const std::vector<std::size_t>& pending,
                                    const SlurmSettings& settings);

// The tasks file of an array: line i holds the run ids of array task i, comma-separated.
std::string tasks_file_text(const std::vector<PlannedRun>& runs, const SlurmArray& array);

// What the batch script of one array is made of.
struct SlurmScriptInputs {
  std::string sweep_id;
  std::string job_name;  // every array of a sweep shares it: `squeue --name` finds them
  SlurmSettings settings;
  std::string time_limit;  // slurm_time_limit()
  std::string tasks_file;  // absolute
  std::string log_dir;     // absolute; Slurm writes each task's output to <log_dir>/%A_%a.out
  std::vector<std::string> task_argv;  // `psgd sweep SPEC ...` without --run-id, absolute paths
};

// The batch script (bash) of `array`: #SBATCH lines (job name, array range with the optional
// %max_running throttle, one node and one task, or for ranks R > 1 --ntasks=R and the spec's
// nodes (at most R), --cpus-per-task, --time, partition, account, mem, output, the extra lines),
// then the one line that runs the task's runs (each run's ranks then start with srun inside the
// allocation: harness/sweep/rank_launch.hpp).
std::string array_script(const SlurmScriptInputs& in, const SlurmArray& array);

// The job name of a sweep: "psgd-<sweep id>".
std::string slurm_job_name(const std::string& sweep_id);

}  // namespace psgd
