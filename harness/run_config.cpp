// harness/run_config.cpp — the option table and everything generated from it.
#include "harness/run_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "algorithms/backoff.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using nlohmann::json;

[[noreturn]] void bad_value(std::string_view option, std::string_view text, std::string_view want) {
  throw ConfigError("--" + std::string(option) + " must be " + std::string(want) + ", got '" +
                    std::string(text) + "'");
}

std::int64_t parse_int(std::string_view option, std::string_view text, std::int64_t min) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min) {
    bad_value(option, text,
              min > 0 ? "a positive integer" : "an integer >= " + std::to_string(min));
  }
  return v;
}

double parse_positive(std::string_view option, std::string_view text) {
  // std::from_chars for double is in GCC 12's libstdc++; it rejects "1e", "nan" text etc.
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0.0) {
    bad_value(option, text, "a positive number");
  }
  return v;
}

Epsilon parse_epsilon(std::string_view text) {
  if (!text.empty() && text.back() == '%') {
    const double pct = parse_positive("epsilon", text.substr(0, text.size() - 1));
    if (pct >= 100.0) bad_value("epsilon", text, "below 100% of the initial loss");
    return {pct / 100.0, true};
  }
  return {parse_positive("epsilon", text), false};
}

std::vector<Epsilon> parse_epsilons(std::string_view text) {
  std::vector<Epsilon> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) bad_value("epsilon", text, "a comma-separated list like 50%,25%,0.3");
    out.push_back(parse_epsilon(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

template <class T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::vector<OptionSpec> make_table() {
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
        c.threads = static_cast<int>(parse_int("threads", v, 1));
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
      [](RunConfig& c, std::string_view v) { c.batch = parse_int("batch", v, 1); },
      [](const RunConfig& c) { return json(c.batch); });
  add(
      "step", "ETA", "step size (learning rate)",
      [](RunConfig& c, std::string_view v) { c.step = parse_positive("step", v); },
      [](const RunConfig& c) { return json(c.step); });
  add(
      "epochs", "E", "budget in epochs of N/b applied updates (default 1 if no budget is given)",
      [](RunConfig& c, std::string_view v) { c.epochs = parse_positive("epochs", v); },
      [](const RunConfig& c) { return optional_json(c.epochs); });
  add(
      "updates", "U", "budget in applied updates (instead of --epochs)",
      [](RunConfig& c, std::string_view v) { c.updates = parse_int("updates", v, 1); },
      [](const RunConfig& c) { return optional_json(c.updates); });
  add(
      "time-limit", "SECONDS",
      "stop after this much training time (with or without an update budget)",
      [](RunConfig& c, std::string_view v) {
        c.time_limit_seconds = parse_positive("time-limit", v);
      },
      [](const RunConfig& c) { return optional_json(c.time_limit_seconds); });
  add(
      "seed", "S", "master seed: initialisation, and each worker's batch stream from (S, worker)",
      [](RunConfig& c, std::string_view v) {
        c.seed = static_cast<std::uint64_t>(parse_int("seed", v, 0));
      },
      [](const RunConfig& c) { return json(c.seed); });
  add(
      "checkpoints", "K", "parameter snapshots per epoch, evaluated after training",
      [](RunConfig& c, std::string_view v) {
        c.checkpoints = static_cast<int>(parse_int("checkpoints", v, 1));
      },
      [](const RunConfig& c) { return json(c.checkpoints); });
  add(
      "epsilon", "LIST",
      "target train losses, absolute (0.3) or relative to the initial loss (50%)",
      [](RunConfig& c, std::string_view v) { c.epsilons = parse_epsilons(v); },
      [](const RunConfig& c) {
        std::string s;
        for (const Epsilon& e : c.epsilons) s += (s.empty() ? "" : ",") + e.text();
        return json(s);
      });
  add(
      "eval-samples", "N", "training samples the train loss is evaluated on (0 = all)",
      [](RunConfig& c, std::string_view v) { c.eval_samples = parse_int("eval-samples", v, 0); },
      [](const RunConfig& c) { return json(c.eval_samples); });
  add(
      "staleness-bins", "N", "exact staleness histogram bins; larger values go to an overflow bin",
      [](RunConfig& c, std::string_view v) {
        c.staleness_bins = parse_int("staleness-bins", v, 1);
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
  // ALGORITHM OPTIONS: the synchronisation methods' options go here.
  // Defaults and why (costs measured on the dev host, AMD EPYC Zen 3 KVM guest; see
  // algorithms/backoff.hpp and algorithms/bench/):
  //   persistence inf: the reference framework's default; dropping gradients is an experiment.
  //   backoff none: immediate retry, the reference framework's behaviour and the baseline that
  //     every backoff policy is compared against.
  //   backoff-min 256 ns: about two polls of the wait loop (pause 62 ns + steady_clock 73 ns);
  //     shorter waits are below its resolution. Also a few cache-line transfers between cores.
  //   backoff-max 65536 ns = 256 ns * 2^8: about one critical section or one Leashed publish of
  //     the default model (a copy of mlp:128x128x128, 135k floats, is 46 us); waiting longer
  //     than the thing being waited for only leaves the lock or the pointer idle.
  //   backoff-jitter 0.5 ("equal jitter"): half of each wait is random, so workers that failed
  //     on the same CAS or lock do not retry in lock step, and every wait keeps half its length.
  //   lock spin: every failed try_lock is a counted retry point where --backoff applies; os
  //     (std::mutex, pthread rwlock) is the reference framework's blocking lock.
  //   rwlock-prefer writer: updates are the progress; with reader preference (glibc's default)
  //     a stream of copies can starve them, which inflates staleness.
  add(
      "persistence", "B",
      "leashed: failed publish attempts retried before the gradient is dropped (B + 1 attempts "
      "in all): an integer >= 0 or inf (never drop)",
      [](RunConfig& c, std::string_view v) {
        if (v == "inf") {
          c.persistence.reset();
        } else {
          c.persistence = parse_int("persistence", v, 0);
        }
      },
      [](const RunConfig& c) { return c.persistence ? json(*c.persistence) : json("inf"); });
  add(
      "test-before-cas", "", "leashed: re-read the latest pointer and skip a CAS that would fail",
      [](RunConfig& c, std::string_view) { c.test_before_cas = true; },
      [](const RunConfig& c) { return json(c.test_before_cas); });
  add(
      "backoff", "POLICY",
      "wait after a failed try_lock (--lock spin) or CAS: none | constant (min) | linear "
      "(k * min) | exponential (min * 2^(k-1)), capped at max",
      [](RunConfig& c, std::string_view v) {
        if (std::find(std::begin(kBackoffNames), std::end(kBackoffNames), v) ==
            std::end(kBackoffNames)) {
          bad_value("backoff", v, "none, constant, linear or exponential");
        }
        c.backoff = v;
      },
      [](const RunConfig& c) { return json(c.backoff); });
  add(
      "backoff-min", "NS", "first (and constant) backoff wait in nanoseconds",
      [](RunConfig& c, std::string_view v) { c.backoff_min_ns = parse_int("backoff-min", v, 1); },
      [](const RunConfig& c) { return json(c.backoff_min_ns); });
  add(
      "backoff-max", "NS", "longest backoff wait in nanoseconds (at most 1e9)",
      [](RunConfig& c, std::string_view v) { c.backoff_max_ns = parse_int("backoff-max", v, 1); },
      [](const RunConfig& c) { return json(c.backoff_max_ns); });
  add(
      "backoff-jitter", "F",
      "fraction of each backoff wait drawn at random, in [0, 1] (0: exact waits, 1: full jitter)",
      [](RunConfig& c, std::string_view v) {
        double f = -1.0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), f);
        if (ec != std::errc() || end != v.data() + v.size() || !(f >= 0.0 && f <= 1.0)) {
          bad_value("backoff-jitter", v, "a number in [0, 1]");
        }
        c.backoff_jitter = f;
      },
      [](const RunConfig& c) { return json(c.backoff_jitter); });
  add(
      "lock", "MODE",
      "mutex, rwlock: spin (try_lock + --backoff, failures counted) | os (blocking std::mutex / "
      "pthread rwlock)",
      [](RunConfig& c, std::string_view v) {
        if (v != "spin" && v != "os") bad_value("lock", v, "spin or os");
        c.lock = v;
      },
      [](const RunConfig& c) { return json(c.lock); });
  add(
      "rwlock-prefer", "SIDE", "rwlock: which side enters first when both wait: reader | writer",
      [](RunConfig& c, std::string_view v) {
        if (v != "reader" && v != "writer") bad_value("rwlock-prefer", v, "reader or writer");
        c.rwlock_prefer = v;
      },
      [](const RunConfig& c) { return json(c.rwlock_prefer); });
  add(
      "test-fault", "KIND",
      "testing only: fail on purpose after loading the data: none | abort | hang | exit:N",
      [](RunConfig& c, std::string_view v) {
        if (v != "none" && v != "abort" && v != "hang" &&
            !(v.substr(0, 5) == "exit:" && parse_int("test-fault", v.substr(5), 1) > 0)) {
          bad_value("test-fault", v, "none, abort, hang or exit:N");
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
      "write the final parameters as raw little-endian float32 (+ PATH.json)",
      [](RunConfig& c, std::string_view v) { c.save_params = v; },
      [](const RunConfig& c) { return json(c.save_params); });
  return t;
}

const OptionSpec& find_option(std::string_view name) {
  for (const OptionSpec& o : run_options()) {
    if (o.name == name) return o;
  }
  std::string valid;
  for (const OptionSpec& o : run_options())
    valid += (valid.empty() ? "--" : ", --") + std::string(o.name);
  throw ConfigError("unknown option '--" + std::string(name) + "'; valid: " + valid +
                    ", --config, --help");
}

void apply_config_file(RunConfig& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("--config: cannot read '" + path + "'");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw ConfigError("--config: '" + path + "' is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw ConfigError("--config: '" + path + "' must hold a JSON object");
  for (const auto& [key, value] : doc.items()) {
    const OptionSpec& o = find_option(key);
    if (o.is_flag()) {
      if (!value.is_boolean()) throw ConfigError("--config: '" + key + "' must be true or false");
      if (value.get<bool>()) o.set(c, "");
    } else {
      o.set(c, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
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

const std::vector<OptionSpec>& run_options() {
  static const std::vector<OptionSpec> table = make_table();
  return table;
}

RunConfig parse_run_args(std::span<const std::string_view> args) {
  RunConfig c;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      throw ConfigError("unexpected argument '" + std::string(arg) +
                        "'; options look like --name=value");
    }
    arg.remove_prefix(2);
    std::string_view value;
    const std::size_t eq = arg.find('=');
    const bool has_value = eq != std::string_view::npos;
    if (has_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (arg == "config") {
      if (!has_value) {
        if (i + 1 >= args.size()) throw ConfigError("--config needs a FILE");
        value = args[++i];
      }
      apply_config_file(c, std::string(value));
      continue;
    }
    const OptionSpec& o = find_option(arg);
    if (o.is_flag()) {
      if (has_value) throw ConfigError("--" + std::string(arg) + " takes no value");
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        throw ConfigError("--" + std::string(arg) + " needs a value (" + std::string(o.metavar) +
                          ")");
      }
      value = args[++i];
    }
    o.set(c, value);
  }
  validate(c);
  return c;
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
  // Algorithm options (the per-algorithm applicability checks are in harness/registry.cpp).
  if (c.backoff_max_ns < c.backoff_min_ns) {
    throw ConfigError("--backoff-max (" + std::to_string(c.backoff_max_ns) +
                      " ns) is below --backoff-min (" + std::to_string(c.backoff_min_ns) + " ns)");
  }
  if (c.backoff_max_ns > 1'000'000'000) {
    throw ConfigError("--backoff-max must be at most 1e9 ns (1 s): a longer wait is a hang");
  }
  if (c.lock == "os" && c.backoff != "none" &&
      (c.algorithm == "mutex" || c.algorithm == "rwlock")) {
    throw ConfigError("--backoff " + c.backoff +
                      " needs --lock spin: an OS lock blocks in the kernel until it is free, so it "
                      "has no failed attempt to back off after");
  }
}

std::string run_help() {
  std::ostringstream s;
  s << "usage: psgd run [--option=value ...]\n\n"
       "Trains one model with one algorithm and writes one JSON document (schema in README.md).\n"
       "Options (default in brackets):\n";
  const RunConfig defaults;
  for (const OptionSpec& o : run_options()) {
    std::string left = "  --" + std::string(o.name);
    if (!o.is_flag()) left += "=" + std::string(o.metavar);
    s << left;
    s << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') << o.help;
    const json d = o.get(defaults);
    if (!o.is_flag() && !d.is_null() && !(d.is_string() && d.get<std::string>().empty())) {
      s << " [" << (d.is_string() ? d.get<std::string>() : d.dump()) << "]";
    }
    s << "\n";
  }
  s << "  --config=FILE             read options from a JSON object {\"batch\": 64, ...}\n"
       "  --help                    this text\n"
       "\nExit codes: 0 run finished (any status but error), 2 bad arguments, 3 bad environment "
       "or data.\n";
  return s.str();
}

json config_to_json(const RunConfig& c) {
  json j = json::object();
  for (const OptionSpec& o : run_options()) j[std::string(o.name)] = o.get(c);
  return j;
}

}  // namespace psgd
