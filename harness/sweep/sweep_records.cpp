// harness/sweep/sweep_records.cpp — what the sweep records of a run: whether a stored result counts
// as done, and the run's final document (the child's own, or a crashed report).
#include <csignal>
#include <fstream>

#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/scheduler.hpp"

namespace psgd {

using nlohmann::json;

bool counts_as_done(const std::optional<json>& doc, const SchedulerOptions& options) {
  if (!doc || options.rerun) return false;
  if (!options.accept_other_builds && recorded_build_id(*doc) != options.build_id) return false;
  const std::string status = doc->value("status", "");
  return !(options.redo_crashed && status == "crashed") && status != "stopped";
}

json run_document(const SweepSpec& spec, const PlannedRun& run, const ResultsDir& dir,
                  const ChildOutcome& outcome, const std::string& build_id) {
  const std::string part = dir.part_path(run.run_id);
  const std::string final_path = dir.final_path(run.run_id);
  std::optional<json> child_doc;
  if (is_regular_file_at(part)) {
    std::ifstream in(part);
    if (in) {
      try {
        child_doc = json::parse(in);
      } catch (const json::exception&) {
        child_doc.reset();
      }
    }
  }
  const bool clean_exit = outcome.kind == ChildOutcome::Kind::kExited && outcome.exit_code == 0;
  const bool has_status = child_doc && child_doc->is_object() && child_doc->contains("status") &&
                          (*child_doc)["status"].is_string();
  // A child that SIGINT or SIGTERM stopped (not the sweep's timeout: that is kTimedOut) wrote
  // what it measured and exited 130 or 143: kept. Stopped in training (status `stopped`) it is
  // redone on resume; stopped in its evaluation it completed, keeps its status and counts.
  const bool stopped = outcome.kind == ChildOutcome::Kind::kExited &&
                       (outcome.exit_code == 128 + SIGINT || outcome.exit_code == 128 + SIGTERM) &&
                       has_status &&
                       ((*child_doc)["status"] == "stopped" || child_doc->contains("stopped"));
  json doc;
  if ((clean_exit || stopped) && has_status) {
    doc = std::move(*child_doc);
    doc["sweep"] = sweep_block(spec, run, outcome.seconds, build_id);
    // The child wrote to the .part name; the document now lives at the final one, and its argv
    // says so too (a re-run from it names the document, not a file that no longer exists).
    if (doc.contains("config") && doc["config"].is_object()) doc["config"]["out"] = final_path;
    if (doc.contains("argv") && doc["argv"].is_array()) {
      for (json& a : doc["argv"]) {
        if (a.is_string() && a.get<std::string>() == "--out=" + part) a = "--out=" + final_path;
      }
    }
  } else {
    const json child_error =
        has_status && child_doc->contains("error") ? (*child_doc)["error"] : json(nullptr);
    const std::string detail = clean_exit ? (child_doc ? "exit 0 but the document has no status"
                                                       : "exit 0 but no result document")
                                          : "";
    doc = crashed_report(spec, run, outcome, final_path, read_tail(dir.stderr_path(run.run_id)),
                         child_error, detail);
  }
  doc["sweep"]["build_id"] = build_id.empty() ? json(nullptr) : json(build_id);
  return doc;
}

}  // namespace psgd
