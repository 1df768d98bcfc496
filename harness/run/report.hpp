// harness/run/report.hpp — the run's JSON document (fields in docs/run-document.md): written from
// the run's record, read back into one, and written atomically. Every key of the document is
// spelled in report.cpp and nowhere else.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "harness/run/run_record.hpp"

namespace psgd {

// The full document: schema_version, status, context, config, data, model, series, metrics,
// checkpoints, throughput, updates, staleness, contention, pace, resources. A value the record
// lacks, or a number that is not finite (JSON has no inf or nan), is written as null.
nlohmann::json build_report(const RunRecord& record);

// The record a document holds (build_report's inverse for everything the record types): what a
// sweep reads of the documents its children wrote. Never throws: a key that is missing or of
// another type (a crashed run's document, an older schema) leaves its field empty.
RunRecord read_run_record(const nlohmann::json& doc);

// The 1-minute load average and the hardware threads of a `context` block (build_info.hpp), or
// nullopt when it lacks them (getloadavg failed).
std::optional<double> load_average_of(const nlohmann::json& context);
std::optional<std::int64_t> hardware_threads_of(const nlohmann::json& context);

// A document for a run that failed before or during set-up: status "error" and the message.
nlohmann::json error_report(const std::string& kind, const std::string& message,
                            const nlohmann::json& config);

// Writes doc to path ("-" = stdout). A file is written to path.tmp.PID and renamed over path,
// so a reader never sees half a document. Throws EnvironmentError when it cannot.
void write_json(const nlohmann::json& doc, const std::string& path);

}  // namespace psgd
