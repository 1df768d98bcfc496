// harness/sweep/slurm/files.cpp — markers, job records and folder locks of the Slurm backend.
#include "harness/sweep/slurm/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/errors.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<json> read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    json doc = json::parse(in);
    if (doc.is_object()) return doc;
  } catch (const json::exception&) {
    // not one of ours, or not whole: the caller treats it as absent
  }
  return std::nullopt;
}

// Job ids are numbers; compare them as such so that job 10 comes after job 9.
bool job_id_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace

std::string started_marker_path(const ResultsDir& dir, const std::string& run_id) {
  return dir.dir() + "/" + run_id + ".started";
}

std::string slurm_records_dir(const ResultsDir& dir) { return dir.dir() + "/slurm"; }

std::optional<json> read_started_marker(const ResultsDir& dir, const std::string& run_id) {
  return read_json_file(started_marker_path(dir, run_id));
}

std::vector<SlurmJobRecord> read_job_records(const ResultsDir& dir) {
  std::vector<SlurmJobRecord> records;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(slurm_records_dir(dir), ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("job-") || !name.ends_with(".json")) continue;
    const std::optional<json> doc = read_json_file(e.path().string());
    if (!doc || !doc->contains("job_id") || !(*doc)["job_id"].is_string() ||
        !doc->contains("tasks") || !(*doc)["tasks"].is_array()) {
      continue;
    }
    SlurmJobRecord r;
    r.job_id = (*doc)["job_id"].get<std::string>();
    for (const json& task : (*doc)["tasks"]) {
      std::vector<std::string> ids;
      if (task.is_array()) {
        for (const json& id : task) {
          if (id.is_string()) ids.push_back(id.get<std::string>());
        }
      }
      r.tasks.push_back(std::move(ids));
    }
    records.push_back(std::move(r));
  }
  std::sort(records.begin(), records.end(), [](const SlurmJobRecord& a, const SlurmJobRecord& b) {
    return job_id_less(a.job_id, b.job_id);
  });
  return records;
}

FileLock::FileLock(const std::string& path, Mode mode, const std::string& holder) {
  // O_CLOEXEC: the children (psgd run) must not inherit the lock and hold it after we die.
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw EnvironmentError("cannot open '" + path + "': " + std::strerror(errno));
  const int op = (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  if (flock(fd_, op) == 0) return;
  const int err = errno;
  if (err == EWOULDBLOCK) {
    close(fd_);
    fd_ = -1;
    throw EnvironmentError(holder + " is using '" + fs::path(path).parent_path().string() +
                           "' (it holds " + path + ")");
  }
  std::cerr << "psgd sweep: warning: cannot lock " << path << " (" << std::strerror(err)
            << "); going on without the lock\n";
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

}  // namespace psgd
