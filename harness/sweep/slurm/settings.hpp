// harness/sweep/slurm/settings.hpp — what the Slurm backend asks of the cluster: partition,
// account, memory, extra #SBATCH lines, runs per array task, and the time limit derived from the
// spec's timeout_seconds. They come from the spec's `slurm` block, overridden by command-line
// options (`psgd sweep --backend slurm --slurm-partition=...`).
//
// Every value is checked here, before anything is written or submitted: a value goes into a line
// of the job script, so a newline or a stray option would change what Slurm runs.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/cli/option_table.hpp"

namespace psgd {

// Slurm's default MaxArraySize is 1001 (array indexes 0..1000); a larger plan is split into
// several arrays of at most this many tasks, each its own sbatch. Clusters that lower the limit
// need `max_array_size` in the spec's slurm block.
inline constexpr int kDefaultMaxArraySize = 1000;

// A task's own time around its runs: starting psgd from a shared file system, parsing the spec and
// planning, and the commit of each run. Two minutes, generous next to the 0.04-0.09 s a task
// spent outside its run here (`psgd sweep --run-id` wall time minus the run's run_seconds, dev
// build, 2-core VM at load 7).
inline constexpr double kTaskOverheadSeconds = 120.0;

// Plain data.
struct SlurmSettings {
  std::string partition;           // empty: the cluster's default
  std::string account;             // empty: the user's default
  std::string mem;                 // per task, sbatch --mem syntax (4G, 500M); empty: default
  std::vector<std::string> extra;  // further sbatch long options, one #SBATCH line each
  int runs_per_task = 1;           // runs one array task runs one after the other
  int max_running = 0;             // array tasks running at once (sbatch --array=...%N); 0: any
  int max_array_size = kDefaultMaxArraySize;
  // Nodes an array of runs with ranks > 1 spreads them over (sbatch --nodes=min(nodes, ranks));
  // 0: Slurm chooses. A run in one process always asks for one node.
  int nodes = 0;
};

// The command-line overrides of SlurmSettings; unset ones leave the spec's value.
struct SlurmOverrides {
  std::optional<std::string> partition;
  std::optional<std::string> account;
  std::optional<std::string> mem;
  std::vector<std::string> extra;  // appended to the spec's
  std::optional<int> runs_per_task;
  std::optional<int> max_running;

  [[nodiscard]] bool any() const noexcept {
    return partition || account || mem || !extra.empty() || runs_per_task || max_running;
  }
};

// The keys of the spec's `slurm` block.
const std::vector<std::string>& slurm_block_keys();

// The `slurm` block of a resolved spec (a scale's block replaces the spec's), checked: unknown
// keys list the valid ones; every value as the command-line option checks it. No block: defaults.
// Throws ConfigError naming the key.
SlurmSettings parse_slurm_block(const nlohmann::ordered_json& resolved_spec);

// The Slurm options of `psgd sweep` (--slurm-partition, --runs-per-task, ...), for its table.
const std::vector<Option<SlurmOverrides>>& slurm_cli_options();

// settings with the overrides applied.
SlurmSettings apply_overrides(SlurmSettings settings, const SlurmOverrides& overrides);

// The settings as recorded in sweep.json and the job records.
nlohmann::json to_json(const SlurmSettings& settings);

// sbatch --time for an array task of `runs_per_task` runs of at most timeout_seconds each: every
// run's timeout and kill grace, plus kTaskOverheadSeconds, rounded up to whole minutes (Slurm's
// unit), as D-HH:MM:SS. A run that Slurm would stop is stopped by the run's own timeout first
// and recorded as a timeout like in a local sweep.
std::string slurm_time_limit(double timeout_seconds, int runs_per_task);

// An extra #SBATCH option as given ("--qos=long", "#SBATCH --qos=long", "qos=long") in the one
// form the script writes ("--qos=long"). Throws ConfigError for a newline, a short option or an
// option the backend sets itself (--array, --cpus-per-task, --job-name, --output, --time, ...).
std::string normalize_sbatch_option(const std::string& where, const std::string& line);

}  // namespace psgd
