// harness/sweep/results.cpp — the results folder, its lock and what counts as a result in it.
#include "harness/sweep/results.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/sweep/rank_launch.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Replaces every byte that is not part of a well-formed UTF-8 sequence with '?', so that the
// text can go into JSON (nlohmann refuses to dump invalid UTF-8).
std::string valid_utf8(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (ok && (c >= 0x20 || c == '\n' || c == '\t' || len > 1)) {
      out.append(in, i, len);
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

bool is_partial_name(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".part") || ends_with(".stderr") || name.find(".tmp.") != std::string::npos;
}

}  // namespace

ResultsDir::ResultsDir(std::string dir) : dir_(std::move(dir)) {}

ResultsDir::~ResultsDir() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

std::string ResultsDir::final_path(const std::string& run_id) const {
  return dir_ + "/" + run_id + ".json";
}
std::string ResultsDir::part_path(const std::string& run_id) const {
  return dir_ + "/" + run_id + ".json.part";
}
std::string ResultsDir::stderr_path(const std::string& run_id) const {
  return dir_ + "/" + run_id + ".stderr";
}
std::string ResultsDir::index_path() const { return dir_ + "/index.csv"; }

void ResultsDir::create_and_lock() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw EnvironmentError("cannot create '" + dir_ + "': " + ec.message());
  const std::string path = dir_ + "/.lock";
  // O_CLOEXEC: a child must not inherit the lock and hold it after the sweep dies.
  lock_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw EnvironmentError("cannot open '" + path + "': " + std::strerror(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    throw EnvironmentError("another sweep is writing '" + dir_ + "' (it holds " + path + ")");
  }
}

void ResultsDir::check_run_paths(const std::vector<PlannedRun>& runs) const {
  auto check = [](const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || st.type() == fs::file_type::not_found || st.type() == fs::file_type::regular) return;
    const std::string what = st.type() == fs::file_type::directory ? "a directory"
                             : st.type() == fs::file_type::fifo    ? "a FIFO"
                                                                   : "not a regular file";
    throw EnvironmentError("'" + path + "' is " + what +
                           ", where the sweep keeps a regular file; move it away and start again "
                           "(nothing was changed)");
  };
  check(index_path());
  check(dir_ + "/sweep.json");
  for (const PlannedRun& r : runs) {
    check(final_path(r.run_id));
    check(part_path(r.run_id));
    check(stderr_path(r.run_id));
  }
}

std::vector<std::string> ResultsDir::remove_partials() const {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && is_partial_name(name)) {
      fs::remove(e.path(), ec);
      removed.push_back(name);
    }
  }
  return removed;
}

std::optional<json> ResultsDir::load_complete(const std::string& run_id) const {
  if (!is_regular_file_at(final_path(run_id))) return std::nullopt;
  std::ifstream in(final_path(run_id));
  if (!in) return std::nullopt;
  try {
    json doc = json::parse(in);
    if (result_problem(doc, run_id).empty()) return doc;
  } catch (const json::exception&) {
    // Not a complete document (a sweep renames files into place whole): the run is redone.
  }
  return std::nullopt;
}

std::string result_problem(const json& doc, const std::string& run_id) {
  if (!doc.is_object()) return "not a JSON object";
  if (!doc.contains("status") || !doc["status"].is_string()) return "no status";
  if (!doc.contains("schema_version")) return "no schema_version";
  // An older schema is redone, not read: schema 1 counted a round-based method's epoch in rounds
  // and has no work block, so its runs do not compare with this build's. Schema 2 differs from 3
  // in the config block's spelling only (build_info.hpp): its runs are kept.
  const json& version = doc["schema_version"];
  if (!version.is_number_integer() ||
      version.get<std::int64_t>() < kOldestComparableSchemaVersion ||
      version.get<std::int64_t>() > kSchemaVersion)
    return "schema_version " + version.dump() + " is not " +
           std::to_string(kOldestComparableSchemaVersion) + " to " +
           std::to_string(kSchemaVersion) + " (written by another psgd: the run is redone)";
  const json::json_pointer id("/sweep/run_id");
  if (!doc.contains(id) || doc.at(id) != run_id) return "its sweep.run_id does not name this run";
  return "";
}

json sweep_block(const SweepSpec& spec, const PlannedRun& run, double run_seconds,
                 const std::string& build_id) {
  json axes = json::object();
  for (const auto& [axis, label] : run.axis_labels) axes[axis] = label;
  json b;
  b["sweep"] = spec.sweep_id();
  b["name"] = spec.name;
  b["scale"] = spec.scale.empty() ? json(nullptr) : json(spec.scale);
  b["point_id"] = run.point_id;
  b["run_id"] = run.run_id;
  b["repetition"] = run.repetition;
  b["seed"] = run.seed;
  b["axes"] = axes;
  b["options"] = run.options;
  b["run_seconds"] = run_seconds;
  b["build_id"] = build_id.empty() ? json(nullptr) : json(build_id);
  // How the ranks were started, as run here (mpirun's --oversubscribe says the ranks x threads
  // were more than this host's CPUs); only for a run across processes.
  if (launched_as_ranks(run.options)) {
    b["launcher"] = rank_launch_prefix(run.options, rank_launcher_here(), launch_host_here());
  }
  return b;
}

std::string results_write_failure(const ResultsDir& dir, const std::string& run_id, int exit_code) {
  if (exit_code != kExitEnvironmentError) return "";
  const std::string tail = read_tail(dir.stderr_path(run_id));
  for (const int e : {ENOSPC, EDQUOT, EROFS}) {
    if (tail.find(std::strerror(e)) != std::string::npos) return std::strerror(e);
  }
  struct statvfs st {};
  if (statvfs(dir.dir().c_str(), &st) == 0) {
    const unsigned long long free_bytes =
        static_cast<unsigned long long>(st.f_bavail) * static_cast<unsigned long long>(st.f_frsize);
    if (free_bytes < kMinFreeBytes)
      return "only " + std::to_string(free_bytes) + " bytes free in the folder";
  }
  return "";
}

bool is_regular_file_at(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string read_tail(const std::string& path, std::size_t max_bytes) {
  if (!is_regular_file_at(path)) return "";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    const std::size_t nl = text.find('\n');
    if (nl != std::string::npos) text.erase(0, nl + 1);  // begin at a whole line
  }
  return valid_utf8(text);
}

std::optional<double> recorded_run_seconds(const json& doc) {
  const json::json_pointer p("/sweep/run_seconds");
  if (!doc.is_object() || !doc.contains(p) || !doc.at(p).is_number()) return std::nullopt;
  return doc.at(p).get<double>();
}

}  // namespace psgd
