// harness/sweep/sweep_command.cpp — `psgd sweep`: the command line. Parses the options, loads and
// expands the spec, and hands the plan to the scheduler (harness/sweep/scheduler.hpp); errors
// become exit codes here.
#include "harness/sweep/sweep_command.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "common/errors.hpp"
#include "harness/cli/option_table.hpp"
#include "harness/sweep/build_identity.hpp"
#include "harness/sweep/plan_warnings.hpp"
#include "harness/sweep/point_check.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/scheduler.hpp"
#include "harness/sweep/slurm/collect.hpp"
#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/slurm/submit.hpp"
#include "harness/sweep/slurm/task.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

using nlohmann::json;

struct SweepOptions {
  std::string spec_path;
  std::string scale;
  std::string results_dir = "results";
  int jobs = 1;
  std::optional<double> timeout_seconds;
  std::string psgd;  // empty: this executable
  bool dry_run = false;
  bool redo_crashed = false;
  bool rerun = false;
  bool accept_other_builds = false;
  // The Slurm backend (harness/sweep/slurm/).
  std::string backend = "local";
  bool collect = false;
  // --run-id: run exactly these (what an array task does). Optional, not "" for unset: an empty
  // --run-id="" must be refused as `--run-id ,` is, not taken for "the whole sweep".
  std::optional<std::string> run_ids;
  SlurmOverrides slurm;
};

int parse_jobs(std::string_view text) {
  int jobs = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), jobs);
  if (ec != std::errc() || end != text.data() + text.size() || jobs < 1) {
    throw ConfigError("--jobs must be a positive integer, got '" + std::string(text) + "'");
  }
  return jobs;
}

double parse_timeout(std::string_view text) {
  double t = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t);
  if (ec != std::errc() || end != text.data() + text.size() || !(t > 0.0) ||
      !(t <= kMaxTimeoutSeconds)) {
    throw ConfigError("--timeout must be a number of seconds in (0, " +
                      json(kMaxTimeoutSeconds).dump() + "] (a year), got '" + std::string(text) +
                      "'");
  }
  return t;
}

// The default timeout as --help shows it: where it comes from, and the spec format's default.
std::string default_timeout_text() {
  std::string seconds = json(kDefaultTimeoutSeconds).dump();
  if (seconds.ends_with(".0")) seconds.resize(seconds.size() - 2);
  return "spec, else " + seconds;
}

// The local options, then the backend's: --backend, --collect, --run-id and the Slurm settings
// (declared in harness/sweep/slurm/settings.cpp, lifted onto SweepOptions::slurm).
std::vector<Option<SweepOptions>> with_slurm_options(std::vector<Option<SweepOptions>> options) {
  options.push_back(
      {"backend", "NAME", "local: run here; slurm: submit the runs still to do as Slurm job arrays",
       [](SweepOptions& o, std::string_view v) {
         if (v != "local" && v != "slurm")
           throw ConfigError("--backend must be local or slurm, got '" + std::string(v) + "'");
         o.backend = v;
       },
       [](const SweepOptions& o) { return json(o.backend); }});
  options.push_back(
      {"collect", "",
       "count runs per status and what Slurm still runs or queues;\nrecord the runs of "
       "killed tasks as crashed, rebuild index.csv; run nothing",
       [](SweepOptions& o, std::string_view) { o.collect = true; },
       [](const SweepOptions& o) { return json(o.collect); }});
  options.push_back({"run-id", "IDS",
                     "run exactly these planned runs (comma-separated ids), as a Slurm array "
                     "task does",
                     [](SweepOptions& o, std::string_view v) { o.run_ids = std::string(v); },
                     [](const SweepOptions&) { return json(nullptr); }});
  for (const Option<SlurmOverrides>& s : slurm_cli_options()) {
    options.push_back({s.name, s.metavar, s.help,
                       [set = s.set](SweepOptions& o, std::string_view v) { set(o.slurm, v); },
                       [get = s.get](const SweepOptions& o) { return get(o.slurm); }});
  }
  return options;
}

// The options in --help order (SPEC.json is the one positional argument). A `get` that finds
// its option unset shows what that means instead of an empty default.
const OptionTable<SweepOptions>& sweep_options() {
  static const OptionTable<SweepOptions> table(
      "sweep",
      with_slurm_options(
          {{"scale", "NAME", "apply a scale of the spec (e.g. quick, full)",
            [](SweepOptions& o, std::string_view v) { o.scale = v; },
            [](const SweepOptions& o) {
              return json(o.scale.empty() ? "none: the spec as written" : o.scale);
            }},
           {"results-dir", "DIR", "where sweep folders go",
            [](SweepOptions& o, std::string_view v) { o.results_dir = v; },
            [](const SweepOptions& o) { return json(o.results_dir); }},
           {"jobs", "N", "runs at once\n(more than one distorts the timings being measured)",
            [](SweepOptions& o, std::string_view v) { o.jobs = parse_jobs(v); },
            [](const SweepOptions& o) { return json(o.jobs); }},
           {"timeout", "SECONDS", "per-run timeout, overriding the spec's timeout_seconds",
            [](SweepOptions& o, std::string_view v) { o.timeout_seconds = parse_timeout(v); },
            [](const SweepOptions& o) {
              return o.timeout_seconds ? json(*o.timeout_seconds) : json(default_timeout_text());
            }},
           {"psgd", "PATH", "the psgd binary the children run",
            [](SweepOptions& o, std::string_view v) { o.psgd = v; },
            [](const SweepOptions& o) {
              return json(o.psgd.empty() ? "this executable" : o.psgd);
            }},
           {"dry-run", "", "list every run (done / run / redo, with its command line); run nothing",
            [](SweepOptions& o, std::string_view) { o.dry_run = true; },
            [](const SweepOptions& o) { return json(o.dry_run); }},
           {"redo-crashed", "", "run again the runs recorded as crashed (e.g. after fixing a bug)",
            [](SweepOptions& o, std::string_view) { o.redo_crashed = true; },
            [](const SweepOptions& o) { return json(o.redo_crashed); }},
           {"rerun", "",
            "redo every run; the results there are moved to superseded/<build id>/ first",
            [](SweepOptions& o, std::string_view) { o.rerun = true; },
            [](const SweepOptions& o) { return json(o.rerun); }},
           {"accept-other-builds", "",
            "count results of another psgd build as done\n(default: they are redone; "
            "see docs/sweeps.md, \"Results and builds\")",
            [](SweepOptions& o, std::string_view) { o.accept_other_builds = true; },
            [](const SweepOptions& o) { return json(o.accept_other_builds); }}}));
  return table;
}

// The options, then the checks that need all of them: exactly one spec, a results folder.
SweepOptions parse_sweep_args(std::span<const std::string_view> args) {
  SweepOptions o;
  sweep_options().parse(args, o, [&o](std::string_view arg) {
    if (!o.spec_path.empty()) {
      throw ConfigError("one spec per sweep: got '" + o.spec_path + "' and '" + std::string(arg) +
                        "'");
    }
    o.spec_path = arg;
  });
  if (o.spec_path.empty())
    throw ConfigError("usage: psgd sweep SPEC.json [options] (psgd sweep --help)");
  if (o.results_dir.empty()) throw ConfigError("--results-dir must not be empty");
  const bool slurm = o.backend == "slurm";
  if (o.slurm.any() && !slurm)
    throw ConfigError("--runs-per-task and --slurm-* apply to --backend slurm only");
  if (o.run_ids && (slurm || o.collect || o.dry_run))
    throw ConfigError(
        "--run-id runs the listed runs here: not with --backend slurm, --collect or "
        "--dry-run");
  if (o.run_ids) (void)split_run_ids(*o.run_ids);  // "" and "," are refused alike
  if (o.collect && o.dry_run) throw ConfigError("--collect and --dry-run: choose one");
  if (o.rerun && (o.collect || o.run_ids))
    throw ConfigError(
        "--rerun applies to a sweep that runs or submits: not with --collect or --run-id");
  if (o.rerun && o.accept_other_builds)
    throw ConfigError("--rerun redoes every result: --accept-other-builds contradicts it");
  if (slurm && o.jobs != 1)
    throw ConfigError(
        "--jobs applies to --backend local; under Slurm every run is a task of its own");
  return o;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// What every array task runs: this binary, `sweep`, the same spec, folder and options, with
// absolute paths (a task starts in the submission's directory, maybe on another node).
std::vector<std::string> task_argv(const SweepOptions& o) {
  std::vector<std::string> argv = {resolve_psgd_binary(""), "sweep", absolute_path(o.spec_path),
                                   "--results-dir=" + absolute_path(o.results_dir)};
  if (!o.scale.empty()) argv.push_back("--scale=" + o.scale);
  if (o.timeout_seconds) argv.push_back("--timeout=" + json(*o.timeout_seconds).dump());
  if (!o.psgd.empty()) argv.push_back("--psgd=" + absolute_path(o.psgd));
  if (o.redo_crashed) argv.emplace_back("--redo-crashed");
  // Not --rerun: the submission moved the old results already, and a requeued task must not
  // redo what it has done.
  if (o.accept_other_builds) argv.emplace_back("--accept-other-builds");
  return argv;
}

// Before anything runs: the binary answers as psgd, and every point passes `psgd run`'s checks.
// Says so when some points ask for more threads than this machine has (recorded as invalid).
void check_plan(const std::string& psgd, const std::vector<PlannedRun>& runs, std::ostream& out) {
  probe_psgd_binary(psgd);
  const PointCheck check = check_points(runs);
  if (check.too_many_threads > 0) {
    out << "note: " << check.too_many_threads
        << " point(s) ask for more threads than this machine's hardware threads under compact "
           "or scatter placement (e.g. "
        << check.example << "); psgd run refuses them and they are recorded as invalid\n";
  }
}

// A local sweep of points with ranks: mpirun must be there (exit 3 before anything runs, not a
// crash per run), and the points that oversubscribe this host are counted in a note.
void check_rank_launcher(const std::vector<PlannedRun>& runs, std::ostream& out) {
  const LaunchHost host = launch_host_here();
  std::set<std::string> oversubscribed;
  const PlannedRun* first = nullptr;
  for (const PlannedRun& run : runs) {
    if (!launched_as_ranks(run.options)) continue;
    if (first == nullptr) first = &run;
    if (oversubscribes(run.options, host)) oversubscribed.insert(run.point_id);
  }
  if (first == nullptr) return;
  const std::vector<std::string> prefix =
      rank_launch_prefix(first->options, rank_launcher_here(), host);
  if (rank_launcher_path(prefix.front()).empty()) {
    throw EnvironmentError(
        "point " + first->point_id + " runs " + std::to_string(run_ranks(first->options)) +
        " rank(s) with " + prefix.front() +
        ", which is not on PATH (Open MPI's mpirun: " + "`make deps` installs openmpi-bin)");
  }
  if (!oversubscribed.empty() && prefix.front() == "mpirun") {
    out << "note: " << oversubscribed.size()
        << " point(s) run more ranks x threads than this machine's " << host.cpus << " CPUs (e.g. "
        << *oversubscribed.begin()
        << "): mpirun --oversubscribe, unbound; each run records it in sweep.launcher\n";
  }
}

// After the spec is planned: the backend, collector or single-task entry point the options ask for.
int dispatch(const SweepOptions& o, const SweepSpec& spec, const std::vector<PlannedRun>& runs) {
  SchedulerOptions scheduler{.spec_path = o.spec_path,
                             .psgd = resolve_psgd_binary(o.psgd),
                             .jobs = o.jobs,
                             .redo_crashed = o.redo_crashed,
                             .build_id = "",
                             .rerun = o.rerun,
                             .accept_other_builds = o.accept_other_builds};
  ResultsDir dir(o.results_dir + "/" + spec.sweep_id());
  // Before anything reads, moves or writes there: a directory or FIFO at a result's path would
  // abort or block the sweep half-way (after --rerun had moved results aside).
  dir.check_run_paths(runs);
  // Checked whatever the backend, so that a typo in the spec's slurm block fails at once.
  const SlurmSettings slurm = apply_overrides(parse_slurm_block(spec.resolved), o.slurm);
  if (o.collect) return collect_sweep(spec, runs, dir, system_slurm(), std::cout);
  scheduler.build_id = binary_build_id(scheduler.psgd);
  if (o.run_ids) {
    probe_psgd_binary(scheduler.psgd);  // each task: the points were checked at submission
    return run_listed_runs(spec, scheduler, runs, dir, split_run_ids(*o.run_ids));
  }
  const bool to_stdout = o.dry_run || o.backend == "slurm";
  check_plan(scheduler.psgd, runs, to_stdout ? std::cout : std::cerr);
  scheduler.build_git = probe_git_state(scheduler.psgd);  // for sweep.json's build block
  if (o.dry_run) {  // on stderr, apart from the listing: warnings, the plan is still valid
    for (const std::string& line : plan_warnings(runs)) std::cerr << "warning: " << line << "\n";
  }
  if (o.backend == "local") check_rank_launcher(runs, to_stdout ? std::cout : std::cerr);
  if (o.backend == "slurm") {
    const SlurmSubmission submission{slurm, task_argv(o)};
    return submit_sweep(spec, scheduler, submission, runs, dir, system_slurm(), o.dry_run,
                        std::cout);
  }
  if (o.dry_run) return print_dry_run(spec, scheduler, runs, dir, std::cout);
  return run_sweep(spec, scheduler, runs, dir);
}

}  // namespace

std::string sweep_help() {
  return "usage: psgd sweep SPEC.json [options]\n"
         "\n"
         "Runs every point x repetition of a sweep spec (format: docs/sweeps.md, \"Spec format\")\n"
         "as a child `psgd run --seed=S --out=...`, one at a time, and writes one JSON document\n"
         "per run to RESULTS/<sweep>/<run-id>.json (<sweep> is the spec's name, plus -<scale>\n"
         "with --scale). A child that exits 2 refused its configuration (e.g. more threads than\n"
         "hardware threads under compact placement) and is recorded with status \"invalid\";\n"
         "one killed by a signal, exiting otherwise non-zero or outliving the timeout, with\n"
         "status \"crashed\"; either way the sweep goes on. After every run\n"
         "RESULTS/<sweep>/index.csv (one row per finished run: its options, status and headline\n"
         "metrics) is rewritten.\n"
         "Restarting a sweep skips the runs already complete and redoes interrupted ones.\n"
         "A result counts as complete only if this psgd binary made it (the build id, a hash\n"
         "of the binary, is in its sweep block): results of another build are moved to\n"
         "superseded/<build id>/ and redone, unless --accept-other-builds. Every point is\n"
         "checked as psgd run checks it, and the binary probed, before anything runs.\n"
         "A point whose spec sets ranks R > 1 (or backend mpi) runs as R MPI ranks: under\n"
         "`mpirun -np R` here, under `srun` in a Slurm task (docs/distributed.md).\n"
         "\n"
         "--backend slurm submits the runs still to do as Slurm job arrays instead (one array\n"
         "task per run, --cpus-per-task = the run's threads, --ntasks = its ranks) and prints\n"
         "the job ids; each task runs `psgd sweep SPEC --run-id=ID` and commits its run like a\n"
         "local sweep. --collect counts the runs, records tasks Slurm killed as crashed and\n"
         "rebuilds index.csv.\n"
         "\n"
         "Options:\n" +
         sweep_options().help_lines(SweepOptions{}) +
         "  --help                  this text\n"
         "\n"
         "Progress goes to stderr: a live line on a terminal, plain lines otherwise.\n"
         "Exit codes: 0 every run has a result (crashed ones too), 2 bad arguments or spec,\n"
         "3 results folder or psgd binary unusable (a full disk stops the sweep; the runs left\n"
         "stay pending), 128+N interrupted by signal N.\n";
}

int sweep_main(std::span<const std::string_view> args) {
  if (wants_help(args)) {
    std::cout << sweep_help();
    return 0;
  }
  try {
    const SweepOptions o = parse_sweep_args(args);
    SweepSpec spec = load_sweep_spec(o.spec_path, o.scale);
    if (o.timeout_seconds) spec.timeout_seconds = *o.timeout_seconds;
    return dispatch(o, spec, expand(spec));
  } catch (const ConfigError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

CompletionCommand sweep_completion() {
  return {"sweep",
          "run an experiment spec: every point x repetition as a child run",
          sweep_options().completion_options(),
          true,
          {}};
}

}  // namespace psgd
