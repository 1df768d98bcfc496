// harness/sweep/slurm/files.hpp — what the Slurm backend keeps in a sweep's results folder
// besides the run documents, and the locks that keep its writers apart.
//
//   <run-id>.started         a run in flight under `psgd sweep --run-id` (an array task): written
//                            before the child starts, removed after <run-id>.json is committed.
//                            A task that Slurm kills leaves it behind; the collector turns it into
//                            the run's crashed record with Slurm's reason.
//   slurm/job-<id>.json      one per sbatch: job id, array tasks (run ids per task), settings.
//   slurm/<stamp>.sh/.tasks  the batch script and its tasks file; slurm/<job>_<task>.out logs.
//
// Locks (flock on files of the folder; the kernel drops them when a process dies):
//   <dir>/.lock              a local sweep holds it exclusively; array tasks, the collector and
//                            the submitter hold it shared, so a local sweep cannot clear the files
//                            of runs in flight under Slurm, and they cannot run beside it.
//   <dir>/slurm/.lock        the collector and the submitter hold it exclusively: one at a time.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/sweep/results.hpp"

namespace psgd {

std::string started_marker_path(const ResultsDir& dir, const std::string& run_id);

// Removes a marker or a temporary file; one that is already gone, or cannot be removed, is left
// to the collector's next pass, so no error is reported.
void remove_quietly(const std::string& path);
std::string slurm_records_dir(const ResultsDir& dir);

// The marker of a run in flight, or nullopt when there is none (or it cannot be read: a marker is
// written whole, by rename, so that only happens to a file that is not one).
std::optional<nlohmann::json> read_started_marker(const ResultsDir& dir, const std::string& run_id);

// One sbatch of the sweep.
struct SlurmJobRecord {
  std::string job_id;
  std::vector<std::vector<std::string>> tasks;  // run ids per array task
};

// Every job record in slurm/, oldest job first (by job id). Unreadable records are skipped.
std::vector<SlurmJobRecord> read_job_records(const ResultsDir& dir);

// A held flock on `path` (created if missing). Not thread-safe; one owner.
class FileLock {
 public:
  enum class Mode { kShared, kExclusive };
  // Takes the lock without waiting. Throws EnvironmentError when another process holds it in a
  // conflicting mode (`holder` says who that is: "a local sweep", "another psgd sweep --collect
  // or --backend slurm") or the file cannot be opened. A file system without flock (some
  // parallel file systems mount without it) leaves the lock untaken, with a warning on stderr.
  FileLock(const std::string& path, Mode mode, const std::string& holder);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  int fd_ = -1;
};

}  // namespace psgd
