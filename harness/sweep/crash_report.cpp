// harness/sweep/crash_report.cpp — the crashed (or invalid) run's document.
#include "harness/sweep/crash_report.hpp"

#include <cstring>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/stop_signals.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

using nlohmann::json;

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

CrashRecord read_crash(const json& doc) {
  CrashRecord c;
  if (!doc.is_object() || !doc.contains("crash") || !doc["crash"].is_object()) return c;
  const json& crash = doc["crash"];
  if (crash.contains("kind") && crash["kind"].is_string()) c.kind = crash["kind"];
  if (crash.contains("exit_code") && crash["exit_code"].is_number_integer())
    c.exit_code = crash["exit_code"].get<std::int64_t>();
  if (crash.contains("signal_name") && crash["signal_name"].is_string())
    c.signal_name = crash["signal_name"];
  return c;
}

}  // namespace psgd
