// harness/run/preflight.hpp — the checks `psgd run` makes before it trains, in one place: the run
// command calls them for its configuration, and the sweep's point check calls the same functions
// for every point of a sweep, so that a sweep refuses exactly what its runs would refuse.
//
// In the run's order: the output paths (run only: a sweep chooses its own), the named choices
// (algorithm with its options and thread count, activation, initialisation), the placement on
// the topology and the memory policy, and, once the data set is known, that it and the model fit
// in memory (harness/run/memory_check.hpp) and that the batch fits the training set. Every check
// throws ConfigError (exit 2) or EnvironmentError (exit 3) with one line naming the option.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/cli/input_guard.hpp"
#include "harness/machine/numa_memory.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/run_config.hpp"
#include "models/model_factory.hpp"

namespace psgd {

// --out and --save-params (and its side file) can be written, do not overwrite each other and
// are none of `inputs` (the --config files and data files: a result once replaced the config it
// was run from). Throws InputOverwriteError (exit 2, no error document) when an output is an
// input, ConfigError for --out against --save-params, OutputPathError for an unwritable --out and
// EnvironmentError for --save-params.
void check_output_paths(const RunConfig& cfg, const std::vector<NamedPath>& inputs = {});

// The side file that describes --save-params PATH: PATH.json, or "" when PATH is an existing
// file that is not a regular file (/dev/null, a FIFO): its side file would be a new file beside
// a device (once /dev/null.json), describing bytes that were never kept.
std::string params_side_file(const std::string& save_params);

// The named choices a run needs later, parsed.
struct RunChoices {
  Activation activation = Activation::kRelu;
  InitSpec init;
};

// The algorithm accepts the thread count and its options (AlgorithmRegistry::check), and the
// activation and initialisation are known.
RunChoices check_choices(const RunConfig& cfg);

// The topology the run places its workers on: --topology-synthetic, --topology-xml or this
// machine; errors name the option that was given.
Topology run_topology(const RunConfig& cfg);

// --placement with --smt, and --memory, parsed.
struct PlacementChoice {
  PlacementOptions options;
  MemoryPolicy memory;
};
PlacementChoice parse_placement_choice(const RunConfig& cfg);

// The plan for `workers` workers on `topology`; on this machine's topology also checks the memory
// policy against `numa` (a synthetic or XML topology plans only). The planner refuses more
// workers than hardware threads under compact, scatter and explicit, pointing at --placement
// none.
PlacementPlan plan_checked(const PlacementChoice& choice, const Topology& topology, int workers,
                           const NumaSupport& numa);

// Everything about where the workers and the shared parameters go, decided before any thread.
struct PlacementSetup {
  PlacementOptions options;
  MemoryPolicy memory;
  NumaSupport numa;
  Topology topology;
  PlacementPlan plan;

  // The JSON `placement` block; `observed` is empty and `memory_observed` null before any worker
  // has run.
  [[nodiscard]] nlohmann::json to_json(const std::vector<ObservedSlot>& observed,
                                       const PageNodeSample* memory_observed) const;
};

// The run's placement: its topology, and the plan for --threads workers (plan_checked).
PlacementSetup plan_run_placement(const RunConfig& cfg);

// Throws ConfigError "--batch B exceeds the N training samples of NAME" when it does, and when
// --batch-order shard (given or the method's default) leaves a worker a slice under one batch.
void check_batch_fits(const RunConfig& cfg, std::size_t train_samples,
                      const std::string& data_name);

}  // namespace psgd
