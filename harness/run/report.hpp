// harness/run/report.hpp — the run's JSON document (schema in README.md) and its atomic writing.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/runner.hpp"
#include "harness/run/evaluation.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {

// What the run command knows once training and evaluation are done. S: the run's scalar type
// (--precision); build_report is instantiated for float and double in report.cpp.
template <class S>
struct RunFacts {
  const RunConfig* config = nullptr;
  nlohmann::json data;                            // name, source, samples, shape
  nlohmann::json model;                           // spec, params
  nlohmann::json algorithm;                       // the algorithm's own report()
  std::optional<std::int64_t> peak_live_vectors;  // Algorithm::peak_live_vectors()
  nlohmann::json placement;                       // planned / observed, or null
  std::int64_t updates_per_epoch = 1;
  std::int64_t total_updates = 0;
  bool oversubscribed = false;
  const BasicTrainingOutcome<S>* outcome = nullptr;
  std::vector<std::size_t> slots;  // checkpoint slots evaluated, in order
  std::vector<EvalPoint> points;   // one per slot
  // Bytes the algorithm allocated through its SharedMemory and still held after the run (the
  // shared parameters, Leashed's whole pool, sync's gradient slots): what every method pays in
  // shared storage, measured the same way for all of them.
  std::int64_t shared_bytes = 0;
};

// Builds the full document: schema_version, status, context, config, data, model, series,
// metrics, throughput, updates, staleness, contention, resources.
template <class S>
nlohmann::json build_report(const RunFacts<S>& facts);

// A document for a run that failed before or during set-up: status "error" and the message.
nlohmann::json error_report(const std::string& kind, const std::string& message,
                            const nlohmann::json& config);

// Writes doc to path ("-" = stdout). A file is written to path.tmp.PID and renamed over path,
// so a reader never sees half a document. Throws EnvironmentError when it cannot.
void write_json(const nlohmann::json& doc, const std::string& path);

// Peak resident set size of this process in bytes.
std::int64_t peak_rss_bytes();

}  // namespace psgd
