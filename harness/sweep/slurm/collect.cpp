// harness/sweep/slurm/collect.cpp — classifying runs, recording killed tasks, the report.
#include "harness/sweep/slurm/collect.hpp"

#include <charconv>
#include <filesystem>
#include <ostream>
#include <set>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/run_index.hpp"
#include "harness/sweep/slurm/files.hpp"
#include "harness/sweep/slurm/script.hpp"
#include "harness/sweep/superseded_index.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs listed by id per state in the report; the counts cover the rest.
constexpr std::size_t kListedRuns = 10;

std::string text_at(const json& doc, const char* pointer) {
  const json::json_pointer p(pointer);
  return doc.is_object() && doc.contains(p) && doc.at(p).is_string() ? doc.at(p).get<std::string>()
                                                                     : "";
}

// Run id -> the key of the newest active array task that lists it.
std::map<std::string, std::string> queued_runs(const std::vector<SlurmJobRecord>& records,
                                               const SlurmQueue& queue) {
  std::map<std::string, std::string> out;
  for (const SlurmJobRecord& r : records) {  // oldest first: a newer submission wins
    for (std::size_t t = 0; t < r.tasks.size(); ++t) {
      const std::string key = r.job_id + "_" + std::to_string(t);
      if (!queue.tasks.contains(key)) continue;
      for (const std::string& id : r.tasks[t]) out[id] = key;
    }
  }
  return out;
}

bool any_marker(const std::vector<PlannedRun>& runs, const ResultsDir& dir) {
  for (const PlannedRun& r : runs) {
    if (fs::exists(started_marker_path(dir, r.run_id))) return true;
  }
  return false;
}

constexpr NameTable<SlurmRunState, 6> kSlurmRunStates{{
    {"complete", SlurmRunState::kComplete},
    {"running", SlurmRunState::kRunning},
    {"killed", SlurmRunState::kKilled},
    {"queued", SlurmRunState::kQueued},
    {"missing", SlurmRunState::kMissing},
    {"unknown", SlurmRunState::kUnknown},
}};

// One marker: running, killed (committed as crashed when `commit`), stale or unknown. Returns
// nullopt when the marker turned out stale (the run's own document is complete) or was committed.
std::optional<SlurmRunState> classify_marker(const SweepSpec& spec, const PlannedRun& run,
                                             const ResultsDir& dir, const SlurmClient& slurm,
                                             bool commit, SlurmCollection& c, std::size_t i,
                                             std::optional<json>& doc) {
  const std::optional<json> marker = read_started_marker(dir, run.run_id);
  if (!marker) return std::nullopt;
  const std::string attempt = text_at(*marker, "/attempt");
  const bool own_document = doc && !attempt.empty() && text_at(*doc, "/slurm/attempt") == attempt;
  if (own_document || (doc && doc->value("status", "") != "crashed")) {
    // Stale: the attempt that wrote the document died before removing its marker, or the run has
    // a result since (a later attempt, a local sweep), which a dead attempt must never replace.
    if (commit) remove_quietly(started_marker_path(dir, run.run_id));
    return std::nullopt;
  }
  const std::string key = text_at(*marker, "/slurm/task_key");
  if (key.empty() || !c.queue.known) return SlurmRunState::kUnknown;
  if (c.queue.tasks.contains(key)) {
    c.task_of[i] = key;
    return SlurmRunState::kRunning;
  }
  const SlurmEnd end = slurm.end_of(key);
  if (!commit) return SlurmRunState::kKilled;
  const json crashed = slurm_crash_document(spec, run, dir, *marker, end);
  write_json(crashed, dir.final_path(run.run_id));  // the commit point of the crash record
  remove_quietly(started_marker_path(dir, run.run_id));
  remove_quietly(dir.stderr_path(run.run_id));
  remove_quietly(dir.part_path(run.run_id));
  c.crashed_now.push_back(run.run_id + ": Slurm " + end.state +
                          (end.exit_code.empty() ? "" : ", exit code " + end.exit_code) + " (" +
                          end.source + ")");
  doc = crashed;
  return std::nullopt;
}

std::string listed(const std::vector<std::string>& ids) {
  std::string s;
  for (std::size_t k = 0; k < ids.size() && k < kListedRuns; ++k) s += (k ? ", " : "") + ids[k];
  if (ids.size() > kListedRuns)
    s += ", ... and " + std::to_string(ids.size() - kListedRuns) + " more";
  return s;
}

}  // namespace

SlurmCollection collect_slurm_runs(const SweepSpec& spec, const std::vector<PlannedRun>& runs,
                                   const ResultsDir& dir, const SlurmClient& slurm, bool commit) {
  SlurmCollection c;
  c.states.assign(runs.size(), SlurmRunState::kMissing);
  c.summaries.assign(runs.size(), std::nullopt);
  c.task_of.assign(runs.size(), "");
  c.build_ids.assign(runs.size(), "");
  const std::vector<SlurmJobRecord> records = read_job_records(dir);
  // A folder of local runs only (no submission, no marker) needs no Slurm at all.
  if (!records.empty() || any_marker(runs, dir)) {
    c.queue_asked = true;
    c.queue = slurm.queue(slurm_job_name(spec.sweep_id()));
  }
  const std::map<std::string, std::string> queued = queued_runs(records, c.queue);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const PlannedRun& run = runs[i];
    std::optional<json> doc = dir.load_complete(run.run_id);
    std::optional<SlurmRunState> state = classify_marker(spec, run, dir, slurm, commit, c, i, doc);
    if (doc) c.summaries[i] = read_index_entry(*doc);
    if (doc) c.build_ids[i] = recorded_build_id(*doc);
    if (!state) {
      const auto q = queued.find(run.run_id);
      if (q != queued.end() && (!doc || doc->value("status", "") == "crashed")) {
        state = SlurmRunState::kQueued;
        c.task_of[i] = q->second;
      } else {
        state = doc ? SlurmRunState::kComplete : SlurmRunState::kMissing;
      }
    }
    c.states[i] = *state;
  }
  return c;
}

json slurm_crash_document(const SweepSpec& spec, const PlannedRun& run, const ResultsDir& dir,
                          const json& marker, const SlurmEnd& end) {
  // Slurm's exit code is "<exit status>:<signal>" of the task's batch script.
  int exit_status = -1;
  int signal = 0;
  const std::string& code = end.exit_code;
  const std::size_t colon = code.find(':');
  if (colon != std::string::npos) {
    std::from_chars(code.data(), code.data() + colon, exit_status);
    std::from_chars(code.data() + colon + 1, code.data() + code.size(), signal);
  }
  ChildOutcome outcome;
  outcome.kind = ChildOutcome::Kind::kSignaled;
  outcome.signal = signal;
  json doc = crashed_report(spec, run, outcome, dir.final_path(run.run_id),
                            read_tail(dir.stderr_path(run.run_id)), json(nullptr),
                            "the Slurm array task ended (" + end.state +
                                ") while this run was in "
                                "flight");
  json& crash = doc["crash"];
  crash["kind"] = "slurm";
  crash["slurm_state"] = end.state;
  crash["slurm_exit_code"] = end.exit_code.empty() ? json(nullptr) : json(end.exit_code);
  crash["slurm_reason"] = end.reason.empty() ? json(nullptr) : json(end.reason);
  crash["slurm_source"] = end.source;
  if (exit_status >= 0) crash["exit_code"] = exit_status;
  crash["interrupted_by"] = marker.value("interrupted_by", json(nullptr));
  json allocation = marker.value("slurm", json(nullptr));
  if (allocation.is_object()) allocation["attempt"] = marker.value("attempt", json(nullptr));
  doc["slurm"] = allocation;
  if (marker.contains("context") && marker["context"].is_object())
    doc["context"] = marker["context"];
  doc["sweep"]["run_seconds"] = nullptr;
  // The build the task ran (its marker says; a marker of an older psgd does not).
  doc["sweep"]["build_id"] = marker.value("build_id", json(nullptr));
  return doc;
}

std::vector<std::size_t> runs_to_submit(const SlurmCollection& c,
                                        const std::vector<PlannedRun>& runs,
                                        const SchedulerOptions& options) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const SlurmRunState s = c.states[i];
    const bool crashed =
        s == SlurmRunState::kKilled || (s == SlurmRunState::kComplete && c.summaries[i] &&
                                        c.summaries[i]->run.status == "crashed");
    // A complete run is submitted again when it is of another build or --rerun asks (the task
    // moves the old document to superseded/ first, as a local sweep does).
    const bool redo =
        s == SlurmRunState::kComplete &&
        (options.rerun || (!options.accept_other_builds && c.build_ids[i] != options.build_id));
    if (s == SlurmRunState::kMissing || (crashed && options.redo_crashed) || redo) out.push_back(i);
  }
  return out;
}

void print_collection(const SlurmCollection& c, const SweepSpec& spec,
                      const std::vector<PlannedRun>& runs, std::ostream& out) {
  std::map<SlurmRunState, std::vector<std::string>> by_state;
  std::map<std::string, std::size_t> statuses;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    by_state[c.states[i]].push_back(runs[i].run_id +
                                    (c.task_of[i].empty() ? "" : " (task " + c.task_of[i] + ")"));
    if (c.states[i] == SlurmRunState::kComplete) ++statuses[c.summaries[i]->run.status];
  }
  std::string status_text;
  for (const auto& [status, n] : statuses)
    status_text += (status_text.empty() ? "" : ", ") + std::to_string(n) + " " + status;
  out << "sweep " << spec.sweep_id() << ": " << runs.size()
      << " runs: " << by_state[SlurmRunState::kComplete].size() << " complete"
      << (status_text.empty() ? "" : " (" + status_text + ")");
  for (const SlurmRunState s :
       {SlurmRunState::kRunning, SlurmRunState::kQueued, SlurmRunState::kKilled,
        SlurmRunState::kMissing, SlurmRunState::kUnknown}) {
    if (!by_state[s].empty() || s == SlurmRunState::kRunning || s == SlurmRunState::kQueued ||
        s == SlurmRunState::kMissing)
      out << ", " << by_state[s].size() << " " << name_of(kSlurmRunStates, s);
  }
  out << "\n";
  for (const std::string& line : c.crashed_now) out << "  recorded as crashed: " << line << "\n";
  if (c.queue_asked && !c.queue.known)
    out << "  Slurm's queue is unknown: " << c.queue.error << "\n";
  for (const SlurmRunState s :
       {SlurmRunState::kRunning, SlurmRunState::kQueued, SlurmRunState::kKilled,
        SlurmRunState::kMissing, SlurmRunState::kUnknown}) {
    if (!by_state[s].empty())
      out << "  " << name_of(kSlurmRunStates, s) << ": " << listed(by_state[s]) << "\n";
  }
}

int collect_sweep(const SweepSpec& spec, const std::vector<PlannedRun>& runs, ResultsDir& dir,
                  const SlurmClient& slurm, std::ostream& out) {
  if (!fs::is_directory(dir.dir())) {
    throw EnvironmentError("nothing to collect: '" + dir.dir() +
                           "' does not exist (submit the sweep first)");
  }
  const FileLock shared(dir.dir() + "/.lock", FileLock::Mode::kShared, "a local `psgd sweep`");
  fs::create_directories(slurm_records_dir(dir));
  const FileLock own(slurm_records_dir(dir) + "/.lock", FileLock::Mode::kExclusive,
                     "another `psgd sweep --collect` or `--backend slurm`");
  const SlurmCollection c = collect_slurm_runs(spec, runs, dir, slurm, /*commit=*/true);
  write_index(dir.index_path(), spec, runs, c.summaries);
  // The array tasks move other builds' results to superseded/ concurrently; indexing those
  // folders is left to this one process.
  index_superseded(dir, spec, runs, /*refresh_all=*/true);
  print_collection(c, spec, runs, out);
  std::size_t rows = 0;
  for (const auto& s : c.summaries) rows += s ? 1 : 0;
  out << "index: " << dir.index_path() << " (" << rows << " rows)\n";
  return 0;
}

}  // namespace psgd
