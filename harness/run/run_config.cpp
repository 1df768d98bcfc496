// harness/run/run_config.cpp — the `psgd run` option table and everything generated from it.
#include "harness/run/run_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <limits>
#include <sstream>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "common/parse_number.hpp"
#include "harness/machine/placement.hpp"
#include "harness/run/config_file.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// Options stored as int are range-checked against this before the cast.
constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
constexpr std::int64_t kMaxThreads = kMaxWorkerThreads;  // harness/machine/placement.hpp
// Staleness histogram bins: 2^20 bins are 8 MiB per histogram and worker (two per worker).
// Staleness is also capped at the update budget by the run itself.
constexpr std::int64_t kMaxStalenessBins = std::int64_t{1} << 20;

// A target below the smallest normal double (2.2e-308) is subnormal: it is stored inexactly
// (1e-320 became 9.99989e-321 in the record) and no loss is that small anyway.
constexpr double kMinEpsilon = std::numeric_limits<double>::min();

Epsilon parse_epsilon(std::string_view text) {
  Epsilon e{0.0, false};
  if (!text.empty() && text.back() == '%') {
    const double pct = parse_positive_option("epsilon", text.substr(0, text.size() - 1));
    if (pct >= 100.0) bad_option_value("epsilon", text, "below 100% of the initial loss");
    e = {pct / 100.0, true};
  } else {
    e = {parse_positive_option("epsilon", text), false};
  }
  if (e.value < kMinEpsilon) {
    bad_option_value("epsilon", text, "a loss or fraction of at least 2.2e-308 (a normal double)");
  }
  return e;
}

std::vector<Epsilon> parse_epsilons(std::string_view text) {
  std::vector<Epsilon> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) bad_option_value("epsilon", text, "a comma-separated list like 50%,25%,0.3");
    const Epsilon e = parse_epsilon(item);
    // A target given twice was counted twice as reached ("2 of 2" with only 50% met), while the
    // status and summary counted it once: each target must be given once.
    if (std::ranges::any_of(out, [&](const Epsilon& o) {
          return o.relative == e.relative && o.value == e.value;
        })) {
      bad_option_value("epsilon", text, "distinct targets (" + e.text() + " is given twice)");
    }
    out.push_back(e);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// "0.80,0.85" -> {0.80, 0.85}; each a test accuracy in (0, 1]. "none": no target.
std::vector<double> parse_target_accuracies(std::string_view text) {
  std::vector<double> out;
  if (text == "none") return out;
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

// parse_int_option in [min, max], as an option's parser.
auto integer(std::int64_t min, std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  return [min, max](std::string_view option, std::string_view text) {
    return parse_int_option(option, text, min, max);
  };
}

// An option that may be unset (std::optional), recorded and read back as `none_word` when it is:
// "none" (no time limit) or "auto" (the count the data gives), so that a recorded configuration
// holds no null and passes back through --config as it is.
template <class T, class Parse>
OptionSpec unset_option(std::string_view name, std::string_view metavar, std::string_view help,
                        std::optional<T> RunConfig::*member, Parse parse,
                        std::string_view none_word = "none") {
  return {name, metavar, help,
          [name, member, parse, none_word](RunConfig& c, std::string_view v) {
            if (v == none_word) {
              (c.*member).reset();
            } else {
              c.*member = static_cast<T>(parse(name, v));
            }
          },
          [member, none_word](const RunConfig& c) {
            return c.*member ? json(*(c.*member)) : json(std::string(none_word));
          }};
}

// A whole option value through a parser that names no option (it names its own).
template <class Parse>
auto whole(Parse parse) {
  return [parse](std::string_view, std::string_view text) { return parse(text); };
}

std::string epsilons_text(const std::vector<Epsilon>& epsilons) {
  std::string s;
  for (const Epsilon& e : epsilons) {
    // Appended piecewise: `"," + e.text()` trips GCC 12's false -Wrestrict at -O3.
    if (!s.empty()) s += ',';
    s += e.text();
  }
  return s;
}

std::string accuracies_text(const std::vector<double>& accuracies) {
  if (accuracies.empty()) return "none";
  std::ostringstream s;
  for (std::size_t i = 0; i < accuracies.size(); ++i) s << (i ? "," : "") << accuracies[i];
  return s.str();
}

// --test-fault: none | abort | hang | exit:N | worker-throw | kill-rank:R | slow-rank:R.
std::string parse_test_fault(std::string_view option, std::string_view v) {
  if (v != "none" && v != "abort" && v != "hang" && v != "worker-throw" &&
      !(v.substr(0, 5) == "exit:" && parse_int_option(option, v.substr(5), 1, 255) > 0) &&
      !(v.substr(0, 10) == "kill-rank:" && parse_int_option(option, v.substr(10), 0) >= 0) &&
      !(v.substr(0, 10) == "slow-rank:" && parse_int_option(option, v.substr(10), 0) >= 0)) {
    bad_option_value(option, v,
                     "none, abort, hang, exit:N, worker-throw, kill-rank:R or slow-rank:R");
  }
  return std::string(v);
}

using C = RunConfig;
constexpr auto kPositive = &parse_positive_option;

// What is trained, on what, and how: --algo to --precision.
std::vector<OptionSpec> training_options() {
  return {
      text_option<C>("algo", "NAME", "SGD algorithm (see `psgd list`); seq = sequential baseline",
                     &C::algorithm),
      parsed_option<C>("threads", "N",
                       "worker threads; more than the hardware threads needs --placement none "
                       "and is recorded as oversubscribed",
                       &C::threads, integer(1, kMaxThreads)),
      named_option<C>("backend", "B",
                      "local | mpi: the threads of this process, or under mpirun -np R (or srun) R "
                      "ranks of --threads workers each (sync, local-sgd, param-server, hybrid, "
                      "async-exchange and nonblocking)",
                      &C::backend, kBackends),
      text_option<C>("model", "SPEC", "linear | mlp:W1xW2x... | cnn | lenet", &C::model),
      text_option<C>("activation", "NAME", "hidden activation of mlp: relu | sigmoid",
                     &C::activation),
      text_option<C>("init", "RULE",
                     "initialisation: he | glorot | normal:SIGMA (the reference uses normal:0.01)",
                     &C::init),
      text_option<C>("dataset", "NAME", "data set (see `psgd list`)", &C::dataset),
      text_option<C>("data-dir", "DIR",
                     "directory of the data set's files (default: its standard location)",
                     &C::data_dir),
      flag_option<C>("raw-pixels",
                     "keep pixels in 0..255 instead of [0,1] (the reference framework's input)",
                     &C::raw_pixels),
      parsed_option<C>("batch", "N", "mini-batch size b", &C::batch, integer(1)),
      parsed_option<C>("step", "ETA", "step size (learning rate)", &C::step, kPositive),
      unset_option<std::int64_t>("updates-per-epoch", "R",
                                 "mini-batches per epoch (the reference framework's fixed rounds, "
                                 "e.g. 469) instead of N/b (auto): --epochs E computes E x R "
                                 "gradients",
                                 &C::updates_per_epoch, integer(1), "auto"),
      {"batch-order", "ORDER",
       "where batches come from: default | worker | shared | shard\n"
       "default: the method's (shard for local-sgd and async-exchange, worker for the others)\n"
       "worker: each worker its own permutation of the training set, reshuffled when used up\n"
       "shared: the reference framework's: one shuffle into ceil(N/b) batches, a shared counter\n"
       "shard: worker w of W its own permutation of its slice [wN/W, (w+1)N/W): one pass in all",
       [](C& c, std::string_view v) {
         if (v == "default") {
           c.batch_order.reset();
         } else if (const std::optional<BatchOrder> order = find_name(kBatchOrders, v)) {
           c.batch_order = *order;
         } else {
           bad_option_value("batch-order", v, "default, " + names_text(kBatchOrders));
         }
       },
       [](const C& c) {
         return json(c.batch_order ? std::string(name_of(kBatchOrders, *c.batch_order))
                                   : std::string("default"));
       }},
      named_option<C>("precision", "P",
                      "float | double: scalar type of the shared parameters and of the gradient "
                      "computation (the reference framework computes in double; float is psgd's "
                      "default)",
                      &C::precision, kPrecisions),
  };
}

// How long it trains, and at what pace: --epochs to --delay.
std::vector<OptionSpec> budget_options() {
  return {
      // Recorded as 1 when neither another budget nor a time limit is given (the budget the run
      // uses), else "none" (a time limit alone is a time budget: plan_budget in run_command.cpp).
      {"epochs", "E",
       "budget in passes over the training data: E x N/b gradients computed by all workers "
       "together (1 if no other budget and no --time-limit is given; none: not this budget)",
       [](C& c, std::string_view v) {
         if (v == "none") {
           c.epochs.reset();
         } else {
           c.epochs = parse_positive_option("epochs", v);
         }
       },
       [](const C& c) {
         if (c.epochs) return json(*c.epochs);
         return c.gradients || c.updates || c.time_limit_seconds ? json("none") : json(1.0);
       }},
      unset_option<std::int64_t>("gradients", "G",
                                 "budget in mini-batch gradients computed by all workers (instead "
                                 "of --epochs)",
                                 &C::gradients, integer(1, kUnboundedUpdates)),
      unset_option<std::int64_t>("updates", "U",
                                 "budget in applied updates, whatever they cost in gradients "
                                 "(instead of --epochs)",
                                 &C::updates, integer(1)),
      unset_option<double>("time-limit", "SECONDS",
                           "stop after this much training time (with or without an update "
                           "budget; none: no limit)",
                           &C::time_limit_seconds, kPositive),
      parsed_option<C>("seed", "S",
                       "master seed: initialisation, and each worker's batch stream from (S, "
                       "worker)",
                       &C::seed, integer(0)),
      // The pace lives in a nested struct: no member pointer reaches it.
      {"step-decay", "D", "multiply the step by (1 - D) each epoch (applied updates / per epoch)",
       [](C& c, std::string_view v) { c.pace.step_decay = parse_step_decay(v); },
       [](const C& c) { return json(c.pace.step_decay); }},
      {"slowdown", "W:FACTOR,...",
       "stragglers: worker W computes FACTOR (1..1000) times slower (its gradients stretched)",
       [](C& c, std::string_view v) { c.pace.slowdown = parse_slowdown(v); },
       [](const C& c) { return json(slowdown_text(c.pace.slowdown)); }},
      {"delay", "SPEC",
       "latency per pull and per push: none | fixed:US | exp:MEAN_US (microseconds)",
       [](C& c, std::string_view v) { c.pace.delay = parse_delay(v); },
       [](const C& c) { return json(c.pace.delay.text()); }},
      {"comm-delay", "SPEC",
       "latency per exchange with the shared model (an update, merge or round's reduce): none | "
       "fixed:US | exp:MEAN_US",
       [](C& c, std::string_view v) { c.pace.comm_delay = parse_comm_delay(v); },
       [](const C& c) { return json(c.pace.comm_delay.text()); }},
  };
}

// What is measured: --checkpoints to --staleness-bins.
std::vector<OptionSpec> measurement_options() {
  return {
      parsed_option<C>("checkpoints", "K",
                       "parameter snapshots per epoch (not per run: 0.1 epochs at K = 20 gives 2), "
                       "evaluated after training",
                       &C::checkpoints, integer(1, kMaxInt)),
      parsed_option<C>("epsilon", "LIST",
                       "target train losses, absolute (0.3) or relative to the initial loss (50%); "
                       "status converged = the tightest reached (by default 20% of the initial "
                       "loss, which a short run can reach within half an epoch)",
                       &C::epsilons, whole(parse_epsilons), epsilons_text),
      parsed_option<C>("target-accuracy", "LIST",
                       "test-accuracy targets in (0, 1], like 0.80,0.85: time and updates to the "
                       "first evaluated snapshot at or above each (none: no target)",
                       &C::target_accuracies, whole(parse_target_accuracies), accuracies_text),
      parsed_option<C>("eval-samples", "N",
                       "training samples the train loss is evaluated on (0 = all)",
                       &C::eval_samples, integer(0)),
      parsed_option<C>("staleness-bins", "N",
                       "exact staleness histogram bins; larger values go to an overflow bin",
                       &C::staleness_bins, integer(1, kMaxStalenessBins)),
  };
}

// Where the workers and the shared parameters go: --placement to --dry-run.
std::vector<OptionSpec> placement_options() {
  return {
      text_option<C>("placement", "POLICY",
                     "worker pinning: compact (fill a NUMA node first: UMA) | scatter "
                     "(round-robin over nodes: NUMA) | explicit:CPULIST | none (OS decides)",
                     &C::placement),
      text_option<C>("memory", "POLICY",
                     "shared-parameter memory: local (first touch) | interleave | bind:NODE",
                     &C::memory),
      text_option<C>("smt", "ORDER",
                     "SMT siblings: last (physical cores first) | interleave (as hwloc lists them)",
                     &C::smt),
      text_option<C>("topology-synthetic", "DESC",
                     "plan on an hwloc synthetic topology, e.g. \"pack:2 numa:1 core:8 pu:2\" "
                     "(needs --dry-run)",
                     &C::topology_synthetic),
      text_option<C>("topology-xml", "FILE",
                     "plan on a topology exported by lstopo (needs --dry-run)", &C::topology_xml),
      flag_option<C>("dry-run", "validate, plan the placement and print it as JSON; train nothing",
                     &C::dry_run),
  };
}

// Where the results go, and the testing hook: --test-fault to --config.
std::vector<OptionSpec> output_options(const AlgorithmRegistry& registry) {
  return {
      parsed_option<C>(
          "test-fault", "KIND",
          "testing only: fail on purpose after loading the data: none | abort | hang "
          "| exit:N | worker-throw (the last worker's set-up throws) | kill-rank:R "
          "(--backend mpi: rank R kills itself with SIGKILL 1 s into training) | slow-rank:R "
          "(--backend mpi: every worker of rank R computes 20 times slower)",
          &C::test_fault, parse_test_fault),
      // Not recorded (no `get`): it changes what the terminal shows, never the results.
      {"progress", "",
       "a progress line on stderr (epoch, updates, loss, rate, ETA) twice a second even when "
       "stderr is not a terminal (plain lines then; on a terminal it is always shown, in place)",
       [](C& c, std::string_view) { c.progress = true; }, nullptr},
      text_option<C>("out", "PATH",
                     "where the JSON goes (- = stdout); written to PATH.tmp.PID, then renamed",
                     &C::out),
      text_option<C>("save-params", "PATH",
                     "write the final parameters as raw little-endian float32 (float64 with "
                     "--precision double) (+ PATH.json)",
                     &C::save_params),
      // Not part of the recorded configuration (no `get`): the file's options are.
      {"config", "FILE",
       "read options from a JSON object {\"batch\": 64, ...} (keys as option names, - or _),\n"
       "a --print-config template, or a run document (its config block, less out,\n"
       "save-params, dry-run, the topology and test-fault options and a batch order the method\n"
       "chose, so a re-run trains and writes to stdout unless --out is given); the command line\n"
       "overrides the file, and a budget there (--epochs, --gradients, --updates) replaces\n"
       "the file's",
       [&registry](C& c, std::string_view v) { apply_config_file(c, std::string(v), registry); },
       nullptr},
      // Handled by run_main once the rest has parsed; not recorded.
      {"print-config", "",
       "print every option's value (the defaults, with the options given) as a commented JSON "
       "template that --config reads back, and exit",
       [](C&, std::string_view) {}, nullptr},
  };
}

// The run's own options, with the algorithms' options (from the registry) after --dry-run.
std::vector<OptionSpec> make_table(const AlgorithmRegistry& registry) {
  std::vector<OptionSpec> t = training_options();
  for (auto group : {budget_options, measurement_options, placement_options}) {
    std::ranges::move(group(), std::back_inserter(t));
  }
  // Each algorithm's options, declared beside it (algorithms/retry_options.hpp, leashed.cpp).
  for (const AlgorithmOption* o : registry.options()) {
    t.push_back({o->name(), o->metavar(), o->help(),
                 [o](C& c, std::string_view v) { c.algorithm_options.set(*o, v); },
                 [o](const C& c) { return c.algorithm_options.json(*o); }});
  }
  std::ranges::move(output_options(registry), std::back_inserter(t));
  return t;
}

}  // namespace

std::string Epsilon::text() const {
  if (!relative) {
    // The shortest text that reads back as this value: the target as it was given (6 digits
    // once turned 0.1234567 into 0.123457).
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    return ec == std::errc{} ? std::string(buf.data(), end) : std::to_string(value);
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
    parse_with_config_files(run_option_table(), args, c);
  } else {
    parse_with_config_files(make_run_option_table(registry), args, c);
  }
  validate(c);
  return c;
}

AlgorithmSetup algorithm_setup(const RunConfig& c) {
  return AlgorithmSetup{c.algorithm_options, c.seed, c.threads};
}

void validate(const RunConfig& c) {
  std::vector<std::string> budgets;
  if (c.epochs) budgets.emplace_back("--epochs");
  if (c.gradients) budgets.emplace_back("--gradients");
  if (c.updates) budgets.emplace_back("--updates");
  if (budgets.size() > 1) {
    throw ConfigError(budgets[0] + " and " + budgets.back() +
                      " both set a budget; give one of them (--epochs, --gradients or --updates; "
                      "none: one epoch)");
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
       "Trains one model with one algorithm and writes one JSON document (its fields: "
       "docs/run-document.md;\n"
       "schema: harness/run/run_document.schema.json). `psgd run --config RUN.json` re-runs a "
       "run from its document.\n"
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

BatchOrder batch_order_of(const RunConfig& c, const AlgorithmRegistry& registry) {
  return c.batch_order ? *c.batch_order : registry.at(c.algorithm).default_batch_order;
}

int first_source_of(const RunConfig& c, const AlgorithmRegistry& registry) {
  return registry.at(c.algorithm).first_source(algorithm_setup(c));
}

std::string config_template(const RunConfig& config, const AlgorithmRegistry& registry) {
  const OptionTable<RunConfig> table = make_run_option_table(registry);
  // Unresolved: a batch order left to the method stays "default", so that a template edited to
  // another --algo gets that method's order.
  const json values = table.to_json(config);
  std::ostringstream s;
  s << "// psgd run configuration: every option and its value (the defaults, and the options\n"
       "// given). Read back with `psgd run --config FILE`; options on the command line override\n"
       "// the file's.\n{\n";
  bool first = true;
  for (const OptionSpec& o : table.options()) {
    if (!o.get) continue;
    const std::string key = json_key(o.name);
    if (!first) s << ",\n";
    first = false;
    for (std::size_t begin = 0; begin != std::string_view::npos;) {
      const std::size_t end = o.help.find('\n', begin);
      s << "  // " << o.help.substr(begin, end == std::string_view::npos ? end : end - begin)
        << "\n";
      begin = end == std::string_view::npos ? end : end + 1;
    }
    s << "  " << json(key).dump() << ": " << values.at(key).dump();
  }
  s << "\n}\n";
  return s.str();
}

json config_to_json(const RunConfig& config, const AlgorithmRegistry& registry) {
  // The order actually used, also when it was the method's default (an unknown method's stays
  // "default": its error document says why).
  RunConfig c = config;
  for (const AlgorithmEntry& e : registry.entries()) {
    if (!c.batch_order && e.name == c.algorithm) c.batch_order = e.default_batch_order;
  }
  if (&registry == &builtin_algorithms()) return run_option_table().to_json(c);
  return make_run_option_table(registry).to_json(c);
}

}  // namespace psgd
