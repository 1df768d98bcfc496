// harness/sweep/spec.cpp — parsing, validation and expansion of sweep specs.
#include "harness/sweep/spec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "common/errors.hpp"

namespace psgd {
namespace {

using nlohmann::ordered_json;

// Run ids become file names; beyond this the slug is cut (the hash keeps ids unique).
constexpr std::size_t kMaxSlugChars = 120;
// Without timeout_seconds a run may take this long: an MLP epoch on one slow core fits with
// room to spare; every spec in experiments/ sets its own.
constexpr double kDefaultTimeoutSeconds = 1800.0;

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
  return names;
}

const OptionSpec& option_spec(const std::string& where, const std::string& name) {
  const auto& owned = sweep_owned_options();
  if (std::find(owned.begin(), owned.end(), name) != owned.end()) {
    throw ConfigError(where + ": option '" + name +
                      "' is set by the sweep itself (seeds come from 'seeds' or 'seed_base')");
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
  } else if (v.is_number_integer() || v.is_number_unsigned()) {
    text = v.dump();
  } else if (v.is_number_float()) {
    text = v.dump();  // shortest text that reads back as the same double
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

// Keeps a file name readable and portable: letters, digits, '.' and '-'.
std::string slug_part(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.';
    if (keep) {
      out += ch;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "x" : out;
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
      const OptionSpec& o = option_spec(where, key);
      const std::string text = option_value_text(where + "." + key, o, value);
      out.options[key] = text;
      const std::string shown = o.is_flag() ? (text == "true" ? key : "no-" + key) : text;
      out.label += (out.label.empty() ? "" : "-") + shown;
    }
    return out;
  }
  const OptionSpec& o = option_spec(where, axis);
  out.options[axis] = option_value_text(where, o, v);
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

// The text of option `name` in a run's options, or the option table's default when unset.
std::string resolved_text(const OptionMap& options, const std::string& name) {
  const auto it = options.find(name);
  if (it != options.end()) return it->second;
  static const RunConfig defaults;
  for (const OptionSpec& o : run_options()) {
    if (o.name != name) continue;
    const nlohmann::json v = o.get(defaults);
    if (o.is_flag()) return v.is_boolean() && v.get<bool>() ? "true" : "false";
    if (v.is_null()) return "";
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  return "";
}

bool matches(const std::map<std::string, std::vector<std::string>>& rule,
             const OptionMap& options) {
  for (const auto& [name, accepted] : rule) {
    const std::string value = resolved_text(options, name);
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) return false;
  }
  return true;
}

std::string canonical(const OptionMap& options) {
  std::string s;
  for (const auto& [name, value] : options) s += name + "=" + value + "\n";
  return s;
}

}  // namespace

std::string SweepSpec::sweep_id() const { return scale.empty() ? name : name + "-" + scale; }

std::vector<std::string> PlannedRun::run_args(const std::string& out_path) const {
  std::vector<std::string> args;
  for (const auto& [name, value] : options) {
    bool is_flag = false;
    for (const OptionSpec& o : run_options()) {
      if (o.name == name) is_flag = o.is_flag();
    }
    if (is_flag) {
      if (value == "true") args.push_back("--" + name);
    } else {
      // --name=value: a value starting with '-' can never be taken for an option.
      args.push_back("--" + name + "=" + value);
    }
  }
  args.push_back("--seed=" + std::to_string(seed));
  args.push_back("--out=" + out_path);
  return args;
}

RunConfig PlannedRun::run_config(const std::string& out_path) const {
  const std::vector<std::string> args = run_args(out_path);
  const std::vector<std::string_view> views(args.begin(), args.end());
  return parse_run_args(views);
}

const std::vector<std::string>& spec_keys() {
  static const std::vector<std::string> keys = {
      "name",  "description", "figure",          "base",  "axes", "exclude", "repetitions",
      "seeds", "seed_base",   "timeout_seconds", "scales"};
  return keys;
}

const std::vector<std::string>& scale_keys() {
  static const std::vector<std::string> keys = {"description", "base",           "axes",
                                                "exclude",     "repetitions",    "seeds",
                                                "seed_base",   "timeout_seconds"};
  return keys;
}

const std::vector<std::string>& sweep_owned_options() {
  static const std::vector<std::string> names = {"seed",        "out",    "dry-run",
                                                 "save-params", "config", "help"};
  return names;
}

SweepSpec parse_sweep_spec(const ordered_json& doc, std::string_view scale_name) {
  require_object("the spec", doc);
  for (const auto& [key, value] : doc.items()) {
    if (std::find(spec_keys().begin(), spec_keys().end(), key) == spec_keys().end()) {
      unknown_key("spec", key, spec_keys());
    }
  }
  SweepSpec spec;
  if (doc.contains("scales")) {
    require_object("scales", doc["scales"]);
    for (const auto& [name, value] : doc["scales"].items()) spec.scales.push_back(name);
  }
  const std::string scale(scale_name);
  ordered_json d = doc;
  if (!scale.empty()) {
    if (std::find(spec.scales.begin(), spec.scales.end(), scale) == spec.scales.end()) {
      throw ConfigError(
          "unknown scale '" + scale + "'; valid: " +
          (spec.scales.empty() ? std::string("none (the spec has no scales)") : join(spec.scales)));
    }
    d = apply_scale(doc, scale);
  } else {
    d.erase("scales");
  }
  spec.scale = scale;
  const std::string in = scale.empty() ? "" : " (scale " + scale + ")";

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

  if (d.contains("base")) {
    require_object("base" + in, d["base"]);
    for (const auto& [key, value] : d["base"].items()) {
      const std::string where = "base." + key + in;
      const OptionSpec& o = option_spec("base" + in, key);
      if (value.is_null()) continue;
      spec.base[key] = option_value_text(where, o, value);
    }
  }

  if (d.contains("axes")) {
    require_object("axes" + in, d["axes"]);
    for (const auto& [key, values] : d["axes"].items()) {
      const std::string where = "axes." + key + in;
      option_spec("axes" + in, key);  // the axis itself must name an option
      if (!values.is_array() || values.empty()) {
        throw ConfigError(where + " must be a non-empty array of values");
      }
      SweepAxis axis{key, {}};
      for (std::size_t i = 0; i < values.size(); ++i) {
        axis.values.push_back(
            axis_value("axes." + key + "[" + std::to_string(i) + "]" + in, key, values[i]));
      }
      spec.axes.push_back(std::move(axis));
    }
  }

  if (d.contains("exclude")) {
    if (!d["exclude"].is_array())
      throw ConfigError("exclude" + in + " must be an array of objects");
    for (std::size_t i = 0; i < d["exclude"].size(); ++i) {
      const std::string where = "exclude[" + std::to_string(i) + "]" + in;
      const ordered_json& rule = d["exclude"][i];
      require_object(where, rule);
      std::map<std::string, std::vector<std::string>> parsed;
      for (const auto& [key, value] : rule.items()) {
        const OptionSpec& o = option_spec(where, key);
        const ordered_json list = value.is_array() ? value : ordered_json::array({value});
        for (const auto& item : list)
          parsed[key].push_back(option_value_text(where + "." + key, o, item));
      }
      spec.exclude.push_back(std::move(parsed));
    }
  }

  if (d.contains("seeds")) {
    if (!d["seeds"].is_array() || d["seeds"].empty()) {
      throw ConfigError("seeds" + in + " must be a non-empty array of non-negative integers");
    }
    if (d.contains("seed_base"))
      throw ConfigError("spec" + in + ": give 'seeds' or 'seed_base', not both");
    for (const auto& s : d["seeds"]) spec.seeds.push_back(nonnegative_integer("seeds" + in, s));
  }
  std::uint64_t repetitions = spec.seeds.empty() ? 1 : spec.seeds.size();
  if (d.contains("repetitions")) {
    const ordered_json& r = d["repetitions"];
    if (!r.is_number_integer() || r.get<std::int64_t>() < 1) {
      throw ConfigError("repetitions" + in + " must be a positive integer, got " + r.dump());
    }
    repetitions = r.get<std::uint64_t>();
    if (!spec.seeds.empty() && repetitions != spec.seeds.size()) {
      throw ConfigError("spec" + in + ": repetitions is " + std::to_string(repetitions) +
                        " but seeds has " + std::to_string(spec.seeds.size()) + " entries");
    }
  }
  if (spec.seeds.empty()) {
    const std::uint64_t seed_base =
        d.contains("seed_base") ? nonnegative_integer("seed_base" + in, d["seed_base"]) : 1;
    for (std::uint64_t r = 0; r < repetitions; ++r) spec.seeds.push_back(seed_base + r);
  }

  spec.timeout_seconds = kDefaultTimeoutSeconds;
  if (d.contains("timeout_seconds")) {
    const ordered_json& t = d["timeout_seconds"];
    if (!t.is_number() || !(t.get<double>() > 0.0) || !std::isfinite(t.get<double>())) {
      throw ConfigError("timeout_seconds" + in + " must be a positive number of seconds, got " +
                        t.dump());
    }
    spec.timeout_seconds = t.get<double>();
  }
  spec.resolved = d;
  return spec;
}

SweepSpec load_sweep_spec(const std::string& path, std::string_view scale) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read sweep spec '" + path + "'");
  ordered_json doc;
  try {
    doc = ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("sweep spec '" + path + "' is not valid JSON: " + e.what());
  }
  try {
    return parse_sweep_spec(doc, scale);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

std::vector<PlannedRun> expand(const SweepSpec& spec) {
  // The grid's points in axis order, the last axis varying fastest.
  std::vector<std::size_t> index(spec.axes.size(), 0);
  struct Point {
    OptionMap options;
    std::vector<std::pair<std::string, std::string>> labels;
    std::string slug;
  };
  std::vector<Point> points;
  for (;;) {
    Point p{spec.base, {}, {}};
    for (std::size_t a = 0; a < spec.axes.size(); ++a) {
      const SweepAxis& axis = spec.axes[a];
      const AxisValue& v = axis.values[index[a]];
      if (v.options.empty()) p.options.erase(axis.name);  // null: the option's default
      for (const auto& [name, text] : v.options) p.options[name] = text;
      p.labels.emplace_back(axis.name, v.label);
      p.slug += (p.slug.empty() ? "" : "_") + slug_part(axis.name) + "-" + slug_part(v.label);
    }
    if (p.slug.empty()) p.slug = "base";
    if (p.slug.size() > kMaxSlugChars) p.slug.resize(kMaxSlugChars);
    const bool excluded = std::any_of(spec.exclude.begin(), spec.exclude.end(),
                                      [&](const auto& rule) { return matches(rule, p.options); });
    if (!excluded) points.push_back(std::move(p));
    // Advance the odometer; wrapping the first axis means every point has been made.
    std::size_t a = spec.axes.size();
    bool wrapped = true;
    while (a > 0) {
      --a;
      if (++index[a] < spec.axes[a].values.size()) {
        wrapped = false;
        break;
      }
      index[a] = 0;
    }
    if (wrapped) break;
  }
  if (points.empty()) throw ConfigError("the spec's exclude rules leave no point to run");

  std::vector<PlannedRun> runs;
  std::set<std::string> ids;
  std::set<std::string> seen_points;
  for (const Point& p : points) {
    if (!seen_points.insert(canonical(p.options)).second) {
      throw ConfigError("point " + p.slug + " repeats the options of an earlier point");
    }
  }
  for (std::size_t r = 0; r < spec.seeds.size(); ++r) {
    for (const Point& p : points) {
      PlannedRun run;
      run.point_id = p.slug;
      run.repetition = static_cast<int>(r);
      run.seed = spec.seeds[r];
      run.options = p.options;
      run.axis_labels = p.labels;
      run.run_id = p.slug + "__r" + std::to_string(r) + "-" +
                   short_hash(canonical(p.options) + "seed=" + std::to_string(run.seed) + "\n");
      if (!ids.insert(run.run_id).second) {
        throw ConfigError("run " + run.run_id + " is planned twice (repeated seeds?)");
      }
      if (r == 0) {
        try {
          (void)run.run_config("-");  // cross-option checks, e.g. --epochs with --updates
        } catch (const ConfigError& e) {
          throw ConfigError("point " + p.slug + ": " + e.what());
        }
      }
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

std::vector<std::string> index_option_columns(const SweepSpec& spec) {
  std::vector<std::string> columns;
  auto add = [&](const std::string& name) {
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
  };
  for (const SweepAxis& axis : spec.axes) {
    add(axis.name);
    for (const AxisValue& v : axis.values) {
      for (const auto& [name, text] : v.options) add(name);
    }
  }
  for (const char* name :
       {"algo", "threads", "batch", "step", "placement", "memory", "model", "dataset"}) {
    for (const OptionSpec& o : run_options()) {
      if (o.name == name) add(name);
    }
  }
  return columns;
}

std::string option_text(const PlannedRun& run, const std::string& name) {
  return resolved_text(run.options, name);
}

std::string short_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis and prime
  for (const char ch : text) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  // FNV's high bits barely change with the last bytes (the seed); murmur3's finaliser mixes
  // every input bit into them, so repetitions of a point do not get look-alike ids.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%06llx", static_cast<unsigned long long>(h >> 40));
  return buf;
}

}  // namespace psgd
