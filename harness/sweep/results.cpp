// harness/sweep/results.cpp — result documents, resume and the sweep index.
#include "harness/sweep/results.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A column of the index and where its value sits in a result document.
struct Field {
  const char* column;
  const char* pointer;
};

// Before the epsilon columns.
constexpr Field kLeadFields[] = {
    {"status", "/status"},
    {"stop_reason", "/stop_reason"},
    {"crash", "/crash/kind"},
    {"exit_code", "/crash/exit_code"},
    {"signal", "/crash/signal_name"},
    {"run_seconds", "/sweep/run_seconds"},
    {"wall_seconds", "/metrics/wall_seconds"},
    {"initial_train_loss", "/metrics/initial_train_loss"},
    {"final_train_loss", "/metrics/final_train_loss"},
    {"final_test_loss", "/metrics/final_test_loss"},
    {"final_test_accuracy", "/metrics/final_test_accuracy"},
};

// After the epsilon columns.
constexpr Field kTailFields[] = {
    {"updates_applied", "/updates/applied"},
    {"updates_computed", "/updates/computed"},
    {"updates_dropped", "/updates/dropped"},
    {"updates_per_second", "/throughput/updates_per_second"},
    {"samples_per_second", "/throughput/samples_per_second"},
    {"staleness_mean", "/staleness/mean"},
    {"staleness_p50", "/staleness/p50"},
    {"staleness_p99", "/staleness/p99"},
    {"staleness_max", "/staleness/max"},
    {"failed_attempts", "/contention/failed_attempts"},
    {"failed_attempts_per_update", "/contention/failed_attempts_per_update/mean"},
    {"lock_wait_seconds", "/contention/lock_wait_seconds"},
    {"backoff_seconds", "/contention/backoff_seconds"},
    {"dropped_gradients", "/contention/dropped_gradients"},
    {"peak_rss_bytes", "/resources/peak_rss_bytes"},
    {"cpu_utilisation", "/resources/cpu_utilisation"},
    {"oversubscribed", "/oversubscribed"},
};

std::string csv_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string value_at(const json& doc, const char* pointer) {
  try {
    const json::json_pointer p(pointer);
    return doc.contains(p) ? csv_text(doc.at(p)) : "";
  } catch (const json::exception&) {
    return "";  // a document of another shape (an older schema): the cell stays empty
  }
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (const char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';  // not `"," + csv_quote(..)`: GCC 12's false -Wrestrict at -O3
    line += csv_quote(cells[i]);
  }
  return line + "\n";
}

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

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
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
  if (!doc.contains("schema_version") || doc["schema_version"] != kSchemaVersion)
    return "schema_version is not " + std::to_string(kSchemaVersion);
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
  return b;
}

namespace {

// The last non-empty line of text, without its newline.
std::string last_line(const std::string& text) {
  const std::size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

json crashed_report(const SweepSpec& spec, const PlannedRun& run, const ChildOutcome& outcome,
                    const std::string& final_path, const std::string& stderr_tail,
                    const json& child_error, const std::string& detail) {
  json crash;
  switch (outcome.kind) {
    case ChildOutcome::Kind::kTimedOut:
      crash["kind"] = "timeout";
      crash["timeout_seconds"] = spec.timeout_seconds;
      break;
    case ChildOutcome::Kind::kSignaled:
      crash["kind"] = "signal";
      break;
    case ChildOutcome::Kind::kExited:
      crash["kind"] = outcome.exit_code == 0 ? "bad_output" : "exit";
      break;
  }
  if (outcome.kind == ChildOutcome::Kind::kExited) {
    crash["exit_code"] = outcome.exit_code;
  } else if (outcome.signal != 0) {
    crash["signal"] = outcome.signal;
    crash["signal_name"] = signal_name(outcome.signal);
  }
  if (!detail.empty()) crash["detail"] = detail;
  if (!child_error.is_null()) crash["error"] = child_error;
  crash["stderr_tail"] = stderr_tail;

  // A child that exited 2 refused its configuration (e.g. more threads than hardware threads
  // under compact placement): not a crash of anything, so the figures count it apart.
  const bool refused =
      outcome.kind == ChildOutcome::Kind::kExited && outcome.exit_code == kExitConfigError;
  if (refused) {
    crash["kind"] = "invalid";
    crash["message"] = child_error.is_object() && child_error.contains("message")
                           ? child_error["message"]
                           : json(last_line(stderr_tail));
  }
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["status"] = refused ? "invalid" : "crashed";
  doc["crash"] = crash;
  doc["context"] = run_context();
  try {
    doc["config"] = config_to_json(run.run_config(final_path));
  } catch (const std::exception&) {
    doc["config"] = run.options;  // cannot happen for an expanded run; keep what was asked
  }
  doc["sweep"] = sweep_block(spec, run, outcome.seconds, "");
  return doc;
}

std::string read_tail(const std::string& path, std::size_t max_bytes) {
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

// doc.metrics[map][label] as CSV text, empty when the document has no such entry.
std::string metric_of(const json& doc, const char* map, const std::string& label) {
  const json::json_pointer p(std::string("/metrics/") + map);
  return doc.contains(p) && doc.at(p).is_object() && doc.at(p).contains(label)
             ? csv_text(doc.at(p).at(label))
             : "";
}

RunSummary summarize(const json& doc) {
  RunSummary s;
  s.status = doc.value("status", "");
  for (const Field& f : kLeadFields) s.fields.emplace_back(f.column, value_at(doc, f.pointer));
  for (const Field& f : kTailFields) s.fields.emplace_back(f.column, value_at(doc, f.pointer));
  const json::json_pointer tte("/metrics/time_to_epsilon");
  const json::json_pointer ute("/metrics/updates_to_epsilon");
  const json::json_pointer targets("/metrics/epsilon_targets");
  if (doc.contains(tte) && doc.at(tte).is_object()) {
    for (const auto& [label, seconds] : doc.at(tte).items()) s.epsilon_labels.push_back(label);
    // Loosest target first, tightest last, as the targets are read: the JSON object's own order
    // is alphabetical ("10%" < "25%" < "5%").
    auto target = [&](const std::string& label) {
      const bool known = doc.contains(targets) && doc.at(targets).contains(label) &&
                         doc.at(targets).at(label).is_number();
      return known ? doc.at(targets).at(label).get<double>() : 0.0;
    };
    std::stable_sort(
        s.epsilon_labels.begin(), s.epsilon_labels.end(),
        [&](const std::string& a, const std::string& b) { return target(a) > target(b); });
    for (const std::string& label : s.epsilon_labels) {
      const json& seconds = doc.at(tte).at(label);
      s.fields.emplace_back("time_to_epsilon_" + epsilon_column_suffix(label), csv_text(seconds));
      const bool has_updates = doc.contains(ute) && doc.at(ute).contains(label);
      s.fields.emplace_back("updates_to_epsilon_" + epsilon_column_suffix(label),
                            has_updates ? csv_text(doc.at(ute).at(label)) : "");
      s.fields.emplace_back("epsilon_reached_" + epsilon_column_suffix(label),
                            metric_of(doc, "epsilon_reached", label));
    }
  }
  s.fields.emplace_back("epsilon_targets_reached",
                        value_at(doc, "/metrics/epsilon_targets_reached"));
  // Accuracy targets, lowest first (the JSON object's order puts "100%" before "80%").
  const json::json_pointer tta("/metrics/time_to_accuracy");
  if (doc.contains(tta) && doc.at(tta).is_object()) {
    for (const auto& [label, seconds] : doc.at(tta).items()) s.accuracy_labels.push_back(label);
    auto accuracy = [&](const std::string& label) {
      return std::atof(metric_of(doc, "accuracy_targets", label).c_str());
    };
    std::stable_sort(s.accuracy_labels.begin(), s.accuracy_labels.end(),
                     [&](const auto& a, const auto& b) { return accuracy(a) < accuracy(b); });
    for (const std::string& label : s.accuracy_labels) {
      s.fields.emplace_back("time_to_accuracy_" + epsilon_column_suffix(label),
                            metric_of(doc, "time_to_accuracy", label));
      s.fields.emplace_back("updates_to_accuracy_" + epsilon_column_suffix(label),
                            metric_of(doc, "updates_to_accuracy", label));
    }
  }
  return s;
}

std::string epsilon_column_suffix(const std::string& label) {
  std::string out;
  for (const char ch : label) {
    if (ch == '%') {
      out += "pct";
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '.') {
      out += ch;
    } else {
      out += '_';
    }
  }
  return out;
}

std::vector<std::string> index_header(const SweepSpec& spec,
                                      const std::vector<std::string>& epsilon_labels,
                                      const std::vector<std::string>& accuracy_labels) {
  std::vector<std::string> h = {"run_id", "point_id", "repetition", "seed"};
  for (const std::string& option : index_option_columns(spec)) h.push_back(option);
  for (const Field& f : kLeadFields) h.emplace_back(f.column);
  for (const std::string& label : epsilon_labels)
    h.push_back("time_to_epsilon_" + epsilon_column_suffix(label));
  for (const std::string& label : epsilon_labels)
    h.push_back("updates_to_epsilon_" + epsilon_column_suffix(label));
  for (const Field& f : kTailFields) h.emplace_back(f.column);
  h.emplace_back("file");
  // Appended after `file`, so the columns before keep their places.
  h.emplace_back("epsilon_targets_reached");
  for (const std::string& label : epsilon_labels)
    h.push_back("epsilon_reached_" + epsilon_column_suffix(label));
  for (const std::string& label : accuracy_labels)
    h.push_back("time_to_accuracy_" + epsilon_column_suffix(label));
  for (const std::string& label : accuracy_labels)
    h.push_back("updates_to_accuracy_" + epsilon_column_suffix(label));
  return h;
}

void write_index(const std::string& path, const SweepSpec& spec,
                 const std::vector<PlannedRun>& runs,
                 const std::vector<std::optional<RunSummary>>& summaries) {
  std::vector<std::string> labels;
  std::vector<std::string> accuracy_labels;
  auto add_new = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
    for (const std::string& l : from) {
      if (std::find(to.begin(), to.end(), l) == to.end()) to.push_back(l);
    }
  };
  for (const auto& s : summaries) {
    if (!s) continue;
    add_new(labels, s->epsilon_labels);
    add_new(accuracy_labels, s->accuracy_labels);
  }
  const std::vector<std::string> header = index_header(spec, labels, accuracy_labels);
  const std::vector<std::string> options = index_option_columns(spec);
  std::string text = csv_line(header);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!summaries[i]) continue;
    const PlannedRun& run = runs[i];
    std::vector<std::string> row = {run.run_id, run.point_id, std::to_string(run.repetition),
                                    std::to_string(run.seed)};
    for (const std::string& o : options) row.push_back(option_text(run, o));
    // Metric columns by name: a document without a field (a crashed run) leaves the cell empty.
    for (std::size_t c = row.size(); c < header.size(); ++c) {
      std::string cell = header[c] == "file" ? run.run_id + ".json" : "";
      for (const auto& [column, value] : summaries[i]->fields) {
        if (column == header[c]) {
          cell = value;
          break;
        }
      }
      row.push_back(cell);
    }
    text += csv_line(row);
  }
  write_text_atomically(path, text);
}

}  // namespace psgd
