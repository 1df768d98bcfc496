// harness/sweep/plan_warnings.cpp — the points that never measure what they name.
#include "harness/sweep/plan_warnings.hpp"

#include <set>

#include "algorithms/param_server.hpp"
#include "harness/run/run_config.hpp"
#include "harness/sweep/rank_launch.hpp"

namespace psgd {
namespace {

// hybrid with K0 >= W: K(u) = min(W, ...) is W from the first update; with W = 1 every
// parameter server is sequential SGD. W counts every rank's slots: a point with ranks R runs
// R x T of them, one server (rank 0's slot 0).
std::string degenerate_hybrid(const PlannedRun& run) {
  const RunConfig cfg = run.run_config("-");
  if (cfg.algorithm != "hybrid") return "";
  const int ranks = run_ranks(run.options);
  const HybridStart start = hybrid_start(cfg.algorithm_options, ranks * cfg.threads);
  if (start.k0 < start.workers) return "";
  const std::string per_rank =
      cfg.threads == 1 ? "1 thread" : std::to_string(cfg.threads) + " threads";
  const std::string slots = ranks == 1 ? per_rank : std::to_string(ranks) + " ranks x " + per_rank;
  const std::string threads =
      ranks * cfg.threads == 1
          ? slots
          : slots + ", the server " + (start.server_trains ? "training" : "only serving");
  if (start.workers == 1) {
    return "hybrid with one gradient source (" + threads + ") never switches: it is sequential SGD";
  }
  return "hybrid with K0 = " + std::to_string(start.k0) +
         " >= W = " + std::to_string(start.workers) + " gradient sources (" + threads +
         ") never switches: it is the synchronous param-server from the first update";
}

}  // namespace

std::vector<std::string> plan_warnings(const std::vector<PlannedRun>& runs) {
  std::vector<std::string> lines;
  std::set<std::string> seen;
  for (const PlannedRun& run : runs) {
    if (!seen.insert(run.point_id).second) continue;  // the same options at another seed
    const std::string why = degenerate_hybrid(run);
    if (!why.empty()) lines.push_back("point " + run.point_id + ": " + why);
  }
  return lines;
}

}  // namespace psgd
