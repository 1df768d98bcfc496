// harness/sweep/point_check.cpp — the checks of `psgd run` before training, for every point.
#include "harness/sweep/point_check.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/run/memory_check.hpp"
#include "harness/run/preflight.hpp"
#include "harness/run/run_config.hpp"
#include "harness/sweep/rank_launch.hpp"
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

// The checks of harness/run/preflight.hpp in the run's order, for one point after another.
// Loads each distinct data set, topology and model once; the samples are dropped at once.
class Checker {
 public:
  PointCheck result;

  void check(const PlannedRun& run) {
    const RunConfig cfg = run.run_config("-");
    const RunChoices choices = check_choices(cfg);
    check_placement(run, cfg);
    check_histograms_fit(cfg);
    check_synthetic_fits(cfg, choices.activation);
    const DataFacts& data = data_facts(cfg);
    check_model_fits(model_params(cfg, choices.activation, data), cfg);
    check_batch_fits(cfg, data.train_size, data.name);
  }

 private:
  const Topology& topology(const RunConfig& cfg) {
    const std::string key = cfg.topology_synthetic + "\n" + cfg.topology_xml;
    auto it = topologies_.find(key);
    if (it == topologies_.end()) {
      it = topologies_.emplace(key, std::make_unique<Topology>(run_topology(cfg))).first;
    }
    return *it->second;
  }

  // As the run plans its placement, except that more threads than hardware threads under compact
  // or scatter is counted, not refused (see the header).
  void check_placement(const PlannedRun& run, const RunConfig& cfg) {
    const PlacementChoice choice = parse_placement_choice(cfg);
    const Topology& topo = topology(cfg);
    const int pus = static_cast<int>(topo.pus().size());
    const bool counted = (choice.options.policy == PlacementPolicy::kCompact ||
                          choice.options.policy == PlacementPolicy::kScatter) &&
                         cfg.threads > pus;
    if (counted && result.too_many_threads++ == 0) {
      result.example = "point " + run.point_id + ": " + std::to_string(cfg.threads) +
                       " threads under " + cfg.placement + " placement, " + std::to_string(pus) +
                       " hardware threads here";
    }
    if (!numa_) numa_ = numa_support();
    (void)plan_checked(choice, topo, counted ? pus : cfg.threads, *numa_);
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

  // The model's parameter count, built once per spec, activation and data set.
  std::size_t model_params(const RunConfig& cfg, Activation activation, const DataFacts& data) {
    const std::string key = cfg.model + "\n" + cfg.activation + "\n" + data.name;
    auto it = model_params_.find(key);
    if (it != model_params_.end()) return it->second;
    try {
      const std::size_t n =
          make_model(cfg.model, activation, data.shape, data.num_classes)->num_params();
      return model_params_.emplace(key, n).first->second;
    } catch (const std::bad_alloc&) {
      throw EnvironmentError("--model " + cfg.model + " does not fit in this machine's memory");
    }
  }

  std::map<std::string, std::unique_ptr<Topology>> topologies_;
  std::optional<NumaSupport> numa_;
  std::map<std::string, DataFacts> data_;
  std::map<std::string, std::size_t> model_params_;
};

// The spec's key for `option` in this point (as the spec spelled it) and its value as JSON.
std::pair<std::string, nlohmann::json> point_value(const PlannedRun& run,
                                                   const std::string& option) {
  std::string snake = option;
  std::ranges::replace(snake, '-', '_');
  for (const std::string& key : {option, snake}) {
    const auto it = run.options.find(key);
    if (it == run.options.end()) continue;
    // A number or a boolean as such; anything else as the text the spec gave.
    const nlohmann::json parsed = nlohmann::json::parse(it->second, nullptr, false);
    const bool plain = !parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean());
    return {key, plain ? parsed : nlohmann::json(it->second)};
  }
  return {option, nlohmann::json(nullptr)};
}

// The exclude rule that skips every point of this algorithm with this option set, as spec text:
// "exclude": [{"algo": "mutex", "persistence": 2}].
std::string exclude_suggestion(const PlannedRun& run, const OptionNotAcceptedError& e) {
  const auto [key, value] = point_value(run, e.option());
  nlohmann::ordered_json rule;
  rule["algo"] = e.algo();
  rule[key] = value;
  return "\"exclude\": [" + rule.dump() +
         "] to the spec (or list that option under the algo "
         "values that accept it, as {\"algo\": ..., \"" +
         key + "\": ...})";
}

// A point launched as ranks whose method has no MPI combine: refused at plan time like any other
// invalid combination, with the exclude rule that skips such points. Returns "" when the method
// runs across processes (or the point does not ask it to).
std::string across_processes_refusal(const PlannedRun& run) {
  if (!launched_as_ranks(run.options)) return "";
  const std::string algo = option_text(run, "algo");
  const AlgorithmRegistry& registry = builtin_algorithms();
  const auto& entries = registry.entries();
  if (std::none_of(entries.begin(), entries.end(),
                   [&](const AlgorithmEntry& e) { return e.name == algo; })) {
    return "";  // the registry's own check names the valid algorithms
  }
  std::string refusal;
  try {
    registry.check_across_processes(algo);
    return "";
  } catch (const ConfigError& e) {
    refusal = e.what();  // "--backend mpi applies to: ... (not --algo NAME)": the registry's words
  }
  nlohmann::ordered_json rule;
  rule["algo"] = algo;
  const int ranks = run_ranks(run.options);
  if (ranks > 1) {
    rule[kRanksKey] = ranks;
  } else {
    rule["backend"] = "mpi";
  }
  const std::string backend = "--backend mpi";
  if (refusal.starts_with(backend)) {
    refusal.insert(backend.size(), " (ranks " + std::to_string(ranks) + ")");
  }
  return refusal + "; to skip such points, add \"exclude\": [" + rule.dump() + "] to the spec";
}

}  // namespace

PointCheck check_points(const std::vector<PlannedRun>& runs) {
  Checker checker;
  std::set<std::string> seen;
  for (const PlannedRun& run : runs) {
    if (!seen.insert(run.point_id).second) continue;  // the same options at another seed
    if (const std::string why = across_processes_refusal(run); !why.empty()) {
      throw ConfigError("point " + run.point_id + ": " + why);
    }
    try {
      checker.check(run);
    } catch (const OptionNotAcceptedError& e) {
      throw ConfigError("point " + run.point_id + ": " + e.what() + "; to skip such points, add " +
                        exclude_suggestion(run, e));
    } catch (const ConfigError& e) {
      throw ConfigError("point " + run.point_id + ": " + e.what());
    } catch (const EnvironmentError& e) {
      throw EnvironmentError("point " + run.point_id + ": " + e.what());
    }
  }
  return checker.result;
}

}  // namespace psgd
