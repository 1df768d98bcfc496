// harness/sweep/spec_parse.cpp — reading and validating a sweep spec, stage by stage: the
// top-level keys, the scale, name and description, base, axes, exclude, seeds, timeout.
#include <algorithm>
#include <cmath>
#include <set>

#include "common/errors.hpp"
#include "common/read_file.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

using nlohmann::ordered_json;

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& key,
                              const std::vector<std::string>& valid) {
  throw ConfigError(where + ": unknown key '" + key + "'; valid: " + join(valid));
}

std::vector<std::string> settable_options() {
  std::vector<std::string> names;
  const auto& owned = sweep_owned_options();
  for (const OptionSpec& o : run_options()) {
    if (std::find(owned.begin(), owned.end(), o.name) == owned.end()) names.emplace_back(o.name);
  }
  names.emplace_back(kRanksKey);  // the sweep's own key: the launcher's process count
  return names;
}

// Why the sweep keeps an option to itself, for the refusal: each its own reason (the seed's
// once served for all, so "out" was answered with seeds).
std::string owned_option_reason(const std::string& name) {
  if (name == "seed") return "seeds come from 'seeds' or 'seed_base'";
  if (name == "out") return "each run's document goes to the results folder, named by its run id";
  if (name == "save-params") return "a sweep keeps no parameters";
  if (name == "config") return "the spec is the configuration: put the options in 'base'";
  if (name == "dry-run") return "use psgd sweep --dry-run";
  if (name == "print-config") return "a run given it prints a template and trains nothing";
  return "psgd sweep --help";
}

const OptionSpec& option_spec(const std::string& where, const std::string& name) {
  const auto& owned = sweep_owned_options();
  if (std::find(owned.begin(), owned.end(), name) != owned.end()) {
    throw ConfigError(where + ": option '" + name + "' is set by the sweep itself (" +
                      owned_option_reason(name) + ")");
  }
  for (const OptionSpec& o : run_options()) {
    if (o.name == name) return o;
  }
  throw ConfigError(where + ": unknown option '" + name + "'; valid: " + join(settable_options()));
}

// The command-line text of a JSON value for option o, checked by the option's own parser.
std::string option_value_text(const std::string& where, const OptionSpec& o,
                              const ordered_json& v) {
  std::string text;
  if (o.is_flag()) {
    if (!v.is_boolean())
      throw ConfigError(where + ": '" + std::string(o.name) + "' is a flag: true or false");
    return v.get<bool>() ? "true" : "false";
  }
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number()) {
    text = v.dump();  // an integer as written; a float as the shortest text that reads back as it
  } else {
    throw ConfigError(where + ": value of '" + std::string(o.name) +
                      "' must be a string or number, got " + v.dump());
  }
  RunConfig probe;
  try {
    o.set(probe, text);
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  return text;
}

// The text of key's value: `ranks` (the sweep's own key, harness/sweep/rank_launch.hpp) or a run
// option checked by its parser; `shown` gets how the value reads in a bundle's label.
std::string key_value_text(const std::string& where, const std::string& key, const ordered_json& v,
                           std::string* shown = nullptr) {
  if (key == kRanksKey) {
    std::string text = ranks_value_text(where, v);
    if (shown != nullptr) *shown = text;
    return text;
  }
  const OptionSpec& o = option_spec(where, key);
  std::string text = option_value_text(where, o, v);
  if (shown != nullptr) *shown = o.is_flag() ? (text == "true" ? key : "no-" + key) : text;
  return text;
}

// Checks that key names an option a spec may set (a run option or `ranks`).
void check_key(const std::string& where, const std::string& key) {
  if (key != kRanksKey) option_spec(where, key);
}

AxisValue axis_value(const std::string& where, const std::string& axis, const ordered_json& v) {
  AxisValue out;
  if (v.is_null()) {
    out.label = "default";
    return out;
  }
  if (v.is_object()) {
    if (v.empty()) throw ConfigError(where + ": a bundle must set at least one option");
    for (const auto& [key, value] : v.items()) {
      check_key(where, key);
      std::string shown;
      out.options[key] = key_value_text(where + "." + key, key, value, &shown);
      out.label += (out.label.empty() ? "" : "-") + shown;
    }
    return out;
  }
  out.options[axis] = key_value_text(where, axis, v);
  out.label = out.options[axis];
  return out;
}

std::uint64_t nonnegative_integer(const std::string& where, const ordered_json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  throw ConfigError(where + " must be a non-negative integer, got " + v.dump());
}

void require_object(const std::string& where, const ordered_json& v) {
  if (!v.is_object()) throw ConfigError(where + " must be a JSON object, got " + v.dump());
}

// Applies a scale's overrides: base and axes merge key by key (null removes a key), every other
// key replaces the spec's value.
ordered_json apply_scale(const ordered_json& doc, const std::string& scale) {
  const std::string where = "scales." + scale;
  const ordered_json& over = doc.at("scales").at(scale);
  require_object(where, over);
  ordered_json merged = doc;
  merged.erase("scales");
  for (const auto& [key, value] : over.items()) {
    if (std::find(scale_keys().begin(), scale_keys().end(), key) == scale_keys().end()) {
      unknown_key(where, key, scale_keys());
    }
    if (key == "base" || key == "axes") {
      require_object(where + "." + key, value);
      ordered_json target = merged.contains(key) ? merged[key] : ordered_json::object();
      require_object(key, target);
      for (const auto& [option, v] : value.items()) {
        if (v.is_null()) {
          target.erase(option);
        } else {
          target[option] = v;
        }
      }
      merged[key] = target;
    } else if (key == "seeds" && !over.contains("seed_base")) {
      merged.erase("seed_base");
      merged[key] = value;
    } else if (key == "seed_base" && !over.contains("seeds")) {
      merged.erase("seeds");
      merged[key] = value;
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

// ---- the stages of parse_sweep_spec, in the order it runs them (and reports errors) ----------
// `in` is "" or " (scale NAME)": every message about the resolved spec says which scale made it.

void check_top_level_keys(const ordered_json& doc) {
  require_object("the spec", doc);
  for (const auto& [key, value] : doc.items()) {
    if (std::find(spec_keys().begin(), spec_keys().end(), key) == spec_keys().end()) {
      unknown_key("spec", key, spec_keys());
    }
  }
}

std::vector<std::string> scale_names(const ordered_json& doc) {
  std::vector<std::string> names;
  if (doc.contains("scales")) {
    require_object("scales", doc["scales"]);
    for (const auto& [name, value] : doc["scales"].items()) names.push_back(name);
  }
  return names;
}

// doc with the scale `spec.scale` applied (none: empty), without its "scales".
ordered_json resolve_scale(const ordered_json& doc, const SweepSpec& spec) {
  if (spec.scale.empty()) {
    ordered_json d = doc;
    d.erase("scales");
    return d;
  }
  if (std::find(spec.scales.begin(), spec.scales.end(), spec.scale) == spec.scales.end()) {
    throw ConfigError(
        "unknown scale '" + spec.scale + "'; valid: " +
        (spec.scales.empty() ? std::string("none (the spec has no scales)") : join(spec.scales)));
  }
  return apply_scale(doc, spec.scale);
}

// name (which names the results folder), description and figure.
void parse_identity(const ordered_json& d, SweepSpec& spec) {
  if (!d.contains("name") || !d["name"].is_string() || d["name"].get<std::string>().empty()) {
    throw ConfigError("spec: 'name' (a non-empty string) is required");
  }
  spec.name = d["name"].get<std::string>();
  if (slug_part(spec.name) != spec.name || spec.name.find('.') != std::string::npos) {
    throw ConfigError("spec: 'name' names the results folder: use letters, digits and '-', got '" +
                      spec.name + "'");
  }
  for (const char* key : {"description", "figure"}) {
    if (!d.contains(key)) continue;
    if (!d[key].is_string()) throw ConfigError(std::string("spec: '") + key + "' must be a string");
  }
  spec.description = d.value("description", "");
  spec.figure = d.value("figure", "");
}

OptionMap parse_base(const ordered_json& d, const std::string& in) {
  OptionMap base;
  if (!d.contains("base")) return base;
  require_object("base" + in, d["base"]);
  for (const auto& [key, value] : d["base"].items()) {
    check_key("base" + in, key);
    if (value.is_null()) continue;
    base[key] = key_value_text("base." + key + in, key, value);
  }
  return base;
}

std::vector<SweepAxis> parse_axes(const ordered_json& d, const std::string& in) {
  std::vector<SweepAxis> axes;
  if (!d.contains("axes")) return axes;
  require_object("axes" + in, d["axes"]);
  for (const auto& [key, values] : d["axes"].items()) {
    check_key("axes" + in, key);  // the axis itself must name an option (or ranks)
    if (!values.is_array() || values.empty()) {
      throw ConfigError("axes." + key + in + " must be a non-empty array of values");
    }
    SweepAxis axis{key, {}};
    for (std::size_t i = 0; i < values.size(); ++i) {
      axis.values.push_back(
          axis_value("axes." + key + "[" + std::to_string(i) + "]" + in, key, values[i]));
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<ExcludeRule> parse_exclude(const ordered_json& d, const std::string& in) {
  std::vector<ExcludeRule> rules;
  if (!d.contains("exclude")) return rules;
  if (!d["exclude"].is_array()) throw ConfigError("exclude" + in + " must be an array of objects");
  for (std::size_t i = 0; i < d["exclude"].size(); ++i) {
    const std::string where = "exclude[" + std::to_string(i) + "]" + in;
    const ordered_json& rule = d["exclude"][i];
    require_object(where, rule);
    ExcludeRule parsed;
    for (const auto& [key, value] : rule.items()) {
      check_key(where, key);
      const ordered_json list = value.is_array() ? value : ordered_json::array({value});
      for (const auto& item : list)
        parsed[key].push_back(key_value_text(where + "." + key, key, item));
    }
    rules.push_back(std::move(parsed));
  }
  return rules;
}

// One seed per repetition: the listed seeds, else seed_base, seed_base + 1, ... (seed_base 1).
std::vector<std::uint64_t> parse_seeds(const ordered_json& d, const std::string& in) {
  std::vector<std::uint64_t> seeds;
  if (d.contains("seeds")) {
    if (!d["seeds"].is_array() || d["seeds"].empty()) {
      throw ConfigError("seeds" + in + " must be a non-empty array of non-negative integers");
    }
    if (d.contains("seed_base"))
      throw ConfigError("spec" + in + ": give 'seeds' or 'seed_base', not both");
    for (const auto& s : d["seeds"]) seeds.push_back(nonnegative_integer("seeds" + in, s));
  }
  std::uint64_t repetitions = seeds.empty() ? 1 : seeds.size();
  if (d.contains("repetitions")) {
    const ordered_json& r = d["repetitions"];
    if (!r.is_number_integer() || r.get<std::int64_t>() < 1) {
      throw ConfigError("repetitions" + in + " must be a positive integer, got " + r.dump());
    }
    repetitions = r.get<std::uint64_t>();
    if (repetitions > kMaxSweepRuns) {
      throw ConfigError("repetitions" + in + " is " + std::to_string(repetitions) +
                        ", more than the limit of " + std::to_string(kMaxSweepRuns) +
                        " runs per sweep");
    }
    if (!seeds.empty() && repetitions != seeds.size()) {
      throw ConfigError("spec" + in + ": repetitions is " + std::to_string(repetitions) +
                        " but seeds has " + std::to_string(seeds.size()) + " entries");
    }
  }
  if (seeds.empty()) {
    const std::uint64_t seed_base =
        d.contains("seed_base") ? nonnegative_integer("seed_base" + in, d["seed_base"]) : 1;
    for (std::uint64_t r = 0; r < repetitions; ++r) seeds.push_back(seed_base + r);
  }
  // Two repetitions with one seed are the same run twice: identical numbers, no information.
  std::set<std::uint64_t> seen;
  for (const std::uint64_t seed : seeds) {
    if (!seen.insert(seed).second) {
      throw ConfigError("seeds" + in + " lists " + std::to_string(seed) +
                        " twice: repetitions with one seed are identical runs");
    }
  }
  return seeds;
}

double parse_timeout(const ordered_json& d, const std::string& in) {
  if (!d.contains("timeout_seconds")) return kDefaultTimeoutSeconds;
  const ordered_json& t = d["timeout_seconds"];
  if (!t.is_number() || !(t.get<double>() > 0.0) || !(t.get<double>() <= kMaxTimeoutSeconds)) {
    throw ConfigError("timeout_seconds" + in + " must be a number of seconds in (0, " +
                      ordered_json(kMaxTimeoutSeconds).dump() + "] (a year), got " + t.dump());
  }
  return t.get<double>();
}

}  // namespace

std::string SweepSpec::sweep_id() const { return scale.empty() ? name : name + "-" + scale; }

const std::vector<std::string>& spec_keys() {
  static const std::vector<std::string> keys = {
      "name",  "description", "figure",          "base",   "axes", "exclude", "repetitions",
      "seeds", "seed_base",   "timeout_seconds", "scales", "slurm"};
  return keys;
}

const std::vector<std::string>& scale_keys() {
  static const std::vector<std::string> keys = {
      "description",     "base", "axes", "exclude", "repetitions", "seeds", "seed_base",
      "timeout_seconds", "slurm"};
  return keys;
}

const std::vector<std::string>& sweep_owned_options() {
  static const std::vector<std::string> names = {"seed",   "out",  "dry-run",     "save-params",
                                                 "config", "help", "print-config"};
  return names;
}

SweepSpec parse_sweep_spec(const ordered_json& doc, std::string_view scale_name) {
  check_top_level_keys(doc);
  SweepSpec spec;
  spec.scales = scale_names(doc);
  spec.scale = scale_name;
  const ordered_json d = resolve_scale(doc, spec);
  const std::string in = spec.scale.empty() ? "" : " (scale " + spec.scale + ")";
  parse_identity(d, spec);
  spec.base = parse_base(d, in);
  spec.axes = parse_axes(d, in);
  spec.exclude = parse_exclude(d, in);
  spec.seeds = parse_seeds(d, in);
  spec.timeout_seconds = parse_timeout(d, in);
  spec.resolved = d;
  return spec;
}

SweepSpec load_sweep_spec(const std::string& path, std::string_view scale) {
  const std::string text = read_text_file(path, "sweep spec");
  ordered_json doc;
  try {
    doc = ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("sweep spec '" + path + "' is not valid JSON: " + e.what());
  }
  try {
    return parse_sweep_spec(doc, scale);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace psgd
