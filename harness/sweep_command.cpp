// harness/sweep_command.cpp — `psgd sweep`: plan, resume, run children, record, index.
#include "harness/sweep_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <optional>
#include <set>

#include "common/errors.hpp"
#include "harness/build_info.hpp"
#include "harness/report.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/progress.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The live line is redrawn this often while a run is in flight.
constexpr double kTickSeconds = 0.5;

struct SweepOptions {
  std::string spec_path;
  std::string scale;
  std::string results_dir = "results";
  int jobs = 1;
  bool dry_run = false;
  bool redo_crashed = false;
  std::optional<double> timeout_seconds;
  std::string psgd;  // empty: this executable
};

const std::vector<std::string>& option_names() {
  static const std::vector<std::string> names = {"--scale",   "--results-dir",  "--jobs",
                                                 "--dry-run", "--redo-crashed", "--timeout",
                                                 "--psgd",    "--help"};
  return names;
}

SweepOptions parse_sweep_args(std::span<const std::string_view> args) {
  SweepOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      if (!o.spec_path.empty()) {
        throw ConfigError("one spec per sweep: got '" + o.spec_path + "' and '" + std::string(arg) +
                          "'");
      }
      o.spec_path = arg;
      continue;
    }
    std::string name(arg);
    std::optional<std::string> value;
    if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    auto need = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= args.size()) throw ConfigError(name + " needs a value");
      return std::string(args[++i]);
    };
    if (name == "--scale") {
      o.scale = need();
    } else if (name == "--results-dir") {
      o.results_dir = need();
    } else if (name == "--jobs") {
      const std::string v = need();
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), o.jobs);
      if (ec != std::errc() || end != v.data() + v.size() || o.jobs < 1) {
        throw ConfigError("--jobs must be a positive integer, got '" + v + "'");
      }
    } else if (name == "--timeout") {
      const std::string v = need();
      double t = 0.0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
      if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(t) || t <= 0.0) {
        throw ConfigError("--timeout must be a positive number of seconds, got '" + v + "'");
      }
      o.timeout_seconds = t;
    } else if (name == "--psgd") {
      o.psgd = need();
    } else if (name == "--dry-run" && !value) {
      o.dry_run = true;
    } else if (name == "--redo-crashed" && !value) {
      o.redo_crashed = true;
    } else {
      std::string valid;
      for (const std::string& n : option_names()) valid += (valid.empty() ? "" : ", ") + n;
      throw ConfigError("unknown option '" + std::string(arg) + "'; valid: " + valid);
    }
  }
  if (o.spec_path.empty())
    throw ConfigError("usage: psgd sweep SPEC.json [options] (psgd sweep --help)");
  if (o.results_dir.empty()) throw ConfigError("--results-dir must not be empty");
  return o;
}

std::string self_executable() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw EnvironmentError("cannot find this executable (/proc/self/exe): " + ec.message() +
                           "; use --psgd");
  return p.string();
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() &&
      s.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/%+@") ==
          std::string::npos) {
    return s;
  }
  std::string q = "'";
  for (const char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

std::vector<std::string> child_argv(const std::string& psgd, const PlannedRun& run,
                                    const std::string& out) {
  std::vector<std::string> argv = {psgd, "run"};
  for (std::string& a : run.run_args(out)) argv.push_back(std::move(a));
  return argv;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    s += shell_quote(a);
  }
  return s;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// The sweep's own record: what was planned from which spec, for the plots and for people.
json sweep_document(const SweepSpec& spec, const SweepOptions& o, const std::string& psgd,
                    const std::vector<PlannedRun>& runs) {
  json axes = json::array();
  for (const SweepAxis& a : spec.axes) axes.push_back(a.name);
  std::set<std::string> points;
  for (const PlannedRun& r : runs) points.insert(r.point_id);
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["sweep"] = spec.sweep_id();
  doc["name"] = spec.name;
  doc["scale"] = spec.scale.empty() ? json(nullptr) : json(spec.scale);
  doc["description"] = spec.description;
  doc["figure"] = spec.figure;
  doc["spec_file"] = o.spec_path;
  doc["axes"] = axes;
  doc["option_columns"] = index_option_columns(spec);
  doc["points"] = points.size();
  doc["repetitions"] = spec.seeds.size();
  doc["seeds"] = spec.seeds;
  doc["runs"] = runs.size();
  doc["timeout_seconds"] = spec.timeout_seconds;
  doc["jobs"] = o.jobs;
  doc["psgd"] = psgd;
  doc["context"] = run_context();
  doc["spec"] = json::parse(spec.resolved.dump());
  return doc;
}

int dry_run(const SweepSpec& spec, const SweepOptions& o, const std::string& psgd,
            const std::vector<PlannedRun>& runs, const ResultsDir& dir) {
  std::size_t done = 0;
  std::string lines;
  for (const PlannedRun& run : runs) {
    const std::optional<json> doc = dir.load_complete(run.run_id);
    const bool complete = doc && !(o.redo_crashed && doc->value("status", "") == "crashed");
    if (complete) {
      ++done;
      lines += "done  " + run.run_id + "  " + doc->value("status", "") + "\n";
      continue;
    }
    const bool partial =
        exists(dir.part_path(run.run_id)) || exists(dir.stderr_path(run.run_id)) || doc;
    lines += std::string(partial ? "redo  " : "run   ") + run.run_id + "  " +
             command_line(child_argv(psgd, run, dir.final_path(run.run_id) + ".part")) + "\n";
  }
  std::set<std::string> points;
  for (const PlannedRun& r : runs) points.insert(r.point_id);
  std::cout << "sweep " << spec.sweep_id() << ": " << runs.size() << " runs (" << points.size()
            << " points x " << spec.seeds.size() << " repetitions), " << done << " done, "
            << runs.size() - done << " to run; timeout " << spec.timeout_seconds
            << " s per run; results in " << dir.dir() << "\n"
            << lines;
  return 0;
}

struct Active {
  std::size_t index;
  ChildProcess child;
};

class SweepRun {
 public:
  SweepRun(const SweepSpec& spec, const SweepOptions& o, std::string psgd,
           const std::vector<PlannedRun>& runs, ResultsDir& dir)
      : spec_(spec),
        o_(o),
        psgd_(std::move(psgd)),
        runs_(runs),
        dir_(dir),
        summaries_(runs.size()),
        progress_(spec.sweep_id(), runs.size(), o.jobs, isatty(STDERR_FILENO) == 1) {}

  int run() {
    dir_.create_and_lock();
    const std::vector<std::string> removed = dir_.remove_partials();
    if (!removed.empty()) {
      progress_.message("removed " + std::to_string(removed.size()) +
                        " file(s) of interrupted runs (those runs are redone), e.g. " +
                        removed.front());
    }
    write_json(sweep_document(spec_, o_, psgd_, runs_), dir_.dir() + "/sweep.json");

    std::vector<std::size_t> todo;
    std::set<std::string> planned;
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      planned.insert(runs_[i].run_id + ".json");
      const std::optional<json> doc = dir_.load_complete(runs_[i].run_id);
      if (doc && !(o_.redo_crashed && doc->value("status", "") == "crashed")) {
        summaries_[i] = summarize(*doc);
        progress_.skipped(summaries_[i]->status);
      } else {
        todo.push_back(i);
      }
    }
    note_foreign_results(planned);
    if (todo.size() < runs_.size()) {
      progress_.message(std::to_string(runs_.size() - todo.size()) + " of " +
                        std::to_string(runs_.size()) + " runs already complete in " + dir_.dir() +
                        ", skipped");
    }
    if (o_.jobs > 1) {
      progress_.message(
          "warning: --jobs " + std::to_string(o_.jobs) +
          " runs children at once; they share cores, caches and memory bandwidth and distort "
          "the timings being measured. Use it for smoke tests, not for figures.");
    }
    write_index(dir_.index_path(), spec_, runs_, summaries_);

    block_sweep_signals();
    std::list<Active> active;
    std::size_t next = 0;
    while (next < todo.size() || !active.empty()) {
      while (active.size() < static_cast<std::size_t>(o_.jobs) && next < todo.size()) {
        const std::size_t i = todo[next++];
        const PlannedRun& r = runs_[i];
        progress_.started(r.run_id);
        active.push_back(
            Active{i, ChildProcess(child_argv(psgd_, r, dir_.part_path(r.run_id)),
                                   dir_.stderr_path(r.run_id), spec_.timeout_seconds)});
      }
      double wait = kTickSeconds;
      std::vector<std::pair<std::string, double>> running;
      for (auto it = active.begin(); it != active.end();) {
        if (const std::optional<ChildOutcome> out = it->child.poll()) {
          finish(it->index, *out);
          it = active.erase(it);
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

  void finish(std::size_t i, const ChildOutcome& outcome) {
    const PlannedRun& run = runs_[i];
    const std::string part = dir_.part_path(run.run_id);
    const std::string final_path = dir_.final_path(run.run_id);
    std::optional<json> child_doc;
    {
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
    json doc;
    if (clean_exit && has_status) {
      doc = std::move(*child_doc);
      doc["sweep"] = sweep_block(spec_, run, outcome.seconds);
      // The child wrote to the .part name; the document now lives at the final one.
      if (doc.contains("config") && doc["config"].is_object()) doc["config"]["out"] = final_path;
    } else {
      const json child_error =
          has_status && child_doc->contains("error") ? (*child_doc)["error"] : json(nullptr);
      const std::string detail = clean_exit ? (child_doc ? "exit 0 but the document has no status"
                                                         : "exit 0 but no result document")
                                            : "";
      doc = crashed_report(spec_, run, outcome, final_path, read_tail(dir_.stderr_path(run.run_id)),
                           child_error, detail);
    }
    write_json(doc, final_path);  // the commit point: from here on the run is complete
    std::error_code ec;
    fs::remove(part, ec);
    fs::remove(dir_.stderr_path(run.run_id), ec);
    summaries_[i] = summarize(doc);
    write_index(dir_.index_path(), spec_, runs_, summaries_);
    progress_.finished(run.run_id, summaries_[i]->status, outcome.seconds);
  }

  int interrupted(std::list<Active>& active, int sig) {
    for (Active& a : active) {
      (void)a.child.kill_now();
      std::error_code ec;
      fs::remove(dir_.part_path(runs_[a.index].run_id), ec);
      fs::remove(dir_.stderr_path(runs_[a.index].run_id), ec);
    }
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
  const SweepOptions& o_;
  std::string psgd_;
  const std::vector<PlannedRun>& runs_;
  ResultsDir& dir_;
  std::vector<std::optional<RunSummary>> summaries_;
  SweepProgress progress_;
};

}  // namespace

std::string sweep_help() {
  return "usage: psgd sweep SPEC.json [options]\n"
         "\n"
         "Runs every point x repetition of a sweep spec (format: experiments/README.md) as a "
         "child\n"
         "`psgd run --seed=S --out=...`, one at a time, and writes one JSON document per run to\n"
         "RESULTS/<sweep>/<run-id>.json (<sweep> is the spec's name, plus -<scale> with --scale).\n"
         "A child that is killed by a signal, exits non-zero or outlives the timeout is recorded\n"
         "with status \"crashed\" and the sweep goes on. After every run "
         "RESULTS/<sweep>/index.csv\n"
         "(one row per finished run: its options, status and headline metrics) is rewritten.\n"
         "Restarting a sweep skips the runs already complete and redoes interrupted ones.\n"
         "\n"
         "Options:\n"
         "  --scale=NAME        apply the spec's named scale (e.g. quick, full) [none: the spec as "
         "written]\n"
         "  --results-dir=DIR   where sweep folders go [results]\n"
         "  --jobs=N            runs at once [1]; more than one distorts the timings being "
         "measured\n"
         "  --timeout=SECONDS   per-run timeout, overriding the spec's timeout_seconds [spec, else "
         "1800]\n"
         "  --psgd=PATH         the psgd binary the children run [this executable]\n"
         "  --dry-run           list every run (done / run / redo, with its command line); run "
         "nothing\n"
         "  --redo-crashed      run again the runs recorded as crashed (e.g. after fixing a bug)\n"
         "  --help              this text\n"
         "\n"
         "Progress goes to stderr: a live line on a terminal, plain lines otherwise.\n"
         "Exit codes: 0 every run has a result (crashed ones too), 2 bad arguments or spec,\n"
         "3 results folder or psgd binary unusable, 128+N interrupted by signal N.\n";
}

int sweep_main(std::span<const std::string_view> args) {
  for (const std::string_view a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << sweep_help();
      return 0;
    }
  }
  try {
    const SweepOptions o = parse_sweep_args(args);
    SweepSpec spec = load_sweep_spec(o.spec_path, o.scale);
    if (o.timeout_seconds) spec.timeout_seconds = *o.timeout_seconds;
    const std::vector<PlannedRun> runs = expand(spec);
    const std::string psgd = o.psgd.empty() ? self_executable() : o.psgd;
    if (access(psgd.c_str(), X_OK) != 0)
      throw EnvironmentError("--psgd: '" + psgd + "' is not executable");
    ResultsDir dir(o.results_dir + "/" + spec.sweep_id());
    if (o.dry_run) return dry_run(spec, o, psgd, runs, dir);
    SweepRun sweep(spec, o, psgd, runs, dir);
    return sweep.run();
  } catch (const ConfigError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

}  // namespace psgd
