// harness/sweep/run_index.hpp — index.csv: one row per finished run of a sweep, in plan order,
// rewritten atomically after every run (and by --collect). The sweep only has the documents its
// children wrote, so each is read once into a typed entry (read_index_entry); the columns are
// then written from the entries, never from the JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/run_record.hpp"
#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// What the index keeps of one result document: the run's record, its crash block (a crashed or
// invalid run) and how long its child ran.
struct IndexEntry {
  RunRecord run;
  CrashRecord crash;
  std::optional<double> run_seconds;  // sweep.run_seconds
};

// The entry of a result document: the document's three readers (report.hpp, crash_report.hpp,
// results.hpp) in one place. Never throws; what a document lacks stays empty.
IndexEntry read_index_entry(const nlohmann::json& doc);

// "50%" -> "50pct", "0.3" -> "0.3": the part of a column name an epsilon label becomes.
std::string epsilon_column_suffix(const std::string& label);

// The CSV header of the index, given the epsilon and accuracy labels seen in the finished runs:
// the columns up to `file` keep their places; epsilon_targets_reached, epsilon_reached_<label>
// and time/updates_to_accuracy_<label> come after it.
std::vector<std::string> index_header(const SweepSpec& spec,
                                      const std::vector<std::string>& epsilon_labels,
                                      const std::vector<std::string>& accuracy_labels = {});

// Rewrites the index at path atomically: one row per finished run (entries[i] set), in plan
// order. A cell the entry lacks (a crashed run's metrics) is empty.
void write_index(const std::string& path, const SweepSpec& spec,
                 const std::vector<PlannedRun>& runs,
                 const std::vector<std::optional<IndexEntry>>& entries);

}  // namespace psgd
