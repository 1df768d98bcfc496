// harness/compare/training_results.cpp — run documents and sweep folders read into a ResultSet:
// the repetitions of each point's times to target, final loss and accuracy, and throughput.
#include "harness/compare/training_results.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "common/errors.hpp"
#include "common/read_file.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

[[noreturn]] void reject_document(const std::string& path, const std::string& what) {
  throw ConfigError(path + ": " + what);
}

const json* object_at(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_object() ? &*it : nullptr;
}

std::string string_at(const json* object, const char* key) {
  if (object == nullptr) return {};
  const auto it = object->find(key);
  return it != object->end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A value worth comparing: a positive finite number (every measure here is a time, a rate, a
// loss or an accuracy). Anything else: none.
std::optional<double> sample_at(const json* object, const std::string& key) {
  if (object == nullptr) return std::nullopt;
  const auto it = object->find(key);
  if (it == object->end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) && v > 0.0 ? std::optional<double>(v) : std::nullopt;
}

// A lower-is-better measure the run recorded without a number: a target it never reached (null)
// or a loss that diverged (written as null, or as a non-finite number). It is the worst value,
// +infinity, not a missing repetition: leaving it out would compare the fast repetitions that
// reached the target of one build with every repetition of the other, so a build that reaches
// it in 3 of 5 runs could come out better than one that reaches it in 5 of 5. The U test ranks
// the infinities as ties at the top. A key the run did not write at all stays absent.
std::optional<double> lower_is_better_at(const json* object, const std::string& key) {
  if (object == nullptr) return std::nullopt;
  const auto it = object->find(key);
  if (it == object->end()) return std::nullopt;
  if (const std::optional<double> v = sample_at(object, key)) return v;
  return std::numeric_limits<double>::infinity();
}

// The measures of one point, in a fixed order: a map keyed by the order, then the name.
struct PointMeasures {
  std::map<std::pair<int, std::string>, Measure> measures;

  void add(int order, const std::string& name, const char* unit, bool higher_is_better,
           std::optional<double> value) {
    if (!value) return;
    Measure& m = measures[{order, name}];
    m.name = name;
    m.unit = unit;
    m.higher_is_better = higher_is_better;
    m.samples.push_back(*value);
  }
};

// Every target of a "time_to_<what>" block ({"50%": 0.059, "20%": null}), keyed by its label.
void add_targets(PointMeasures& point, int order, const json* metrics, const char* block,
                 const std::string& prefix) {
  const json* times = metrics != nullptr ? object_at(*metrics, block) : nullptr;
  if (times == nullptr) return;
  for (const auto& [label, value] : times->items()) {
    point.add(order, prefix + label, "s", false, lower_is_better_at(times, label));
  }
}

void add_run(PointMeasures& point, const json& doc) {
  const json* metrics = object_at(doc, "metrics");
  add_targets(point, 0, metrics, "time_to_epsilon", "time_to_epsilon/");
  add_targets(point, 1, metrics, "time_to_accuracy", "time_to_accuracy/");
  point.add(2, "final_train_loss", "loss", false, lower_is_better_at(metrics, "final_train_loss"));
  point.add(3, "final_test_accuracy", "fraction", true, sample_at(metrics, "final_test_accuracy"));
  point.add(4, "samples_per_second", "samples/s", true,
            sample_at(object_at(doc, "throughput"), "samples_per_second"));
}

// "<CPU model> x <hardware threads>", as the nightly format names a machine.
std::string machine_of(const json& doc) {
  const json* context = object_at(doc, "context");
  if (context == nullptr) return "unknown machine";
  const auto threads = context->find("hardware_threads");
  return string_at(context, "cpu") + " x " +
         (threads != context->end() ? threads->dump() : std::string("?"));
}

// "601f9ecacabf9d07 (git 3ef6312c0a1b, dirty)": the build of a document, for the report.
std::string build_of(const json& doc) {
  std::string id = string_at(object_at(doc, "sweep"), "build_id");
  const json* context = object_at(doc, "context");
  const std::string sha = string_at(context, "git_sha");
  std::string text = id.empty() ? "unrecorded build" : "build " + id;
  if (!sha.empty()) {
    const bool dirty = context->value("git_dirty", json(false)) == json(true);
    text += " (git " + sha.substr(0, 12) + (dirty ? ", dirty)" : ")");
  }
  return text;
}

const json& sweep_or_empty(const json* sweep) {
  static const json empty = json::object();
  return sweep != nullptr ? *sweep : empty;
}

}  // namespace

std::string first_difference(const json& a, const json& b) {
  std::set<std::string> names;
  for (const auto& [k, v] : a.items()) names.insert(k);
  for (const auto& [k, v] : b.items()) names.insert(k);
  for (const std::string& k : names) {
    const auto text = [&k](const json& o) {
      const auto it = o.find(k);
      if (it == o.end()) return std::string("-");
      return it->is_string() ? it->get<std::string>() : it->dump();
    };
    if (text(a) != text(b)) return k + " " + text(a) + " vs " + text(b);
  }
  return "no option differs";
}

bool is_run_document(const json& doc) {
  return doc.is_object() && doc.contains("schema_version") && doc.contains("status") &&
         doc["status"].is_string() && object_at(doc, "config") != nullptr;
}

ResultSet parse_run_documents(const std::vector<json>& docs, const std::vector<std::string>& paths,
                              const std::string& path) {
  ResultSet set;
  set.path = path;
  set.format = kTrainingFormat;
  std::vector<std::string> point_order;
  std::map<std::string, PointMeasures> points;
  std::set<std::string> run_ids;
  std::set<std::string> builds;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const json& doc = docs[i];
    const std::string& where = i < paths.size() ? paths[i] : path;
    if (!is_run_document(doc)) {
      reject_document(
          where,
          "not a run document (an object with \"schema_version\", a string \"status\" and a "
          "\"config\" object, as psgd run and psgd sweep write)");
    }
    const json* sweep = object_at(doc, "sweep");
    const std::string run_id = string_at(sweep, "run_id");
    if (!run_id.empty() && !run_ids.insert(run_id).second) {
      reject_document(where,
                      "run " + run_id + " appears twice (a folder holds one build's results)");
    }
    const std::string machine = machine_of(doc);
    if (set.machine.empty()) set.machine = machine;
    if (machine != set.machine) {
      reject_document(where, "ran on " + machine + ", an earlier document on " + set.machine +
                                 ": one side of a comparison comes from one machine");
    }
    builds.insert(build_of(doc));
    const json* context = object_at(doc, "context");
    if (set.git_sha.empty()) set.git_sha = string_at(context, "git_sha");
    set.date = std::max(set.date, string_at(context, "date"));  // the latest run (ISO 8601)
    std::string point = string_at(sweep, "point_id");
    if (point.empty()) point = "run";
    if (points.find(point) == points.end()) point_order.push_back(point);
    // A run a signal stopped measured part of its budget: it is no repetition (a sweep redoes
    // it), though its document holds metrics. (A crashed run's document holds none.)
    if (doc["status"] != "stopped") add_run(points[point], doc);
    if (const json* settings = object_at(sweep_or_empty(sweep), "options")) {
      const auto [it, first] = set.point_settings.emplace(point, *settings);
      if (!first && it->second != *settings) {
        reject_document(where, "point " + point +
                                   " ran other settings than its earlier repetitions (" +
                                   first_difference(it->second, *settings) +
                                   "): a folder holds one sweep's results");
      }
    }
  }
  for (const std::string& point : point_order) {
    for (auto& [key, m] : points[point].measures) {
      // A target no repetition of this point reached: nothing to rank on this side, so the
      // measure is absent here (the comparison shows it as not comparable).
      if (std::none_of(m.samples.begin(), m.samples.end(),
                       [](double v) { return std::isfinite(v); })) {
        continue;
      }
      m.name = point + "/" + m.name;
      set.measures.push_back(std::move(m));
    }
  }
  if (set.measures.empty()) {
    reject_document(path,
                    "no run with a measure (every run crashed, was invalid or has no metrics)");
  }
  set.build = builds.size() == 1 ? *builds.begin()
                                 : std::to_string(builds.size()) + " builds: " + *builds.begin() +
                                       ", " + *std::next(builds.begin()) + "...";
  return set;
}

std::string json_error_line(const std::string& path, const std::string& text,
                            std::size_t error_byte) {
  if (error_byte > text.size()) {
    return path + ": not valid JSON: it ends at byte " + std::to_string(text.size()) +
           " before the document is complete (truncated?)";
  }
  return path + ": not valid JSON at byte " + std::to_string(error_byte) + " of " +
         std::to_string(text.size());
}

ResultSet read_sweep_folder(const std::string& folder) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    std::error_code type_ec;
    // <run-id>.2.json, .3, ...: a run moved to superseded/ twice; its first copy is the one
    // the folder's index.csv lists, and the one compared.
    const std::string later = p.stem().extension().string();
    const bool later_copy =
        later.size() > 1 && later.find_first_not_of("0123456789", 1) == std::string::npos;
    if (p.extension() == ".json" && p.filename() != "sweep.json" && !later_copy &&
        fs::is_regular_file(p, type_ec)) {
      files.push_back(p);
    }
  }
  if (ec) throw ConfigError(folder + ": cannot list the folder: " + ec.message());
  if (files.empty()) {
    throw ConfigError(folder +
                      ": no run document (<run-id>.json) in the folder: give a sweep's results "
                      "folder, one of its superseded/<build id>/ folders, or a run document");
  }
  std::sort(files.begin(), files.end());
  std::vector<json> docs;
  std::vector<std::string> paths;
  for (const fs::path& p : files) {
    std::string text;
    try {
      text = read_text_file(p.string(), "compare", kMaxResultFileBytes);
    } catch (const EnvironmentError& e) {
      throw ConfigError(e.what());  // compare's inputs are its arguments: bad input, exit 2
    }
    try {
      docs.push_back(json::parse(text));
    } catch (const json::parse_error& e) {
      throw ConfigError(json_error_line(p.string(), text, e.byte));
    }
    paths.push_back(p.string());
  }
  return parse_run_documents(docs, paths, folder);
}

}  // namespace psgd
