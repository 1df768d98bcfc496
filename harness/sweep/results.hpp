// harness/sweep/results.hpp — the sweep's results folder: one JSON per run, the index, resume.
//
// results/<sweep>/<run-id>.json is the run's document, written by renaming a complete temporary
// file over it: the rename is the moment a run counts as done. A run is complete iff that file
// parses as a result document of this schema that names the run (result_problem); whether it is
// kept or redone (another build, --rerun) is harness/sweep/resume.hpp. Everything else in the
// folder that a run in flight leaves
// (<run-id>.json.part, *.tmp.*, <run-id>.stderr) is removed on restart and the run redone, so a
// sweep killed at any moment resumes with nothing lost and nothing complete run twice.
// index.csv holds one row per finished run and is rewritten (atomically) after every run.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/cli/atomic_file.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// Not thread-safe; one sweep process owns the folder (see lock()).
class ResultsDir {
 public:
  explicit ResultsDir(std::string dir);
  ResultsDir(const ResultsDir&) = delete;
  ResultsDir& operator=(const ResultsDir&) = delete;
  ~ResultsDir();

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  [[nodiscard]] std::string final_path(const std::string& run_id) const;
  // Where the child writes its document; the sweep then adds its "sweep" block and commits it.
  [[nodiscard]] std::string part_path(const std::string& run_id) const;
  [[nodiscard]] std::string stderr_path(const std::string& run_id) const;
  [[nodiscard]] std::string index_path() const;

  // Creates the folder and takes an exclusive lock on <dir>/.lock for this object's lifetime;
  // the kernel drops it when the process dies, even by SIGKILL. Throws EnvironmentError when the
  // folder cannot be made or another sweep holds the lock.
  void create_and_lock();
  // Removes what interrupted runs left behind; returns the names removed.
  std::vector<std::string> remove_partials() const;
  // The complete document of run_id (result_problem() empty), or nullopt.
  [[nodiscard]] std::optional<nlohmann::json> load_complete(const std::string& run_id) const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

// Why doc does not count as the complete result of run_id, or "" when it does: it must be a JSON
// object with a string status, this schema_version and a sweep block naming the run (so a
// hand-made {"status": "converged"} or another run's document never counts).
std::string result_problem(const nlohmann::json& doc, const std::string& run_id);

// The "sweep" block every result document carries: which sweep, point and repetition it is, and
// the build id of the binary that ran it (build_identity.hpp; "" records null).
nlohmann::json sweep_block(const SweepSpec& spec, const PlannedRun& run, double run_seconds,
                           const std::string& build_id);

// The document of a run that did not finish: status "crashed" with
// crash {kind: signal|exit|timeout|bad_output, signal, signal_name, exit_code, timeout_seconds,
// stderr_tail, error (the child's own error block, when it wrote one)}, plus the schema skeleton
// of a run document (schema_version, context, config); sweep.build_id is null for the caller to
// set. A child that exited 2 (it refused its
// configuration) gets status "invalid" instead, with crash.kind "invalid" and crash.message.
nlohmann::json crashed_report(const SweepSpec& spec, const PlannedRun& run,
                              const ChildOutcome& outcome, const std::string& final_path,
                              const std::string& stderr_tail, const nlohmann::json& child_error,
                              const std::string& detail = "");

// The last lines of a file (at most max_bytes), as valid UTF-8 (bad bytes become '?').
std::string read_tail(const std::string& path, std::size_t max_bytes = 4096);

// What the index keeps of one finished run: status and headline metrics, already as CSV text.
struct RunSummary {
  std::string status;
  std::vector<std::pair<std::string, std::string>> fields;  // column -> value
  std::vector<std::string> epsilon_labels;                  // in the document's order
  std::vector<std::string> accuracy_labels;                 // of metrics.time_to_accuracy
};
RunSummary summarize(const nlohmann::json& doc);

// "50%" -> "50pct", "0.3" -> "0.3": the part of a column name an epsilon label becomes.
std::string epsilon_column_suffix(const std::string& label);

// The CSV header of the index, given the epsilon and accuracy labels seen in the finished runs:
// the columns up to `file` keep their places; epsilon_targets_reached, epsilon_reached_<label>
// and time/updates_to_accuracy_<label> come after it.
std::vector<std::string> index_header(const SweepSpec& spec,
                                      const std::vector<std::string>& epsilon_labels,
                                      const std::vector<std::string>& accuracy_labels = {});

// Rewrites <dir>/index.csv atomically: one row per finished run (summaries[i] set), in plan order.
void write_index(const std::string& path, const SweepSpec& spec,
                 const std::vector<PlannedRun>& runs,
                 const std::vector<std::optional<RunSummary>>& summaries);

}  // namespace psgd
