// harness/sweep/crash_report.hpp — the document a sweep commits for a run that did not finish
// (crashed, hung, killed, or refused its configuration), and the crash facts read back from one.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// The document of a run that did not finish: status "crashed" with
// crash {kind: signal|exit|timeout|bad_output, signal, signal_name, exit_code, timeout_seconds,
// stderr_tail, error (the child's own error block, when it wrote one)}, plus the schema skeleton
// of a run document (schema_version, context, config); sweep.build_id is null for the caller to
// set. A child that exited 2 (it refused its configuration) gets status "invalid" instead, with
// crash.kind "invalid" and crash.message.
nlohmann::json crashed_report(const SweepSpec& spec, const PlannedRun& run,
                              const ChildOutcome& outcome, const std::string& final_path,
                              const std::string& stderr_tail, const nlohmann::json& child_error,
                              const std::string& detail = "");

// What index.csv keeps of a document's crash block (all empty for a finished run).
struct CrashRecord {
  std::optional<std::string> kind;         // crash.kind
  std::optional<std::int64_t> exit_code;   // crash.exit_code
  std::optional<std::string> signal_name;  // crash.signal_name
};
CrashRecord read_crash(const nlohmann::json& doc);

}  // namespace psgd
