// harness/run/run_config.cpp — the `psgd run` option table and everything generated from it.
#include "harness/run/run_config.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "common/parse_number.hpp"
#include "common/read_file.hpp"
#include "harness/machine/placement.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// Options stored as int are range-checked against this before the cast.
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
constexpr std::int64_t kMaxThreads = kMaxWorkerThreads;  // harness/machine/placement.hpp
// Staleness histogram bins: 2^20 bins are 8 MiB per histogram and worker (two per worker).
// Staleness is also capped at the update budget by the run itself.
constexpr std::int64_t kMaxStalenessBins = std::int64_t{1} << 20;

Epsilon parse_epsilon(std::string_view text) {
  if (!text.empty() && text.back() == '%') {
    const double pct = parse_positive_option("epsilon", text.substr(0, text.size() - 1));
    if (pct >= 100.0) bad_option_value("epsilon", text, "below 100% of the initial loss");
    return {pct / 100.0, true};
  }
  return {parse_positive_option("epsilon", text), false};
}

std::vector<Epsilon> parse_epsilons(std::string_view text) {
  std::vector<Epsilon> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) bad_option_value("epsilon", text, "a comma-separated list like 50%,25%,0.3");
    out.push_back(parse_epsilon(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// "0.80,0.85" -> {0.80, 0.85}; each a test accuracy in (0, 1].
std::vector<double> parse_target_accuracies(std::string_view text) {
  std::vector<double> out;
  constexpr std::string_view kWant = "comma-separated test accuracies in (0, 1], like 0.80,0.85";
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) bad_option_value("target-accuracy", text, kWant);
    const double a = parse_fraction_option("target-accuracy", item, 0.0, 1.0, kWant);
    if (a <= 0.0) bad_option_value("target-accuracy", item, kWant);
    out.push_back(a);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

template <class T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

void apply_config_file(RunConfig& c, const std::string& path, const AlgorithmRegistry& registry) {
  const std::string text = read_text_file(path, "--config");
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw ConfigError("--config: '" + path + "' is not valid JSON: " + e.what());
  }
  // One level only: a file naming itself (or a cycle of files) recursed until the stack overflowed
  // (SIGSEGV, found by harness/fuzz/config_fuzz.cpp).
  if (doc.is_object() && doc.contains("config")) {
    throw ConfigError("--config: '" + path +
                      "': a config file cannot name another one (\"config\"); give both on the "
                      "command line");
  }
  make_run_option_table(registry).apply_json(doc, c, "--config: '" + path + "'");
}

// The run's own options, with the algorithms' options (from the registry) after --dry-run.
std::vector<OptionSpec> make_table(const AlgorithmRegistry& registry) {
  std::vector<OptionSpec> t;
  auto add = [&](std::string_view name, std::string_view metavar, std::string_view help,
                 std::function<void(RunConfig&, std::string_view)> set,
                 std::function<json(const RunConfig&)> get) {
    t.push_back(OptionSpec{name, metavar, help, std::move(set), std::move(get)});
  };
  add(
      "algo", "NAME", "SGD algorithm (see `psgd list`); seq = sequential baseline",
      [](RunConfig& c, std::string_view v) { c.algorithm = v; },
      [](const RunConfig& c) { return json(c.algorithm); });
  add(
      "threads", "N",
      "worker threads; more than the hardware threads needs --placement none and is recorded as "
      "oversubscribed",
      [](RunConfig& c, std::string_view v) {
        c.threads = static_cast<int>(parse_int_option("threads", v, 1, kMaxThreads));
      },
      [](const RunConfig& c) { return json(c.threads); });
  add(
      "model", "SPEC", "linear | mlp:W1xW2x... | cnn | lenet",
      [](RunConfig& c, std::string_view v) { c.model = v; },
      [](const RunConfig& c) { return json(c.model); });
  add(
      "activation", "NAME", "hidden activation of mlp: relu | sigmoid",
      [](RunConfig& c, std::string_view v) { c.activation = v; },
      [](const RunConfig& c) { return json(c.activation); });
  add(
      "init", "RULE", "initialisation: he | glorot | normal:SIGMA (the reference uses normal:0.01)",
      [](RunConfig& c, std::string_view v) { c.init = v; },
      [](const RunConfig& c) { return json(c.init); });
  add(
      "dataset", "NAME", "data set (see `psgd list`)",
      [](RunConfig& c, std::string_view v) { c.dataset = v; },
      [](const RunConfig& c) { return json(c.dataset); });
  add(
      "data-dir", "DIR", "directory of the data set's files (default: its standard location)",
      [](RunConfig& c, std::string_view v) { c.data_dir = v; },
      [](const RunConfig& c) { return json(c.data_dir); });
  add(
      "raw-pixels", "", "keep pixels in 0..255 instead of [0,1] (the reference framework's input)",
      [](RunConfig& c, std::string_view) { c.raw_pixels = true; },
      [](const RunConfig& c) { return json(c.raw_pixels); });
  add(
      "batch", "N", "mini-batch size b",
      [](RunConfig& c, std::string_view v) { c.batch = parse_int_option("batch", v, 1); },
      [](const RunConfig& c) { return json(c.batch); });
  add(
      "step", "ETA", "step size (learning rate)",
      [](RunConfig& c, std::string_view v) { c.step = parse_positive_option("step", v); },
      [](const RunConfig& c) { return json(c.step); });
  add(
      "updates-per-epoch", "R",
      "applied updates per epoch (the reference framework's fixed rounds, e.g. 469) instead of "
      "N/b",
      [](RunConfig& c, std::string_view v) {
        c.updates_per_epoch = parse_int_option("updates-per-epoch", v, 1);
      },
      [](const RunConfig& c) { return optional_json(c.updates_per_epoch); });
  add(
      "batch-order", "ORDER",
      "worker (each worker its own permutation, reshuffled) | shared (the reference framework's: "
      "one shuffle into ceil(N/b) batches taken in turn through a shared counter)",
      [](RunConfig& c, std::string_view v) {
        c.batch_order = parse_name(kBatchOrders, "batch-order", v);
      },
      [](const RunConfig& c) { return json(std::string(name_of(kBatchOrders, c.batch_order))); });
  add(
      "precision", "P",
      "float | double: scalar type of the shared parameters and of the gradient computation "
      "(the reference framework computes in double; float is psgd's default)",
      [](RunConfig& c, std::string_view v) {
        c.precision = parse_name(kPrecisions, "precision", v);
      },
      [](const RunConfig& c) { return json(std::string(name_of(kPrecisions, c.precision))); });
  add(
      "epochs", "E", "budget in epochs of N/b applied updates (default 1 if no budget is given)",
      [](RunConfig& c, std::string_view v) { c.epochs = parse_positive_option("epochs", v); },
      [](const RunConfig& c) { return optional_json(c.epochs); });
  add(
      "updates", "U", "budget in applied updates (instead of --epochs)",
      [](RunConfig& c, std::string_view v) { c.updates = parse_int_option("updates", v, 1); },
      [](const RunConfig& c) { return optional_json(c.updates); });
  add(
      "time-limit", "SECONDS",
      "stop after this much training time (with or without an update budget)",
      [](RunConfig& c, std::string_view v) {
        c.time_limit_seconds = parse_positive_option("time-limit", v);
      },
      [](const RunConfig& c) { return optional_json(c.time_limit_seconds); });
  add(
      "seed", "S", "master seed: initialisation, and each worker's batch stream from (S, worker)",
      [](RunConfig& c, std::string_view v) {
        c.seed = static_cast<std::uint64_t>(parse_int_option("seed", v, 0));
      },
      [](const RunConfig& c) { return json(c.seed); });
  add(
      "step-decay", "D", "multiply the step by (1 - D) each epoch (applied updates / per epoch)",
      [](RunConfig& c, std::string_view v) { c.pace.step_decay = parse_step_decay(v); },
      [](const RunConfig& c) { return json(c.pace.step_decay); });
  add(
      "slowdown", "W:FACTOR,...",
      "stragglers: worker W computes FACTOR (1..1000) times slower (its gradients stretched)",
      [](RunConfig& c, std::string_view v) { c.pace.slowdown = parse_slowdown(v); },
      [](const RunConfig& c) { return json(slowdown_text(c.pace.slowdown)); });
  add(
      "delay", "SPEC",
      "latency per pull and per push: none | fixed:US | exp:MEAN_US (microseconds)",
      [](RunConfig& c, std::string_view v) { c.pace.delay = parse_delay(v); },
      [](const RunConfig& c) { return json(c.pace.delay.text()); });
  add(
      "checkpoints", "K", "parameter snapshots per epoch, evaluated after training",
      [](RunConfig& c, std::string_view v) {
        c.checkpoints = static_cast<int>(parse_int_option("checkpoints", v, 1, kMaxInt));
      },
      [](const RunConfig& c) { return json(c.checkpoints); });
  add(
      "epsilon", "LIST",
      "target train losses, absolute (0.3) or relative to the initial loss (50%)",
      [](RunConfig& c, std::string_view v) { c.epsilons = parse_epsilons(v); },
      [](const RunConfig& c) {
        std::string s;
        for (const Epsilon& e : c.epsilons) {
          // Appended piecewise: `"," + e.text()` trips GCC 12's false -Wrestrict at -O3.
          if (!s.empty()) s += ',';
          s += e.text();
        }
        return json(s);
      });
  add(
      "target-accuracy", "LIST",
      "test-accuracy targets in (0, 1], like 0.80,0.85: time and updates to the first evaluated "
      "snapshot at or above each (default: none)",
      [](RunConfig& c, std::string_view v) { c.target_accuracies = parse_target_accuracies(v); },
      [](const RunConfig& c) {
        std::ostringstream s;
        for (std::size_t i = 0; i < c.target_accuracies.size(); ++i) {
          s << (i ? "," : "") << c.target_accuracies[i];
        }
        return json(s.str());
      });
  add(
      "eval-samples", "N", "training samples the train loss is evaluated on (0 = all)",
      [](RunConfig& c, std::string_view v) {
        c.eval_samples = parse_int_option("eval-samples", v, 0);
      },
      [](const RunConfig& c) { return json(c.eval_samples); });
  add(
      "staleness-bins", "N", "exact staleness histogram bins; larger values go to an overflow bin",
      [](RunConfig& c, std::string_view v) {
        c.staleness_bins = parse_int_option("staleness-bins", v, 1, kMaxStalenessBins);
      },
      [](const RunConfig& c) { return json(c.staleness_bins); });
  add(
      "placement", "POLICY",
      "worker pinning: compact (fill a NUMA node first: UMA) | scatter (round-robin over nodes: "
      "NUMA) | explicit:CPULIST | none (OS decides)",
      [](RunConfig& c, std::string_view v) { c.placement = v; },
      [](const RunConfig& c) { return json(c.placement); });
  add(
      "memory", "POLICY", "shared-parameter memory: local (first touch) | interleave | bind:NODE",
      [](RunConfig& c, std::string_view v) { c.memory = v; },
      [](const RunConfig& c) { return json(c.memory); });
  add(
      "smt", "ORDER",
      "SMT siblings: last (physical cores first) | interleave (as hwloc lists them)",
      [](RunConfig& c, std::string_view v) { c.smt = v; },
      [](const RunConfig& c) { return json(c.smt); });
  add(
      "topology-synthetic", "DESC",
      "plan on an hwloc synthetic topology, e.g. \"pack:2 numa:1 core:8 pu:2\" "
      "(needs --dry-run)",
      [](RunConfig& c, std::string_view v) { c.topology_synthetic = v; },
      [](const RunConfig& c) { return json(c.topology_synthetic); });
  add(
      "topology-xml", "FILE", "plan on a topology exported by lstopo (needs --dry-run)",
      [](RunConfig& c, std::string_view v) { c.topology_xml = v; },
      [](const RunConfig& c) { return json(c.topology_xml); });
  add(
      "dry-run", "", "validate, plan the placement and print it as JSON; train nothing",
      [](RunConfig& c, std::string_view) { c.dry_run = true; },
      [](const RunConfig& c) { return json(c.dry_run); });
  // Each algorithm's options, declared beside it (algorithms/retry_options.hpp, leashed.cpp).
  for (const AlgorithmOption* o : registry.options()) {
    add(
        o->name(), o->metavar(), o->help(),
        [o](RunConfig& c, std::string_view v) { c.algorithm_options.set(*o, v); },
        [o](const RunConfig& c) { return c.algorithm_options.json(*o); });
  }
  add(
      "test-fault", "KIND",
      "testing only: fail on purpose after loading the data: none | abort | hang | exit:N | "
      "worker-throw (the last worker's set-up throws)",
      [](RunConfig& c, std::string_view v) {
        if (v != "none" && v != "abort" && v != "hang" && v != "worker-throw" &&
            !(v.substr(0, 5) == "exit:" && parse_int_option("test-fault", v.substr(5), 1) > 0)) {
          bad_option_value("test-fault", v, "none, abort, hang, exit:N or worker-throw");
        }
        c.test_fault = v;
      },
      [](const RunConfig& c) { return json(c.test_fault); });
  add(
      "out", "PATH", "where the JSON goes (- = stdout); written to PATH.tmp.PID, then renamed",
      [](RunConfig& c, std::string_view v) { c.out = v; },
      [](const RunConfig& c) { return json(c.out); });
  add(
      "save-params", "PATH",
      "write the final parameters as raw little-endian float32 (float64 with --precision double) "
      "(+ PATH.json)",
      [](RunConfig& c, std::string_view v) { c.save_params = v; },
      [](const RunConfig& c) { return json(c.save_params); });
  // Not part of the recorded configuration (no `get`): the file's options are.
  add(
      "config", "FILE", "read options from a JSON object {\"batch\": 64, ...}",
      [&registry](RunConfig& c, std::string_view v) {
        apply_config_file(c, std::string(v), registry);
      },
      nullptr);
  return t;
}

}  // namespace

std::string Epsilon::text() const {
  if (!relative) {
    std::ostringstream s;
    s << value;
    return s.str();
  }
  std::ostringstream s;
  s << value * 100.0 << '%';
  return s.str();
}

OptionTable<RunConfig> make_run_option_table(const AlgorithmRegistry& registry) {
  return OptionTable<RunConfig>("run", make_table(registry));
}

const OptionTable<RunConfig>& run_option_table() {
  static const OptionTable<RunConfig> table = make_run_option_table(builtin_algorithms());
  return table;
}

const std::vector<OptionSpec>& run_options() { return run_option_table().options(); }

RunConfig parse_run_args(std::span<const std::string_view> args,
                         const AlgorithmRegistry& registry) {
  RunConfig c;
  if (&registry == &builtin_algorithms()) {
    run_option_table().parse(args, c);
  } else {
    make_run_option_table(registry).parse(args, c);
  }
  validate(c);
  return c;
}

AlgorithmSetup algorithm_setup(const RunConfig& c) {
  return AlgorithmSetup{c.algorithm_options, c.seed, c.threads};
}

void validate(const RunConfig& c) {
  if (c.epochs && c.updates) {
    throw ConfigError("--epochs and --updates both set a budget; give one of them");
  }
  if (c.out.empty()) throw ConfigError("--out must be a path or -");
  if ((!c.topology_synthetic.empty() || !c.topology_xml.empty()) && !c.dry_run) {
    throw ConfigError("--topology-synthetic and --topology-xml plan only: add --dry-run");
  }
  if (!c.topology_synthetic.empty() && !c.topology_xml.empty()) {
    throw ConfigError("--topology-synthetic and --topology-xml exclude each other");
  }
  for (const auto& [worker, factor] : c.pace.slowdown) {
    if (worker >= c.threads) {
      throw ConfigError("--slowdown names worker " + std::to_string(worker) + ", but --threads " +
                        std::to_string(c.threads) + " has workers 0.." +
                        std::to_string(c.threads - 1));
    }
  }
}

std::string run_help(const AlgorithmRegistry& registry) {
  const OptionTable<RunConfig> table = make_run_option_table(registry);
  std::ostringstream s;
  s << "usage: psgd run [--option=value ...]\n\n"
       "Trains one model with one algorithm and writes one JSON document (schema in README.md).\n"
       "Options (default in brackets):\n"
    << table.help_lines(RunConfig{})
    << "  --help                  this text\n"
       "\nOptions each algorithm accepts (any other algorithm option set away from its default is "
       "an error):\n";
  for (const AlgorithmEntry& e : registry.entries()) {
    s << "  " << e.name << ":";
    if (e.options.empty()) s << " none";
    for (const AlgorithmOption* o : e.options) s << " --" << o->name();
    s << "\n";
  }
  s << "\nExit codes: 0 run finished (any status but error), 2 bad arguments, 3 bad environment "
       "or data.\n";
  return s.str();
}

json config_to_json(const RunConfig& c, const AlgorithmRegistry& registry) {
  if (&registry == &builtin_algorithms()) return run_option_table().to_json(c);
  return make_run_option_table(registry).to_json(c);
}

}  // namespace psgd
