// harness/sweep/rank_launch.cpp — the ranks key's values and the mpirun / srun line of a point.
#include "harness/sweep/rank_launch.hpp"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <sstream>

#include "common/errors.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

// An option's text in a point, or `fallback` when unset.
std::string option_or(const OptionMap& options, const std::string& name,
                      const std::string& fallback) {
  const auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

// Threads per rank. The plan has checked the value, so the parse cannot fail for a planned run.
int threads_per_rank(const OptionMap& options) {
  const std::string text = option_or(options, "threads", std::to_string(RunConfig{}.threads));
  return static_cast<int>(parse_int_option("threads", text, 1, std::numeric_limits<int>::max()));
}

}  // namespace

std::string ranks_value_text(const std::string& where, const nlohmann::ordered_json& v) {
  const std::string want = "'ranks' must be an integer from 1 to " + std::to_string(kMaxRanks) +
                           " (the MPI processes of the run), got " + v.dump();
  std::string text;
  if (v.is_number_integer()) {
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    throw ConfigError(where + ": " + want);
  }
  try {
    return std::to_string(parse_int_option(kRanksKey, text, 1, kMaxRanks));
  } catch (const ConfigError&) {
    throw ConfigError(where + ": " + want);
  }
}

int run_ranks(const OptionMap& options) {
  const auto it = options.find(kRanksKey);
  if (it == options.end()) return 1;
  return static_cast<int>(parse_int_option(kRanksKey, it->second, 1, kMaxRanks));
}

bool launched_as_ranks(const OptionMap& options) {
  return run_ranks(options) > 1 || option_or(options, "backend", "local") == "mpi";
}

RankLauncher rank_launcher_here() {
  const char* job = std::getenv("SLURM_JOB_ID");  // NOLINT(concurrency-mt-unsafe): no setenv here
  return job != nullptr && *job != '\0' ? RankLauncher::kSrun : RankLauncher::kMpirun;
}

LaunchHost launch_host_here() {
  LaunchHost host;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) host.cpus = CPU_COUNT(&set);
  if (host.cpus < 1) host.cpus = 1;
  host.root = geteuid() == 0;
  return host;
}

std::string rank_launcher_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): no setenv here
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool oversubscribes(const OptionMap& options, const LaunchHost& host) {
  return static_cast<long long>(run_ranks(options)) * threads_per_rank(options) > host.cpus;
}

std::vector<std::string> rank_launch_prefix(const OptionMap& options, RankLauncher launcher,
                                            const LaunchHost& host) {
  if (!launched_as_ranks(options)) return {};
  const std::string ranks = std::to_string(run_ranks(options));
  const std::string threads = std::to_string(threads_per_rank(options));
  if (launcher == RankLauncher::kSrun) {
    // --kill-on-bad-exit: a rank that dies ends the step at once, not at the time limit.
    // --cpus-per-task explicitly: srun no longer inherits sbatch's (Slurm 22.05 and later).
    return {"srun", "--kill-on-bad-exit=1", "--ntasks=" + ranks, "--cpus-per-task=" + threads};
  }
  std::vector<std::string> argv = {"mpirun"};
  if (host.root) argv.emplace_back("--allow-run-as-root");
  argv.insert(argv.end(), {"-np", ranks});
  if (oversubscribes(options, host)) {
    // More workers than CPUs: binding would stack ranks on the first CPUs; unbound, the kernel
    // spreads them, and every rank's placement sees all CPUs.
    argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  } else {
    // Each rank gets T CPUs of its own (hardware threads, counted as this sweep counts them),
    // and the run's placement pins its threads inside that rank's mask.
    argv.insert(argv.end(),
                {"--use-hwthread-cpus", "--map-by", "slot:PE=" + threads, "--bind-to", "hwthread"});
  }
  return argv;
}

}  // namespace psgd
