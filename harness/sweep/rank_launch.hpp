// harness/sweep/rank_launch.hpp — the `ranks` key of a sweep spec and how a point with ranks is
// launched: `psgd run --backend mpi` under `mpirun -np R` here, or `srun` inside a Slurm
// allocation (issue #22, item 4).
//
// `ranks` is no `psgd run` option: the launcher, not the run, decides how many processes there
// are. A spec sets it like an option (in base, as an axis, in a bundle or an exclude rule), the
// plan carries it in a point's options (so it is part of the run id's hash and of resume's
// identity), and the child's command line gets it as the launcher's process count instead.
// A point is launched across processes when it has ranks > 1 or backend mpi; ranks > 1 without a
// backend sets backend mpi. Pure functions apart from reading the machine's CPU count and uid.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/sweep/spec.hpp"

namespace psgd {

// The spec key, and its default: one process.
inline constexpr const char* kRanksKey = "ranks";
// The most ranks a point may ask for: far above the hundreds of processes a study of these
// methods uses, and low enough that a typo (1e6) is refused before mpirun tries to start it.
inline constexpr int kMaxRanks = 4096;

// The text of a ranks value from the spec (an integer 1..kMaxRanks, as a number or a string).
// Throws ConfigError "<where>: 'ranks' must be an integer from 1 to 4096 ..., got X".
std::string ranks_value_text(const std::string& where, const nlohmann::ordered_json& v);

// A point's ranks (1 when its options do not set them).
int run_ranks(const OptionMap& options);

// True when the run is launched as MPI ranks: ranks > 1 or --backend mpi.
bool launched_as_ranks(const OptionMap& options);

// What starts the ranks of a run: mpirun on this host, srun inside a Slurm allocation.
enum class RankLauncher { kMpirun, kSrun };

// kSrun when this process runs inside a Slurm job (SLURM_JOB_ID is set, as in an array task of
// `--backend slurm`), else kMpirun.
RankLauncher rank_launcher_here();

// The machine facts the mpirun line depends on.
struct LaunchHost {
  int cpus = 1;       // CPUs this process may run on (its affinity mask)
  bool root = false;  // Open MPI refuses to start as root without --allow-run-as-root
};
LaunchHost launch_host_here();

// The arguments before `psgd run ...` for a run: empty for a run in one process (no ranks);
//   mpirun [--allow-run-as-root] -np R --use-hwthread-cpus --map-by slot:PE=T --bind-to hwthread
// when R x T fits the host's CPUs (each rank bound to T CPUs of its own, inside which the run's
// placement pins its threads), else
//   mpirun [--allow-run-as-root] -np R --oversubscribe --bind-to none
// (the ranks share every CPU, and the run records itself as oversubscribed); or
//   srun --kill-on-bad-exit=1 --ntasks=R --cpus-per-task=T
// inside a Slurm allocation (a rank that dies ends the step's other ranks).
std::vector<std::string> rank_launch_prefix(const OptionMap& options, RankLauncher launcher,
                                            const LaunchHost& host);

// The launcher's program as a path (execv needs one): argv[0] of the prefix looked up in PATH;
// "" when it is not there.
std::string rank_launcher_path(const std::string& program);

// True when an mpirun line for these options on `host` oversubscribes (R x T > CPUs).
bool oversubscribes(const OptionMap& options, const LaunchHost& host);

}  // namespace psgd
