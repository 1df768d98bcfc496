// harness/sweep/point_check.cpp — the checks of `psgd run` before training, for every point.
#include "harness/sweep/point_check.hpp"

#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>

#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/machine/numa_memory.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/run_config.hpp"
#include "models/data/load.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace {

// What a point needs of its data set, kept after the samples are freed.
struct DataFacts {
  std::string name;
  std::size_t train_size = 0;
  ImageShape shape;
  int num_classes = 0;
};

// Loads each distinct data set once and each topology once; the samples are dropped at once.
class Checker {
 public:
  PointCheck result;

  void check(const PlannedRun& run) {
    const RunConfig cfg = run.run_config("-");
    builtin_algorithms().check(cfg.algorithm, algorithm_setup(cfg));
    const Activation activation = parse_activation(cfg.activation);
    (void)parse_init(cfg.init);
    check_placement(run, cfg);
    const DataFacts& data = data_facts(cfg);
    check_model(cfg, activation, data);
    if (static_cast<std::size_t>(cfg.batch) > data.train_size) {
      throw ConfigError("--batch " + std::to_string(cfg.batch) + " exceeds the " +
                        std::to_string(data.train_size) + " training samples of " + data.name);
    }
  }

 private:
  const Topology& topology(const RunConfig& cfg) {
    const std::string key = cfg.topology_synthetic + "\n" + cfg.topology_xml;
    auto it = topologies_.find(key);
    if (it == topologies_.end()) {
      Topology t = !cfg.topology_synthetic.empty() ? Topology::synthetic(cfg.topology_synthetic)
                   : !cfg.topology_xml.empty()     ? Topology::from_xml(cfg.topology_xml)
                                                   : Topology::this_machine();
      it = topologies_.emplace(key, std::make_unique<Topology>(std::move(t))).first;
    }
    return *it->second;
  }

  // As plan_run_placement in the run command, except that more threads than hardware threads
  // under compact or scatter is counted, not refused (see the header).
  void check_placement(const PlannedRun& run, const RunConfig& cfg) {
    PlacementOptions options = parse_placement(cfg.placement);
    options.smt = parse_smt_order(cfg.smt);
    const MemoryPolicy memory = parse_memory_policy(cfg.memory);
    const Topology& topo = topology(cfg);
    const int pus = static_cast<int>(topo.pus().size());
    const bool counted = (options.policy == PlacementPolicy::kCompact ||
                          options.policy == PlacementPolicy::kScatter) &&
                         cfg.threads > pus;
    if (counted && result.too_many_threads++ == 0) {
      result.example = "point " + run.point_id + ": " + std::to_string(cfg.threads) +
                       " threads under " + cfg.placement + " placement, " + std::to_string(pus) +
                       " hardware threads here";
    }
    (void)plan_placement(topo.pus(), options, counted ? pus : cfg.threads);
    if (topo.is_this_system()) {
      if (!numa_) numa_ = numa_support();
      check_memory_policy(memory, *numa_);
    }
  }

  const DataFacts& data_facts(const RunConfig& cfg) {
    const std::string key =
        cfg.dataset + "\n" + cfg.data_dir + "\n" + (cfg.raw_pixels ? "raw" : "scaled");
    auto it = data_.find(key);
    if (it == data_.end()) {
      const DataSplit split = load_dataset({cfg.dataset, cfg.data_dir, cfg.raw_pixels, cfg.seed});
      it = data_
               .emplace(key, DataFacts{split.name, split.train.size(), split.train.shape(),
                                       split.train.num_classes()})
               .first;
    }
    return it->second;
  }

  void check_model(const RunConfig& cfg, Activation activation, const DataFacts& data) {
    const std::string key = cfg.model + "\n" + cfg.activation + "\n" + data.name;
    if (!models_.insert(key).second) return;
    try {
      (void)make_model(cfg.model, activation, data.shape, data.num_classes);
    } catch (const std::bad_alloc&) {
      throw EnvironmentError("--model " + cfg.model + " does not fit in this machine's memory");
    }
  }

  std::map<std::string, std::unique_ptr<Topology>> topologies_;
  std::optional<NumaSupport> numa_;
  std::map<std::string, DataFacts> data_;
  std::set<std::string> models_;
};

}  // namespace

PointCheck check_points(const std::vector<PlannedRun>& runs) {
  Checker checker;
  std::set<std::string> seen;
  for (const PlannedRun& run : runs) {
    if (!seen.insert(run.point_id).second) continue;  // the same options at another seed
    try {
      checker.check(run);
    } catch (const ConfigError& e) {
      throw ConfigError("point " + run.point_id + ": " + e.what());
    } catch (const EnvironmentError& e) {
      throw EnvironmentError("point " + run.point_id + ": " + e.what());
    }
  }
  return checker.result;
}

}  // namespace psgd
