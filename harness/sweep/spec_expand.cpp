// harness/sweep/spec_expand.cpp — a parsed spec expanded into planned runs: the grid of points,
// the exclude rules, one run per point and repetition with a stable id.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

// Run ids become file names; beyond this the slug is cut (the hash keeps ids unique).
constexpr std::size_t kMaxSlugChars = 120;

// The text of option `name` in a run's options, or the option table's default when unset; an
// unset --batch-order is the method's own (AlgorithmEntry::default_batch_order), as the run
// resolves it, so an exclude rule on batch-order matches the order the run will use.
std::string resolved_text(const OptionMap& options, const std::string& name) {
  const auto it = options.find(name);
  if (it != options.end()) return it->second;
  if (name == kRanksKey) return "1";  // one process, as `psgd run` alone
  RunConfig defaults;
  if (name == "batch-order") {
    defaults.algorithm = resolved_text(options, "algo");
    for (const AlgorithmEntry& e : builtin_algorithms().entries()) {
      if (e.name == defaults.algorithm) defaults.batch_order = e.default_batch_order;
    }
  }
  for (const OptionSpec& o : run_options()) {
    if (o.name != name) continue;
    const nlohmann::json v = o.get(defaults);
    if (o.is_flag()) return v.is_boolean() && v.get<bool>() ? "true" : "false";
    if (v.is_null()) return "";
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  return "";
}

bool matches(const ExcludeRule& rule, const OptionMap& options) {
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

// One point of the grid: the base options with one value of every axis.
struct Point {
  OptionMap options;
  std::vector<std::pair<std::string, std::string>> labels;  // axis name -> value label
  std::string slug;
};

// The point that takes value index[a] of every axis a.
Point make_point(const SweepSpec& spec, const std::vector<std::size_t>& index) {
  Point p{spec.base, {}, {}};
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    const SweepAxis& axis = spec.axes[a];
    const AxisValue& v = axis.values[index[a]];
    if (v.options.empty()) p.options.erase(axis.name);  // null: the option's default
    for (const auto& [name, text] : v.options) p.options[name] = text;
    p.labels.emplace_back(axis.name, v.label);
    if (!p.slug.empty()) p.slug += '_';  // not `"_" + slug_part(..)`: GCC 12's false -Wrestrict
    p.slug += slug_part(axis.name) + "-" + slug_part(v.label);
  }
  // Ranks > 1 run across processes: the backend that does so, unless the spec named one (a
  // point with ranks and backend local is refused in expand()).
  if (run_ranks(p.options) > 1 && !p.options.contains("backend")) p.options["backend"] = "mpi";
  if (p.slug.empty()) p.slug = "base";
  if (p.slug.size() > kMaxSlugChars) p.slug.resize(kMaxSlugChars);
  return p;
}

// Advances index like an odometer, the last axis fastest. False once the first axis wraps:
// every point has been made.
bool advance(const SweepSpec& spec, std::vector<std::size_t>& index) {
  for (std::size_t a = spec.axes.size(); a > 0;) {
    --a;
    if (++index[a] < spec.axes[a].values.size()) return true;
    index[a] = 0;
  }
  return false;
}

// Refuses a spec that plans more than kMaxSweepRuns runs, counted before anything is allocated
// (the product saturates instead of overflowing).
void check_size(const SweepSpec& spec) {
  std::uint64_t points = 1;
  for (const SweepAxis& axis : spec.axes) {
    const std::uint64_t n = axis.values.size();
    points = n != 0 && points > kMaxSweepRuns / n ? kMaxSweepRuns + 1 : points * n;
  }
  const std::uint64_t reps = spec.seeds.size();
  const std::uint64_t runs = points > kMaxSweepRuns / reps ? kMaxSweepRuns + 1 : points * reps;
  if (runs > kMaxSweepRuns) {
    std::string text = points > kMaxSweepRuns ? "more than " + std::to_string(kMaxSweepRuns)
                                              : std::to_string(points);
    throw ConfigError("the spec plans " + text + " points x " + std::to_string(reps) +
                      " repetitions, more than the limit of " + std::to_string(kMaxSweepRuns) +
                      " runs per sweep (counted before exclusions); split it into several specs");
  }
}

// The grid's points in axis order, without the excluded ones. Throws ConfigError when none is
// left or two points resolve to the same options.
std::vector<Point> grid_points(const SweepSpec& spec) {
  std::vector<std::size_t> index(spec.axes.size(), 0);
  std::vector<Point> points;
  do {
    Point p = make_point(spec, index);
    const bool excluded = std::any_of(spec.exclude.begin(), spec.exclude.end(),
                                      [&](const auto& rule) { return matches(rule, p.options); });
    if (!excluded) points.push_back(std::move(p));
  } while (advance(spec, index));
  if (points.empty()) throw ConfigError("the spec's exclude rules leave no point to run");
  std::set<std::string> seen_points;
  for (const Point& p : points) {
    if (!seen_points.insert(canonical(p.options)).second) {
      throw ConfigError("point " + p.slug + " repeats the options of an earlier point");
    }
  }
  return points;
}

// The configuration a point's child runs, as text: every run option's value after parsing, so a
// value spelled out and the default it equals ("batch": [null, 32], "algo": ["seq", null]) give
// the same text. Non-finite numbers are named, since JSON writes them all as null.
std::string effective_text(const RunConfig& config) {
  std::string s;
  for (const OptionSpec& o : run_options()) {
    // An option without a getter (none records a value) is left out.
    if (o.name == "seed" || o.name == "out" || !o.get) continue;
    const nlohmann::json v = o.get(config);
    s += o.name;
    s += '=';
    if (v.is_number_float() && !std::isfinite(v.get<double>())) {
      const double d = v.get<double>();
      s += std::isnan(d) ? "nan" : d > 0 ? "inf" : "-inf";
    } else {
      s += v.dump();
    }
    s += '\n';
  }
  return s;
}

// Point p at repetition r: its id hashes the options and the seed, so an edited spec never
// takes a finished run of the old one for its own.
PlannedRun plan_run(const Point& p, std::size_t r, std::uint64_t seed) {
  PlannedRun run;
  run.point_id = p.slug;
  run.repetition = static_cast<int>(r);
  run.seed = seed;
  run.options = p.options;
  run.axis_labels = p.labels;
  run.run_id = p.slug + "__r" + std::to_string(r) + "-" +
               short_hash(canonical(p.options) + "seed=" + std::to_string(seed) + "\n");
  return run;
}

}  // namespace

std::vector<std::string> PlannedRun::run_args(const std::string& out_path) const {
  std::vector<std::string> args;
  for (const auto& [name, value] : options) {
    if (name == kRanksKey) continue;  // the launcher's process count (child_argv), no run option
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

std::vector<PlannedRun> expand(const SweepSpec& spec) {
  check_size(spec);
  const std::vector<Point> points = grid_points(spec);
  std::vector<PlannedRun> runs;
  std::set<std::string> ids;
  // Effective configuration -> the first point that runs it. Two points that differ only in
  // spelling a default are refused, not planned twice: resolving them into one would change
  // run ids (the hash covers the options as written) and orphan results already on disk.
  std::map<std::string, std::string> configs;
  for (std::size_t r = 0; r < spec.seeds.size(); ++r) {
    for (const Point& p : points) {
      PlannedRun run = plan_run(p, r, spec.seeds[r]);
      if (!ids.insert(run.run_id).second) {
        throw ConfigError("run " + run.run_id + " is planned twice (repeated seeds?)");
      }
      if (r == 0) {
        RunConfig config;
        try {
          config = run.run_config("-");  // cross-option checks, e.g. --epochs with --updates
        } catch (const ConfigError& e) {
          throw ConfigError("point " + p.slug + ": " + e.what());
        }
        if (run_ranks(p.options) > 1 && config.backend != Backend::kMpi) {
          throw ConfigError("point " + p.slug + ": ranks " + std::to_string(run_ranks(p.options)) +
                            " runs that many processes, which needs backend mpi (or no backend: "
                            "ranks > 1 sets it), got backend " +
                            p.options.at("backend"));
        }
        const std::string ranks_line = "ranks=" + std::to_string(run_ranks(p.options)) + "\n";
        const auto [it, fresh] = configs.emplace(effective_text(config) + ranks_line, p.slug);
        if (!fresh) {
          throw ConfigError("points " + it->second + " and " + p.slug +
                            " run the same configuration (a value equal to the option's default, "
                            "e.g. null and the default written out?); keep one of them");
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
  // ranks last, and only in a sweep that sets ranks or a backend: the index of every other sweep
  // (and its figures' "held fixed" captions) stays as it was; the loader reads a missing ranks
  // column as 1 (plots/psgd_results.py).
  bool sets_ranks = spec.base.contains(kRanksKey) || spec.base.contains("backend");
  for (const SweepAxis& axis : spec.axes) {
    for (const AxisValue& v : axis.values) {
      sets_ranks = sets_ranks || v.options.contains(kRanksKey) || v.options.contains("backend");
    }
  }
  if (sets_ranks) add(kRanksKey);
  return columns;
}

std::string option_text(const PlannedRun& run, const std::string& name) {
  return resolved_text(run.options, name);
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
