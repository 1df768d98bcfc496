// harness/run_config.hpp — everything one `psgd run` is configured by, and the one option table
// that drives the parser, `--help` (with defaults) and the JSON `config` block.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psgd {

// One convergence target: an absolute training loss, or a fraction of the initial loss.
struct Epsilon {
  double value = 0.5;
  bool relative = true;  // "50%" -> {0.5, true}; "0.3" -> {0.3, false}
  [[nodiscard]] std::string text() const;
};

// Defaults are what `psgd run` uses with no options; each is justified in the option table.
struct RunConfig {
  std::string algorithm = "seq";
  int threads = 1;
  std::string model = "mlp:128x128x128";
  std::string activation = "relu";
  std::string init = "he";
  std::string dataset = "fashion-mnist";
  std::string data_dir;  // empty: the data set's default location
  bool raw_pixels = false;
  std::int64_t batch = 32;
  double step = 0.05;
  std::optional<double> epochs;  // default 1 when neither budget is given
  std::optional<std::int64_t> updates;
  std::optional<double> time_limit_seconds;
  std::uint64_t seed = 1;
  int checkpoints = 4;  // snapshots per epoch
  std::vector<Epsilon> epsilons = {{0.5, true}, {0.25, true}, {0.1, true}};
  std::int64_t eval_samples = 0;  // training samples used for the train loss; 0 = all
  std::int64_t staleness_bins = 1024;
  // Placement (harness/placement.hpp, harness/numa_memory.hpp).
  std::string placement = "compact";
  std::string memory = "local";
  std::string smt = "last";
  std::string topology_synthetic;  // plan on an hwloc synthetic topology (--dry-run only)
  std::string topology_xml;        // plan on an lstopo XML export (--dry-run only)
  bool dry_run = false;
  std::string test_fault = "none";  // for the sweep's crash tests: abort | hang | exit:N
  // Algorithm options (ALGORITHM OPTIONS: added with the synchronisation methods).
  std::optional<std::int64_t> persistence;  // leashed: retries before a drop; none = inf
  bool test_before_cas = false;             // leashed
  std::string backoff = "none";             // at every retry point (algorithms/backoff.hpp)
  std::int64_t backoff_min_ns = 256;
  std::int64_t backoff_max_ns = 65536;
  double backoff_jitter = 0.5;
  std::string lock = "spin";             // mutex, rwlock: spin | os
  std::string rwlock_prefer = "writer";  // rwlock: reader | writer
  std::string out = "-";                 // "-" = stdout
  std::string save_params;
};

// One command-line option. `set` parses and stores a value (throwing ConfigError with a one-line
// message); `get` returns the current value as JSON (for the config block and --help defaults).
struct OptionSpec {
  std::string_view name;     // long name without dashes
  std::string_view metavar;  // empty for flags
  std::string_view help;
  std::function<void(RunConfig&, std::string_view)> set;
  std::function<nlohmann::json(const RunConfig&)> get;
  [[nodiscard]] bool is_flag() const noexcept { return metavar.empty(); }
};

const std::vector<OptionSpec>& run_options();

// Parses `--name=value`, `--name value` and flags; `--config FILE` reads a JSON object of the
// same names. Throws ConfigError on unknown options, bad values, or contradictions.
RunConfig parse_run_args(std::span<const std::string_view> args);

// Cross-option checks that need no data (the ones that do are in the run command).
void validate(const RunConfig& config);

// The `psgd run --help` text, generated from the table.
std::string run_help();

// The JSON `config` block: every option's value, keyed by option name.
nlohmann::json config_to_json(const RunConfig& config);

}  // namespace psgd
