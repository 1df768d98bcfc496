// harness/run/preflight.cpp — the checks of `psgd run` before training, shared with the sweep.
#include "harness/run/preflight.hpp"

#include <sys/stat.h>

#include <utility>

#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/cli/atomic_file.hpp"

namespace psgd {

void check_output_paths(const RunConfig& cfg, const std::vector<NamedPath>& inputs) {
  std::vector<NamedPath> outputs;
  if (cfg.out != "-") outputs.push_back({cfg.out, "--out"});
  const std::string side = params_side_file(cfg.save_params);
  if (!cfg.save_params.empty()) outputs.push_back({cfg.save_params, "--save-params"});
  if (!side.empty()) outputs.push_back({side, "--save-params side file"});
  refuse_outputs_over_inputs(outputs, inputs);
  if (cfg.out != "-") check_output_path(cfg.out, "--out");
  if (cfg.save_params.empty()) return;
  if (cfg.out != "-" && (same_output_path(cfg.out, cfg.save_params) ||
                         (!side.empty() && same_output_path(cfg.out, side)))) {
    throw ConfigError("--save-params '" + cfg.save_params +
                      "' would overwrite the --out document (it writes PATH and PATH.json): give "
                      "two different paths");
  }
  try {
    check_output_path(cfg.save_params, "--save-params");
    if (!side.empty()) check_output_path(side, "--save-params");
  } catch (const OutputPathError& e) {
    throw EnvironmentError(e.what());  // --out is fine: the error document goes there
  }
}

std::string params_side_file(const std::string& save_params) {
  if (save_params.empty()) return "";
  struct stat st {};
  if (::stat(save_params.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return "";
  return save_params + ".json";
}

RunChoices check_choices(const RunConfig& cfg) {
  const Activation activation = parse_activation(cfg.activation);
  const InitSpec init = parse_init(cfg.init);
  const AlgorithmRegistry& registry = builtin_algorithms();
  registry.check(cfg.algorithm, algorithm_setup(cfg));
  // Before MPI starts: a method without an MPI combine is refused whether or not MPI is built in.
  if (cfg.backend == Backend::kMpi) registry.check_across_processes(cfg.algorithm);
  if (cfg.backend == Backend::kMpi && batch_order_of(cfg) == BatchOrder::kShared) {
    throw ConfigError(
        "--batch-order shared needs one process (its batches come from one shared counter); "
        "with --backend mpi use worker or shard");
  }
  return {activation, init};
}

Topology run_topology(const RunConfig& cfg) {
  if (!cfg.topology_synthetic.empty()) {
    return Topology::synthetic(cfg.topology_synthetic, "--topology-synthetic");
  }
  if (!cfg.topology_xml.empty()) return Topology::from_xml(cfg.topology_xml, "--topology-xml");
  return Topology::this_machine();
}

PlacementChoice parse_placement_choice(const RunConfig& cfg) {
  PlacementOptions options = parse_placement(cfg.placement);
  options.smt = parse_smt_order(cfg.smt);
  return {std::move(options), parse_memory_policy(cfg.memory)};
}

PlacementPlan plan_checked(const PlacementChoice& choice, const Topology& topology, int workers,
                           const NumaSupport& numa) {
  PlacementPlan plan = plan_placement(topology.pus(), choice.options, workers);
  if (topology.is_this_system()) check_memory_policy(choice.memory, numa);
  return plan;
}

nlohmann::json PlacementSetup::to_json(const std::vector<ObservedSlot>& observed,
                                       const PageNodeSample* memory_observed) const {
  return placement_to_json(options, memory_to_json(memory, numa, memory_observed), plan, observed,
                           topology.summary());
}

PlacementSetup plan_run_placement(const RunConfig& cfg) {
  PlacementChoice choice = parse_placement_choice(cfg);
  Topology topology = run_topology(cfg);
  NumaSupport numa = numa_support();
  PlacementPlan plan = plan_checked(choice, topology, cfg.threads, numa);
  return {std::move(choice.options), choice.memory, std::move(numa), std::move(topology),
          std::move(plan)};
}

void check_batch_fits(const RunConfig& cfg, std::size_t train_samples,
                      const std::string& data_name) {
  if (static_cast<std::size_t>(cfg.batch) > train_samples) {
    throw ConfigError("--batch " + std::to_string(cfg.batch) + " exceeds the " +
                      std::to_string(train_samples) + " training samples of " + data_name);
  }
  RunnerOptions o;
  o.threads = cfg.threads;
  o.batch_size = static_cast<std::size_t>(cfg.batch);
  o.batch_order = batch_order_of(cfg);
  o.first_source = first_source_of(cfg);
  check_shards_fit(train_samples, o);
}

}  // namespace psgd
