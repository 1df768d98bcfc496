// harness/sweep/results.hpp — the sweep's results folder and its lock: where each run's files go,
// what counts as a complete result, the "sweep" block that names it, and reading what a child
// left. The crashed run's document is crash_report.hpp; index.csv is run_index.hpp.
//
// results/<sweep>/<run-id>.json is the run's document, written by renaming a complete temporary
// file over it: the rename is the moment a run counts as done. A run is complete iff that file
// parses as a result document of this schema that names the run (result_problem); whether it is
// kept or redone (another build, --rerun) is harness/sweep/resume.hpp. Everything else in the
// folder that a run in flight leaves (<run-id>.json.part, *.tmp.*, <run-id>.stderr) is removed on
// restart and the run redone, so a sweep killed at any moment resumes with nothing lost and
// nothing complete run twice.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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
  // Throws EnvironmentError (one line) when something that is not a regular file sits at a path
  // the sweep reads or writes for these runs (<run-id>.json, .json.part, .stderr) or at
  // index.csv or sweep.json: a directory there made the sweep abort half-way, a FIFO made even
  // --dry-run block. Called before anything is read, moved or written.
  void check_run_paths(const std::vector<PlannedRun>& runs) const;
  // Removes what interrupted runs left behind; returns the names removed.
  std::vector<std::string> remove_partials() const;
  // The complete document of run_id (result_problem() empty), or nullopt.
  [[nodiscard]] std::optional<nlohmann::json> load_complete(const std::string& run_id) const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

// Why doc does not count as the complete result of run_id, or "" when it does: it must be a JSON
// object with a string status, a schema_version this build reads alike (2 or 3) and a sweep block
// naming the run (so a hand-made {"status": "converged"} or another run's document never counts).
std::string result_problem(const nlohmann::json& doc, const std::string& run_id);

// The "sweep" block every result document carries: which sweep, point and repetition it is, and
// the build id of the binary that ran it (build_identity.hpp; "" records null).
nlohmann::json sweep_block(const SweepSpec& spec, const PlannedRun& run, double run_seconds,
                           const std::string& build_id);

// sweep.run_seconds of a result document (how long its child ran), or nullopt.
std::optional<double> recorded_run_seconds(const nlohmann::json& doc);

// Whether path names a regular file (symbolic links followed); false for a missing path. The
// sweep opens a file of its folder only after this: opening a FIFO blocks, a directory throws.
bool is_regular_file_at(const std::string& path);

// Why a child that exited with exit_code failed for want of a writable results folder (a full
// disk, a quota, a read-only mount), or "" when it did not: it exited 3 (an environment error)
// and its stderr names ENOSPC, EDQUOT or EROFS, or the folder has under kMinFreeBytes left (on a
// full disk even the child's stderr may be lost). Such a run is no crash of its point: the sweep
// stops and leaves it pending.
std::string results_write_failure(const ResultsDir& dir, const std::string& run_id, int exit_code);
inline constexpr unsigned long long kMinFreeBytes = 1 << 20;

// The last lines of a file (at most max_bytes), as valid UTF-8 (bad bytes become '?').
std::string read_tail(const std::string& path, std::size_t max_bytes = 4096);

}  // namespace psgd
