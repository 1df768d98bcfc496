// harness/sweep/scheduler.cpp — plan, resume, run children, record, index.
#include "harness/sweep/scheduler.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <optional>
#include <set>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/progress.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/resume.hpp"
#include "harness/sweep/run_index.hpp"
#include "harness/sweep/superseded_index.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The live line is redrawn this often while a run is in flight.
constexpr double kTickSeconds = 0.5;

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::size_t point_count(const std::vector<PlannedRun>& runs) {
  std::set<std::string> points;
  for (const PlannedRun& r : runs) points.insert(r.point_id);
  return points.size();
}

struct Active {
  std::size_t index;
  ChildProcess child;
};

// One sweep session over one locked results folder.
class SweepRun {
 public:
  SweepRun(const SweepSpec& spec, const SchedulerOptions& options,
           const std::vector<PlannedRun>& runs, ResultsDir& dir)
      : spec_(spec),
        options_(options),
        runs_(runs),
        dir_(dir),
        entries_(runs.size()),
        progress_(spec.sweep_id(), runs.size(), options.jobs, isatty(STDERR_FILENO) == 1) {}

  int run() {
    const std::vector<std::size_t> todo = prepare();
    block_sweep_signals();
    std::list<Active> active;
    std::size_t next = 0;
    while (next < todo.size() || !active.empty()) {
      while (active.size() < static_cast<std::size_t>(options_.jobs) && next < todo.size()) {
        start(todo[next++], active);
      }
      double wait = kTickSeconds;
      std::vector<std::pair<std::string, double>> running;
      for (auto it = active.begin(); it != active.end();) {
        if (const std::optional<ChildOutcome> out = it->child.poll()) {
          const std::size_t index = it->index;
          it = active.erase(it);
          if (const std::string failure = finish(index, *out); !failure.empty())
            return stop_unwritable(active, index, failure);
          continue;
        }
        wait = std::min(wait, it->child.seconds_to_deadline() + 0.001);
        running.emplace_back(runs_[it->index].run_id, it->child.elapsed_seconds());
        ++it;
      }
      if (active.empty() && next < todo.size()) continue;  // start the next run at once
      if (active.empty()) break;
      progress_.tick(running);
      if (const int sig = wait_for_child_or_signal(wait); sig != 0) return interrupted(active, sig);
    }
    progress_.summary();
    return 0;
  }

 private:
  // Locks the folder, clears what interrupted runs left, records the sweep and the runs already
  // complete, and returns the indexes of the runs still to do, in plan order.
  std::vector<std::size_t> prepare() {
    dir_.create_and_lock();
    const std::vector<std::string> removed = dir_.remove_partials();
    if (!removed.empty()) {
      progress_.message("removed " + std::to_string(removed.size()) +
                        " file(s) of interrupted runs (those runs are redone), e.g. " +
                        removed.front());
    }
    write_json(sweep_document(spec_, options_, runs_), dir_.dir() + "/sweep.json");

    std::vector<std::size_t> todo;
    std::set<std::string> planned;
    std::size_t other_builds = 0;
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      planned.insert(runs_[i].run_id + ".json");
      const ResumeCheck check = check_resume(dir_, runs_[i].run_id, options_);
      if (check.action == Resume::kDone) {
        entries_[i] = read_index_entry(*check.doc);
        progress_.skipped(entries_[i]->run.status);
        continue;
      }
      if (check.action == Resume::kOtherBuild && other_builds++ == 0) {
        progress_.message("results of " + describe_build(*check.doc) +
                          " are here; this binary is build " + options_.build_id +
                          ": they are redone (--accept-other-builds keeps them)");
      }
      const std::string moved = move_aside(dir_, runs_[i].run_id, check);
      // One line per broken file (each is a surprise); the other moves are counted below.
      if (check.action == Resume::kBroken)
        progress_.message(move_aside_note(runs_[i].run_id, check, moved));
      todo.push_back(i);
    }
    // Each build's folder stays readable on its own (the ones this sweep moved results to, and
    // any an older psgd left without an index).
    index_superseded(dir_, spec_, runs_, /*refresh_all=*/other_builds > 0 || options_.rerun);
    if (other_builds > 0 || options_.rerun) {
      progress_.message(std::to_string(other_builds) + " result(s) of other builds" +
                        (options_.rerun ? " and every result of this one (--rerun)" : "") +
                        " moved to " + dir_.dir() + "/superseded/<build id>/ and redone");
    }
    note_foreign_results(planned);
    if (todo.size() < runs_.size()) {
      progress_.message(std::to_string(runs_.size() - todo.size()) + " of " +
                        std::to_string(runs_.size()) + " runs already complete in " + dir_.dir() +
                        ", skipped");
    }
    if (options_.jobs > 1) {
      progress_.message(
          "warning: --jobs " + std::to_string(options_.jobs) +
          " runs children at once; they share cores, caches and memory bandwidth and distort "
          "the timings being measured. Use it for smoke tests, not for figures.");
    }
    write_index(dir_.index_path(), spec_, runs_, entries_);
    return todo;
  }

  void note_foreign_results(const std::set<std::string>& planned) {
    std::size_t foreign = 0;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_.dir(), ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() > 5 && name.ends_with(".json") && name != "sweep.json" &&
          !planned.contains(name))
        ++foreign;
    }
    if (foreign > 0) {
      progress_.message(
          std::to_string(foreign) +
          " result file(s) in the folder are not in this plan (the spec changed?); they are "
          "left alone and left out of index.csv");
    }
  }

  void start(std::size_t i, std::list<Active>& active) {
    const PlannedRun& r = runs_[i];
    progress_.started(r.run_id);
    active.push_back(Active{i, ChildProcess(child_argv(options_.psgd, r, dir_.part_path(r.run_id)),
                                            dir_.stderr_path(r.run_id), spec_.timeout_seconds)});
  }

  // Commits run i's outcome; returns "" or, when the results folder cannot be written (the
  // child could not write there, or the sweep cannot), why: the run is then left uncommitted.
  std::string finish(std::size_t i, const ChildOutcome& outcome) {
    const PlannedRun& run = runs_[i];
    if (outcome.kind == ChildOutcome::Kind::kExited) {
      const std::string why = results_write_failure(dir_, run.run_id, outcome.exit_code);
      if (!why.empty()) return "run " + run.run_id + " could not write its result: " + why;
    }
    const std::string part = dir_.part_path(run.run_id);
    const std::string final_path = dir_.final_path(run.run_id);
    const json doc = run_document(spec_, run, dir_, outcome, options_.build_id);
    try {
      write_json(doc, final_path);  // the commit point: from here on the run is complete
      std::error_code ec;
      fs::remove(part, ec);
      fs::remove(dir_.stderr_path(run.run_id), ec);
      entries_[i] = read_index_entry(doc);
      write_index(dir_.index_path(), spec_, runs_, entries_);
    } catch (const EnvironmentError& e) {
      return e.what();
    }
    progress_.finished(run.run_id, entries_[i]->run.status, outcome.seconds);
    return "";
  }

  // The results folder cannot take a result: stopping beats recording every remaining run as
  // crashed, which a plain resume would then count as done. The runs in flight and the one
  // that failed are left pending, their files removed (which also frees what they held).
  int stop_unwritable(std::list<Active>& active, std::size_t failed, const std::string& why) {
    stop_children(active);
    std::error_code ec;
    fs::remove(dir_.part_path(runs_[failed].run_id), ec);
    fs::remove(dir_.stderr_path(runs_[failed].run_id), ec);
    progress_.summary();
    progress_.message("the results folder " + dir_.dir() + " cannot be written (" + why +
                      "); the sweep stops and the runs without a result stay pending: free "
                      "space and start it again");
    return kExitEnvironmentError;
  }

  void stop_children(std::list<Active>& active) {
    for (Active& a : active) {
      (void)a.child.kill_now();
      std::error_code ec;
      fs::remove(dir_.part_path(runs_[a.index].run_id), ec);
      fs::remove(dir_.stderr_path(runs_[a.index].run_id), ec);
    }
  }

  int interrupted(std::list<Active>& active, int sig) {
    stop_children(active);
    progress_.summary();
    progress_.message(
        "interrupted by " +
        std::string(sig == SIGINT    ? "SIGINT"
                    : sig == SIGTERM ? "SIGTERM"
                                     : "SIGHUP") +
        "; the runs in flight were stopped and will be redone when the sweep is restarted");
    return 128 + sig;
  }

  const SweepSpec& spec_;
  const SchedulerOptions& options_;
  const std::vector<PlannedRun>& runs_;
  ResultsDir& dir_;
  std::vector<std::optional<IndexEntry>> entries_;
  SweepProgress progress_;
};

}  // namespace

json sweep_document(const SweepSpec& spec, const SchedulerOptions& options,
                    const std::vector<PlannedRun>& runs) {
  json axes = json::array();
  for (const SweepAxis& a : spec.axes) axes.push_back(a.name);
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["sweep"] = spec.sweep_id();
  doc["name"] = spec.name;
  doc["scale"] = spec.scale.empty() ? json(nullptr) : json(spec.scale);
  doc["description"] = spec.description;
  doc["figure"] = spec.figure;
  doc["spec_file"] = options.spec_path;
  doc["axes"] = axes;
  doc["option_columns"] = index_option_columns(spec);
  doc["points"] = point_count(runs);
  doc["repetitions"] = spec.seeds.size();
  doc["seeds"] = spec.seeds;
  doc["runs"] = runs.size();
  doc["timeout_seconds"] = spec.timeout_seconds;
  doc["jobs"] = options.jobs;
  doc["psgd"] = options.psgd;
  doc["build_id"] = options.build_id;
  // The build identity of the binary the runs use (--psgd, which need not be this process: the
  // context below is this process's): its id and the git state it was built from.
  doc["build"] = {{"id", options.build_id},
                  {"git_sha", options.build_git.value("git_sha", json(nullptr))},
                  {"git_dirty", options.build_git.value("git_dirty", json(nullptr))}};
  doc["context"] = run_context();
  doc["spec"] = json::parse(spec.resolved.dump());
  return doc;
}

int print_dry_run(const SweepSpec& spec, const SchedulerOptions& options,
                  const std::vector<PlannedRun>& runs, const ResultsDir& dir, std::ostream& out) {
  std::size_t done = 0;
  std::size_t other_builds = 0;
  std::string other_build;  // one of them, for the note
  std::string lines;
  for (const PlannedRun& run : runs) {
    const ResumeCheck check = check_resume(dir, run.run_id, options);
    if (check.action == Resume::kDone) {
      ++done;
      lines += "done  " + run.run_id + "  " + check.doc->value("status", "") + "\n";
      continue;
    }
    if (check.action == Resume::kOtherBuild && other_builds++ == 0)
      other_build = describe_build(*check.doc);
    const bool partial = exists(dir.part_path(run.run_id)) || exists(dir.stderr_path(run.run_id));
    const std::string_view word =
        check.action == Resume::kRun && partial ? "redo" : resume_word(check.action);
    // Appended piece by piece, not as one `a + b + ...` expression: GCC 12 at -O3 with AVX-512
    // (-march=sapphirerapids, or Zen 4's flags) warns a false -Wrestrict inside that chain.
    lines += word;
    lines.append(word.size() < 6 ? 6 - word.size() : 1, ' ');
    lines += run.run_id;
    lines += "  ";
    if (check.action == Resume::kBroken || check.action == Resume::kOtherBuild) {
      lines += '(';
      lines += check.action == Resume::kBroken ? check.problem + ", set aside first"
                                               : describe_build(*check.doc);
      lines += ")  ";
    }
    lines += command_line(child_argv(options.psgd, run, dir.final_path(run.run_id) + ".part"));
    lines += '\n';
  }
  out << "sweep " << spec.sweep_id() << ": " << runs.size() << " runs (" << point_count(runs)
      << " points x " << spec.seeds.size() << " repetitions), " << done << " done, "
      << runs.size() - done << " to run; timeout " << spec.timeout_seconds
      << " s per run; results in " << dir.dir() << "; build " << options.build_id << "\n";
  if (other_builds > 0) {
    out << "note: " << other_builds << " result(s) come from another build, e.g. " << other_build
        << "; they will be redone (moved to superseded/); --accept-other-builds keeps them\n";
  }
  out << lines;
  return 0;
}

int run_sweep(const SweepSpec& spec, const SchedulerOptions& options,
              const std::vector<PlannedRun>& runs, ResultsDir& dir) {
  SweepRun sweep(spec, options, runs, dir);
  return sweep.run();
}

}  // namespace psgd
