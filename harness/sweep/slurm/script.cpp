// harness/sweep/slurm/script.cpp — grouping pending runs into arrays, and the batch script text.
#include "harness/sweep/slurm/script.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/errors.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/scheduler.hpp"

namespace psgd {

std::size_t SlurmArray::run_count() const noexcept {
  std::size_t n = 0;
  for (const auto& t : tasks) n += t.size();
  return n;
}

int run_threads(const PlannedRun& run) {
  const std::string text = option_text(run, "threads");
  int threads = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), threads);
  if (ec != std::errc() || end != text.data() + text.size() || threads < 1) {
    throw ConfigError("run " + run.run_id + ": --threads '" + text + "' is not a positive integer");
  }
  return threads;
}

std::vector<SlurmArray> plan_arrays(const std::vector<PlannedRun>& runs,
                                    const std::vector<std::size_t>& pending,
                                    const SlurmSettings& settings) {
  // (ranks, threads) -> runs; ordered: one-process runs first, then fewest threads first.
  std::map<std::pair<int, int>, std::vector<std::size_t>> by_shape;
  for (const std::size_t i : pending) {
    by_shape[{run_ranks(runs.at(i).options), run_threads(runs.at(i))}].push_back(i);
  }
  const auto per_task = static_cast<std::size_t>(std::max(1, settings.runs_per_task));
  const auto per_array = static_cast<std::size_t>(std::max(1, settings.max_array_size));
  std::vector<SlurmArray> arrays;
  for (const auto& [shape, indexes] : by_shape) {
    const auto [ranks, threads] = shape;
    for (std::size_t first = 0; first < indexes.size(); first += per_task) {
      if (arrays.empty() || arrays.back().threads != threads || arrays.back().ranks != ranks ||
          arrays.back().tasks.size() == per_array) {
        arrays.push_back(SlurmArray{threads, {}, ranks});
      }
      const std::size_t last = std::min(indexes.size(), first + per_task);
      arrays.back().tasks.emplace_back(indexes.begin() + static_cast<std::ptrdiff_t>(first),
                                       indexes.begin() + static_cast<std::ptrdiff_t>(last));
    }
  }
  return arrays;
}

std::string tasks_file_text(const std::vector<PlannedRun>& runs, const SlurmArray& array) {
  std::string text;
  for (const auto& task : array.tasks) {
    for (std::size_t k = 0; k < task.size(); ++k) text += (k ? "," : "") + runs.at(task[k]).run_id;
    text += "\n";
  }
  return text;
}

std::string array_script(const SlurmScriptInputs& in, const SlurmArray& array) {
  const SlurmSettings& s = in.settings;
  std::string text = "#!/bin/bash\n";
  text += "# psgd sweep " + in.sweep_id + ": " + std::to_string(array.run_count()) + " run(s) in " +
          std::to_string(array.tasks.size()) + " array task(s) of at most " +
          std::to_string(s.runs_per_task) + " run(s), " + std::to_string(array.threads) +
          " CPU(s) each" +
          (array.ranks > 1 ? " per rank, " + std::to_string(array.ranks) + " ranks" : "") + ".\n";
  text +=
      "# Written by `psgd sweep --backend slurm`. Array task i runs the run ids on line i+1 of\n"
      "# the tasks file with `psgd sweep --run-id`: each run's child `psgd run`, its\n"
      "# <run-id>.json.part -> <run-id>.json commit and its crash record are a local sweep's.\n";
  auto line = [&text](const std::string& option) { text += "#SBATCH " + option + "\n"; };
  line("--job-name=" + in.job_name);
  std::string range = "0-" + std::to_string(array.tasks.size() - 1);
  // Appended piecewise: `"%" + std::to_string(..)` trips GCC 12's false -Wrestrict at -O3.
  if (s.max_running > 0) range.append("%").append(std::to_string(s.max_running));
  line("--array=" + range);
  if (array.ranks == 1) {
    line("--nodes=1");
  } else if (s.nodes > 0) {
    line("--nodes=" + std::to_string(std::min(s.nodes, array.ranks)));
  }
  line("--ntasks=" + std::to_string(array.ranks));
  line("--cpus-per-task=" + std::to_string(array.threads));
  line("--time=" + in.time_limit);
  line("--output=" + in.log_dir + "/%A_%a.out");
  if (!s.partition.empty()) line("--partition=" + s.partition);
  if (!s.account.empty()) line("--account=" + s.account);
  if (!s.mem.empty()) line("--mem=" + s.mem);
  for (const std::string& extra : s.extra) line(extra);
  text += "set -eu\n";
  text += "ids=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" " + command_line({in.tasks_file}) + ")\n";
  text += "exec " + command_line(in.task_argv) + " --run-id=\"$ids\"\n";
  return text;
}

std::string slurm_job_name(const std::string& sweep_id) { return "psgd-" + sweep_id; }

}  // namespace psgd
