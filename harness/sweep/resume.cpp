// harness/sweep/resume.cpp — the resume decision and moving old results out of the way.
#include "harness/sweep/resume.hpp"

#include <filesystem>
#include <fstream>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "harness/sweep/build_identity.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// <folder>/<run_id>.json, else <folder>/<run_id>.2.json, .3, ...: the first name not taken.
fs::path free_name(const fs::path& folder, const std::string& run_id) {
  fs::path p = folder / (run_id + ".json");
  std::error_code ec;
  for (int n = 2; fs::exists(p, ec); ++n) p = folder / (run_id + "." + std::to_string(n) + ".json");
  return p;
}

}  // namespace

ResumeCheck check_resume(const ResultsDir& dir, const std::string& run_id,
                         const SchedulerOptions& options) {
  ResumeCheck c;
  // Never opened unless regular: ResultsDir::check_run_paths refuses the rest up front.
  if (!is_regular_file_at(dir.final_path(run_id))) return c;
  std::ifstream in(dir.final_path(run_id));
  if (!in) return c;
  try {
    json doc = json::parse(in);
    if (doc.is_object()) c.doc = std::move(doc);
  } catch (const json::exception&) {
    // Left empty: a file that does not parse is reported below.
  }
  c.problem = c.doc ? result_problem(*c.doc, run_id) : "not a JSON object (truncated?)";
  if (!c.problem.empty()) {
    c.action = Resume::kBroken;
    return c;
  }
  const bool same_build = recorded_build_id(*c.doc) == options.build_id;
  if (options.rerun) {
    c.action = Resume::kRerun;
  } else if (!same_build && !options.accept_other_builds) {
    c.action = Resume::kOtherBuild;
  } else if ((options.redo_crashed && c.doc->value("status", "") == "crashed") ||
             c.doc->value("status", "") == "stopped") {
    // A stopped run (SIGINT or SIGTERM reached the child, which kept what it had measured) is
    // never a result to keep: redone and overwritten, with or without --redo-crashed.
    c.action = Resume::kRedoCrashed;
  } else {
    c.action = Resume::kDone;
  }
  return c;
}

std::string move_aside(const ResultsDir& dir, const std::string& run_id, const ResumeCheck& check) {
  fs::path folder;
  if (check.action == Resume::kBroken) {
    folder = fs::path(dir.dir()) / "set-aside";
  } else if (check.action == Resume::kOtherBuild || check.action == Resume::kRerun) {
    const std::string id = check.doc ? recorded_build_id(*check.doc) : "";
    folder = fs::path(dir.dir()) / "superseded" / (id.empty() ? "unrecorded-build" : id);
  } else {
    return "";
  }
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw EnvironmentError("cannot create '" + folder.string() + "': " + ec.message());
  const fs::path to = free_name(folder, run_id);
  fs::rename(dir.final_path(run_id), to, ec);
  if (ec) {
    throw EnvironmentError("cannot move '" + dir.final_path(run_id) + "' to '" + to.string() +
                           "': " + ec.message() + " (the run is not redone over it)");
  }
  return to.string();
}

std::string move_aside_note(const std::string& run_id, const ResumeCheck& check,
                            const std::string& moved_to) {
  switch (check.action) {
    case Resume::kBroken:
      return "set aside " + run_id + ".json (" + check.problem + ") as " + moved_to +
             "; the run is redone";
    case Resume::kOtherBuild:
      return "moved " + run_id + ".json of " + describe_build(*check.doc) + " to " + moved_to +
             "; the run is redone with this build";
    case Resume::kRerun:
      return "moved " + run_id + ".json to " + moved_to + " (--rerun); the run is redone";
    default:
      return "";
  }
}

std::string_view resume_word(Resume action) noexcept {
  static constexpr NameTable<Resume, 6> kResumeWords{{
      {"run", Resume::kRun},
      {"done", Resume::kDone},
      {"redo", Resume::kRedoCrashed},
      {"build", Resume::kOtherBuild},
      {"rerun", Resume::kRerun},
      {"broken", Resume::kBroken},
  }};
  return name_of(kResumeWords, action);
}

}  // namespace psgd
