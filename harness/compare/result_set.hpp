// harness/compare/result_set.hpp — what `psgd compare` compares: the repetitions of every
// benchmark and the exact deterministic results of one results file, whichever format it has.
//
// Three formats are read (each is detected from the document itself):
//   Google Benchmark JSON (--benchmark_out=F --benchmark_out_format=json): every "iteration" row
//     is one repetition of its run_name; the value is the time Google Benchmark reports as the
//     benchmark's own (real_time for /manual_time and /real_time benchmarks, cpu_time otherwise)
//     in its time_unit, lower is better. Aggregate rows are ignored: the test needs repetitions.
//   psgd nightly results ("kind": "psgd-nightly", experiments/nightly/nightly.schema.json):
//     "benchmarks" with their samples, unit and direction, and "deterministic" values.
//   psgd training runs (a sweep folder, a superseded/<build id>/ folder or one run document):
//     each point's repetitions of times to target, final loss and accuracy, and throughput
//     (harness/compare/training_results.hpp).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace psgd {

// One benchmark's repetitions.
struct Measure {
  std::string name;
  std::string unit;  // "ns", "samples/s", "fraction", ...
  bool higher_is_better = false;
  bool headline = false;        // drawn in the history plot; shown first in the report
  double min_effect = 0.0;      // the file's own minimum effect size for it (0: none given)
  std::vector<double> samples;  // one per repetition, all finite
};

// A result that must not change at all while the code and machine stay the same (the final loss
// of a one-thread run). `values` holds one per repetition.
struct DeterministicResult {
  std::string name;
  std::vector<nlohmann::json> values;
};

struct ResultSet {
  std::string path;
  std::string format;   // "google-benchmark", "psgd-nightly" or "psgd-runs"
  std::string machine;  // "<CPU model> x <logical CPUs>": two files compare only when equal
  std::string git_sha;  // empty when the file does not say
  std::string date;     // likewise
  std::string build;    // psgd-runs: "build <id> (git <sha>[, dirty])" of the runs; else empty
  std::vector<Measure> measures;
  std::vector<DeterministicResult> deterministic;
  // psgd-runs from a sweep: each point's settings (its run documents' sweep.options), so that
  // two sides pair a point only where it ran the same settings; empty otherwise.
  std::map<std::string, nlohmann::json> point_settings;
};

// Parses a document of either format. Throws ConfigError, naming `path` and what is wrong, for
// anything else: not an object, an unknown format, a benchmark without a name or a non-numeric
// or non-finite value, a sample that is not positive (every measure is a time, a rate or a
// fraction of one), duplicate names, no benchmark at all. Pure; thread-safe.
ResultSet parse_result_set(const nlohmann::json& doc, const std::string& path);

// The largest result file read: Google Benchmark's JSON of every repetition of every benchmark
// here is under 1 MiB; 64 MiB leaves room and bounds what a wrong path can take.
inline constexpr std::size_t kMaxResultFileBytes = std::size_t{64} << 20;

// Reads and parses the file at `path`, or the run documents of the folder at `path`
// (read_sweep_folder). Throws ConfigError for a missing, unreadable or too large file, invalid
// JSON (one line with the byte where it breaks: a truncated file says so) and everything
// parse_result_set rejects: `psgd compare` treats all of them as bad input (exit 2).
ResultSet read_result_set(const std::string& path);

}  // namespace psgd
