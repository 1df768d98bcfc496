// harness/sweep/resume.hpp — what a sweep does with a run given what its results folder holds.
//
// A result counts as done only when it is complete (results.hpp: result_problem), of this build
// (build_identity.hpp) and not asked to be redone. The default for a result of another build is
// to redo it: a figure must not mix the numbers of two binaries without anyone deciding so.
// Nothing is deleted on the way: a result being redone is moved to superseded/<build id>/, a file
// that is no complete result (truncated, hand-made, of another run) to set-aside/, each with a
// line in the log, before the run is started.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "harness/sweep/results.hpp"
#include "harness/sweep/scheduler.hpp"

namespace psgd {

enum class Resume {
  kRun,          // nothing there yet
  kDone,         // a complete result to keep
  kRedoCrashed,  // --redo-crashed and the result is a crash: redone, overwritten
  kOtherBuild,   // a complete result of another build: moved to superseded/, redone
  kRerun,        // --rerun: moved to superseded/, redone
  kBroken,       // a file that is no complete result: moved to set-aside/, redone
};

struct ResumeCheck {
  Resume action = Resume::kRun;
  std::optional<nlohmann::json> doc;  // the document, when it parsed as a JSON object
  std::string problem;                // kBroken: why the file does not count
};

// Reads <dir>/<run_id>.json and decides. Reads only; never throws for what the file holds.
ResumeCheck check_resume(const ResultsDir& dir, const std::string& run_id,
                         const SchedulerOptions& options);

// Moves the run's file out of the way for kOtherBuild, kRerun and kBroken (to
// superseded/<build id>/ or set-aside/, adding .2, .3, ... to a name already taken) and returns
// the path it now has; "" for the other actions. Throws EnvironmentError when it cannot move it
// (the run is then not started, so the file is never overwritten).
std::string move_aside(const ResultsDir& dir, const std::string& run_id, const ResumeCheck& check);

// One log line for a moved file: "set aside X: truncated ... (redone)".
std::string move_aside_note(const std::string& run_id, const ResumeCheck& check,
                            const std::string& moved_to);

// Short word for the dry-run listing: "run", "done", "redo" ...
std::string_view resume_word(Resume action) noexcept;

}  // namespace psgd
