// harness/sweep/plan_warnings.cpp — the points that never measure what they name.
#include "harness/sweep/plan_warnings.hpp"

#include <set>

#include "algorithms/param_server.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {
namespace {

// hybrid with K0 >= W: K(u) = min(W, ...) is W from the first update; with W = 1 every
// parameter server is sequential SGD.
std::string degenerate_hybrid(const RunConfig& cfg) {
  if (cfg.algorithm != "hybrid") return "";
  const HybridStart start = hybrid_start(cfg.algorithm_options, cfg.threads);
  if (start.k0 < start.workers) return "";
  const std::string threads = cfg.threads == 1
                                  ? "1 thread"
                                  : std::to_string(cfg.threads) + " threads, the server " +
                                        (start.server_trains ? "training" : "only serving");
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
    const std::string why = degenerate_hybrid(run.run_config("-"));
    if (!why.empty()) lines.push_back("point " + run.point_id + ": " + why);
  }
  return lines;
}

}  // namespace psgd
