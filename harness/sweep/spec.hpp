// harness/sweep/spec.hpp — a sweep specification (experiments/*.json) and its expansion into
// planned runs (parsing in spec_parse.cpp, expansion in spec_expand.cpp).
//
// A spec names a base configuration of `psgd run` options, axes of values for any of those
// options, repetitions with explicit seeds, a per-run timeout and optional named scales that
// override parts of it. Every key and value is validated against the run option table
// (harness/run/run_config.hpp) before anything runs, so a typo fails in a second, not after an hour
// of sweeping. The format is documented in docs/sweeps.md, "Spec format".
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harness/run/run_config.hpp"

namespace psgd {

// Resolved run options: option name -> value as the command line carries it. A flag is stored
// as "true" (passed as --name) or "false" (left out). Sorted by name, so it hashes canonically.
using OptionMap = std::map<std::string, std::string>;

// Without timeout_seconds a run may take this long: an MLP epoch on one slow core fits with
// room to spare; every spec in experiments/ sets its own.
inline constexpr double kDefaultTimeoutSeconds = 1800.0;
// The longest per-run timeout accepted (timeout_seconds, --timeout): a year is a typo on any run
// this harness makes, and bounds the Slurm time limit computed from it (1e300 once wrote
// `#SBATCH --time=-6405119470038038--18:-8:00`).
inline constexpr double kMaxTimeoutSeconds = 365.0 * 24 * 3600;

// Most runs (grid points before exclusions x repetitions) one sweep may plan. A planned run takes
// about 3 KB, so the limit bounds a plan at about 300 MB; the largest full scale in experiments/
// plans 5,400 runs, and a sweep of 10^5 runs of even one second each takes more than a day.
// Above it the spec is refused before anything is allocated: split it into several specs.
inline constexpr std::uint64_t kMaxSweepRuns = 100000;

// One value of an axis: a scalar sets the axis option; a bundle (a JSON object) sets several
// options together, e.g. a backoff policy with its parameters.
struct AxisValue {
  std::string label;  // how the value appears in run ids and progress lines
  OptionMap options;  // what it sets; empty for a null value (the option's default)
};

struct SweepAxis {
  std::string name;  // a run option name
  std::vector<AxisValue> values;
};

// An exclude entry: option -> the values that match (a point matches when every option does).
using ExcludeRule = std::map<std::string, std::vector<std::string>>;

// A spec with its scale applied and every key and value checked. Plain data.
struct SweepSpec {
  std::string name;
  std::string scale;  // empty: the spec as written, without a scale's overrides
  std::string description;
  std::string figure;
  OptionMap base;
  std::vector<SweepAxis> axes;
  std::vector<ExcludeRule> exclude;  // a point matching any one rule is left out
  std::vector<std::uint64_t> seeds;  // one per repetition
  double timeout_seconds = 0.0;
  std::vector<std::string> scales;  // the scale names the spec offers
  nlohmann::ordered_json resolved;  // the merged JSON (scale applied), recorded in sweep.json

  // The results folder name: "<name>" or "<name>-<scale>".
  [[nodiscard]] std::string sweep_id() const;
};

// One child `psgd run` of the sweep: a point of the grid at one repetition.
struct PlannedRun {
  std::string run_id;    // file stem: "<slug>__r<rep>-<hash of options and seed>"
  std::string point_id;  // "<slug>": the same for every repetition of the point
  int repetition = 0;
  std::uint64_t seed = 0;
  OptionMap options;  // base + axis values, without seed and out
  std::vector<std::pair<std::string, std::string>> axis_labels;  // axis name -> value label

  // The arguments after `psgd run`: every option as --name=value, then --seed and --out.
  [[nodiscard]] std::vector<std::string> run_args(const std::string& out_path) const;
  // The RunConfig the child will parse (for the config block of a crashed run's document).
  [[nodiscard]] RunConfig run_config(const std::string& out_path) const;
};

// Top-level keys of a spec, and the keys a scale may override.
const std::vector<std::string>& spec_keys();
const std::vector<std::string>& scale_keys();
// Options a spec may not set: the sweep owns them (seed, out) or they produce no run document.
const std::vector<std::string>& sweep_owned_options();

// Validates doc and applies the scale named `scale` (empty: none). Throws ConfigError whose
// message names the offending key, and lists the valid names for an unknown key or scale.
SweepSpec parse_sweep_spec(const nlohmann::ordered_json& doc, std::string_view scale);

// Reads and parses a spec file. Throws ConfigError for unreadable or invalid JSON.
SweepSpec load_sweep_spec(const std::string& path, std::string_view scale);

// Every point x repetition, repetition-major (all points of repetition 0 first, so an
// interrupted sweep has whole repetitions and slow drift of the machine spreads over every
// point). Each point's options are checked with validate(); duplicates are errors.
std::vector<PlannedRun> expand(const SweepSpec& spec);

// The option columns of the sweep index: every axis option and every option a bundle sets, then
// the options most figures group by (algo, threads, batch, ...), each once.
std::vector<std::string> index_option_columns(const SweepSpec& spec);

// A run's value of option `name`: the resolved text, else the option table's default.
std::string option_text(const PlannedRun& run, const std::string& name);

// text as part of a run id, a file name: letters, digits and '.' are kept, every other run of
// characters becomes one '-' (none at either end), and nothing left becomes "x".
std::string slug_part(std::string_view text);

// 6 hex digits of a 64-bit FNV-1a hash: enough to tell a spec edit from the same run.
std::string short_hash(std::string_view text);

}  // namespace psgd
