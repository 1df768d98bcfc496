// harness/compare/training_results.hpp — what `psgd compare` compares of training runs: the
// repetitions of every point of a sweep folder (a sweep's results, or one build's results moved
// to <sweep>/superseded/<build id>/), or of a single run document, as one ResultSet.
//
// Each point (sweep.point_id; a document without a sweep block is the point "run") gives up to
// five kinds of measure, one sample per repetition that has the value:
//   <point>/time_to_epsilon/<label>   seconds until the train loss reached the target (lower is
//   <point>/time_to_accuracy/<label>  better); only repetitions that reached it count
//   <point>/final_train_loss          lower is better
//   <point>/final_test_accuracy       higher is better
//   <point>/samples_per_second        throughput, higher is better
// A repetition without the value (crashed or invalid, a target not reached, a non-finite loss)
// is left out, so a point's n may be below its repetitions; a measure no repetition has is
// absent, and compares as "not comparable".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/compare/result_set.hpp"

namespace psgd {

// The ResultSet format of training runs.
inline constexpr const char* kTrainingFormat = "psgd-runs";

// Whether a parsed document is a run document (`psgd run`'s or a sweep's): an object with
// "schema_version", a string "status" and a "config" object. Pure.
bool is_run_document(const nlohmann::json& doc);

// The measures of the given run documents, grouped by point (in order of first appearance).
// `paths[i]` names docs[i] in errors; `path` names the whole set. Throws ConfigError for a
// document that is not a run document, two documents of one run (sweep.run_id), documents of
// several machines (context.cpu and hardware_threads), repetitions of one point with different
// settings (sweep.options), and when no document has a measure.
// Pure; thread-safe.
ResultSet parse_run_documents(const std::vector<nlohmann::json>& docs,
                              const std::vector<std::string>& paths, const std::string& path);

// Reads every <name>.json of a folder but sweep.json and <run-id>.<N>.json (later copies of a
// run moved to superseded/ twice; not its subfolders: superseded/ and set-aside/ hold other
// builds' and broken files), in name order. Throws ConfigError for a
// folder without run documents, a file that is not valid JSON (truncated: one line naming the
// file and the byte where it breaks) and everything parse_run_documents rejects.
ResultSet read_sweep_folder(const std::string& folder);

// "epochs 0.5 vs 5": the first key (in name order) of two objects of settings whose values
// differ, "-" for a side that lacks it; "no option differs" when none does. Pure.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b);

// The text of a JSON document's parse failure, one line without the parser's internals:
// "<path>: not valid JSON: it ends at byte 812 before the document is complete (truncated?)"
// or "...: not valid JSON at byte 17 of 812".
std::string json_error_line(const std::string& path, const std::string& text,
                            std::size_t error_byte);

}  // namespace psgd
