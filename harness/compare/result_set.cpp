// harness/compare/result_set.cpp — reading Google Benchmark JSON and psgd nightly results into
// one ResultSet. Every rejection is a ConfigError that names the file and the offending entry.
#include "harness/compare/result_set.hpp"

#include <cmath>
#include <filesystem>
#include <set>
#include <string_view>

#include "common/errors.hpp"
#include "common/read_file.hpp"
#include "harness/compare/training_results.hpp"

namespace psgd {
namespace {

using nlohmann::json;

[[noreturn]] void reject(const std::string& path, const std::string& what) {
  throw ConfigError(path + ": " + what);
}

const json& member(const json& object, const char* key, const std::string& path,
                   const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) reject(path, where + " has no \"" + key + "\"");
  return *it;
}

std::string string_member(const json& object, const char* key, const std::string& path,
                          const std::string& where) {
  const json& v = member(object, key, path, where);
  if (!v.is_string() || v.get<std::string>().empty()) {
    reject(path, where + ": \"" + key + "\" must be a non-empty string");
  }
  return v.get<std::string>();
}

double finite_number(const json& v, const std::string& path, const std::string& where) {
  if (!v.is_number()) reject(path, where + " must be a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d)) reject(path, where + " must be finite");
  return d;
}

// Every measure compared is a time, a rate or a fraction of a rate: a sample of 0 or below is
// no measurement, and ratios of negated samples would compare as "same" (they once did).
double positive_sample(const json& v, const std::string& path, const std::string& where) {
  const double d = finite_number(v, path, where);
  if (!(d > 0.0)) reject(path, where + " must be positive (a time or a rate), got " + v.dump());
  return d;
}

std::string optional_string(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void check_unique(const ResultSet& set) {
  std::set<std::string> names;
  for (const Measure& m : set.measures) {
    if (!names.insert(m.name).second)
      reject(set.path, "benchmark \"" + m.name + "\" appears twice");
  }
  for (const DeterministicResult& d : set.deterministic) {
    if (!names.insert(d.name).second) reject(set.path, "result \"" + d.name + "\" appears twice");
  }
  if (names.empty()) reject(set.path, "no benchmark or result in the file");
}

// Google Benchmark's machine: our bench binaries add "cpu_model" to the context; files from
// other binaries are identified by what Google Benchmark itself records.
std::string benchmark_machine(const json& context, const std::string& path) {
  const json& cpus = member(context, "num_cpus", path, "context");
  const std::string n = cpus.is_number() ? cpus.dump() : "?";
  std::string model = optional_string(context, "cpu_model");
  if (model.empty()) {
    const auto mhz = context.find("mhz_per_cpu");
    model = "unknown CPU at " + (mhz != context.end() ? mhz->dump() : std::string("?")) + " MHz";
  }
  return model + " x " + n;
}

// The benchmark's own time: Google Benchmark names benchmarks timed by wall clock or by hand
// with a suffix, and reports them by real_time; the rest by CPU time.
double benchmark_value(const json& row, const std::string& name, const std::string& path) {
  const bool by_real_time = name.ends_with("/manual_time") || name.ends_with("/real_time");
  const char* key = by_real_time ? "real_time" : "cpu_time";
  return positive_sample(member(row, key, path, "benchmark \"" + name + "\""), path,
                         "benchmark \"" + name + "\" " + key);
}

void parse_google_benchmark(const json& doc, ResultSet& set) {
  const json& context = member(doc, "context", set.path, "the document");
  if (!context.is_object()) reject(set.path, "\"context\" must be an object");
  set.format = "google-benchmark";
  set.machine = benchmark_machine(context, set.path);
  set.date = optional_string(context, "date");
  set.git_sha = optional_string(context, "git_sha");
  const json& rows = doc.at("benchmarks");
  if (!rows.is_array()) reject(set.path, "\"benchmarks\" must be an array");
  for (const json& row : rows) {
    if (!row.is_object()) reject(set.path, "every entry of \"benchmarks\" must be an object");
    if (optional_string(row, "run_type") == "aggregate") continue;
    if (row.value("error_occurred", false)) continue;  // skipped with an error: no time
    const std::string name = row.contains("run_name")
                                 ? string_member(row, "run_name", set.path, "a benchmark")
                                 : string_member(row, "name", set.path, "a benchmark");
    const double value = benchmark_value(row, name, set.path);
    Measure* m = nullptr;
    for (Measure& existing : set.measures) {
      if (existing.name == name) m = &existing;
    }
    if (m == nullptr) {
      set.measures.emplace_back();
      m = &set.measures.back();
      m->name = name;
      m->unit = row.value("time_unit", "ns");
    }
    m->samples.push_back(value);
  }
}

Measure nightly_measure(const json& b, const std::string& path) {
  if (!b.is_object()) reject(path, "every entry of \"benchmarks\" must be an object");
  Measure m;
  m.name = string_member(b, "name", path, "a benchmark");
  const std::string where = "benchmark \"" + m.name + "\"";
  m.unit = string_member(b, "unit", path, where);
  const json& higher = member(b, "higher_is_better", path, where);
  if (!higher.is_boolean()) reject(path, where + ": \"higher_is_better\" must be true or false");
  m.higher_is_better = higher.get<bool>();
  m.headline = b.value("headline", false);
  if (b.contains("min_effect")) {
    m.min_effect = finite_number(b["min_effect"], path, where + " min_effect");
    if (m.min_effect < 0.0) reject(path, where + ": \"min_effect\" must be >= 0");
  }
  const json& samples = member(b, "samples", path, where);
  if (!samples.is_array() || samples.empty()) {
    reject(path, where + ": \"samples\" must be a non-empty array");
  }
  for (const json& s : samples) m.samples.push_back(positive_sample(s, path, where + " sample"));
  return m;
}

void parse_nightly(const json& doc, ResultSet& set) {
  const json& version = member(doc, "schema_version", set.path, "the document");
  if (version != 1) reject(set.path, "schema_version " + version.dump() + " is not 1");
  const json& context = member(doc, "context", set.path, "the document");
  if (!context.is_object()) reject(set.path, "\"context\" must be an object");
  set.format = "psgd-nightly";
  const json& threads = member(context, "hardware_threads", set.path, "context");
  set.machine = string_member(context, "cpu", set.path, "context") + " x " + threads.dump();
  set.git_sha = optional_string(context, "git_sha");
  set.date = optional_string(context, "date");
  const json& benchmarks = member(doc, "benchmarks", set.path, "the document");
  if (!benchmarks.is_array()) reject(set.path, "\"benchmarks\" must be an array");
  for (const json& b : benchmarks) set.measures.push_back(nightly_measure(b, set.path));
  const json& results = member(doc, "deterministic", set.path, "the document");
  if (!results.is_array()) reject(set.path, "\"deterministic\" must be an array");
  for (const json& r : results) {
    if (!r.is_object()) reject(set.path, "every entry of \"deterministic\" must be an object");
    DeterministicResult d;
    d.name = string_member(r, "name", set.path, "a result");
    const json& values = member(r, "values", set.path, "result \"" + d.name + "\"");
    if (!values.is_array() || values.empty()) {
      reject(set.path, "result \"" + d.name + "\": \"values\" must be a non-empty array");
    }
    d.values.assign(values.begin(), values.end());
    set.deterministic.push_back(std::move(d));
  }
}

}  // namespace

ResultSet parse_result_set(const json& doc, const std::string& path) {
  ResultSet set;
  set.path = path;
  if (!doc.is_object()) reject(path, "not a JSON object");
  try {
    if (optional_string(doc, "kind") == "psgd-nightly") {
      parse_nightly(doc, set);
    } else if (is_run_document(doc)) {
      return parse_run_documents({doc}, {path}, path);
    } else if (doc.contains("benchmarks") && doc.contains("context")) {
      parse_google_benchmark(doc, set);
    } else {
      reject(path,
             "neither Google Benchmark JSON (\"context\" and \"benchmarks\"), a psgd "
             "nightly result (\"kind\": \"psgd-nightly\") nor a psgd run document");
    }
  } catch (const json::exception& e) {
    // A member of the wrong type where a default was allowed (e.g. "headline": "yes").
    reject(path, std::string("malformed entry (") + e.what() + ")");
  }
  check_unique(set);
  return set;
}

ResultSet read_result_set(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return read_sweep_folder(path);
  std::string text;
  try {
    // Bounded: a wrong path (/dev/zero, a disk image) once grew without end until killed.
    text = read_text_file(path, "compare", kMaxResultFileBytes);
  } catch (const EnvironmentError& e) {
    throw ConfigError(e.what());  // compare's inputs are its arguments: bad input, exit 2
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ConfigError(json_error_line(path, text, e.byte));
  }
  return parse_result_set(doc, path);
}

}  // namespace psgd
