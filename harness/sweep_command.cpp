// harness/sweep_command.cpp — `psgd sweep`: the command line. Parses the options, loads and
// expands the spec, and hands the plan to the scheduler (harness/sweep/scheduler.hpp); errors
// become exit codes here.
#include "harness/sweep_command.hpp"

#include <charconv>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/errors.hpp"
#include "harness/cli/option_table.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/scheduler.hpp"
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
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(t) || t <= 0.0) {
    throw ConfigError("--timeout must be a positive number of seconds, got '" + std::string(text) +
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

// The options in --help order (SPEC.json is the one positional argument). A `get` that finds
// its option unset shows what that means instead of an empty default.
const OptionTable<SweepOptions>& sweep_options() {
  static const OptionTable<SweepOptions> table(
      "sweep",
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
        [](const SweepOptions& o) { return json(o.psgd.empty() ? "this executable" : o.psgd); }},
       {"dry-run", "", "list every run (done / run / redo, with its command line); run nothing",
        [](SweepOptions& o, std::string_view) { o.dry_run = true; },
        [](const SweepOptions& o) { return json(o.dry_run); }},
       {"redo-crashed", "", "run again the runs recorded as crashed (e.g. after fixing a bug)",
        [](SweepOptions& o, std::string_view) { o.redo_crashed = true; },
        [](const SweepOptions& o) { return json(o.redo_crashed); }}});
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
  return o;
}

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
         "Options:\n" +
         sweep_options().help_lines(SweepOptions{}) +
         "  --help                  this text\n"
         "\n"
         "Progress goes to stderr: a live line on a terminal, plain lines otherwise.\n"
         "Exit codes: 0 every run has a result (crashed ones too), 2 bad arguments or spec,\n"
         "3 results folder or psgd binary unusable, 128+N interrupted by signal N.\n";
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
    const std::vector<PlannedRun> runs = expand(spec);
    const SchedulerOptions scheduler{.spec_path = o.spec_path,
                                     .psgd = resolve_psgd_binary(o.psgd),
                                     .jobs = o.jobs,
                                     .redo_crashed = o.redo_crashed};
    ResultsDir dir(o.results_dir + "/" + spec.sweep_id());
    if (o.dry_run) return print_dry_run(spec, scheduler, runs, dir, std::cout);
    return run_sweep(spec, scheduler, runs, dir);
  } catch (const ConfigError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    std::cerr << "psgd sweep: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

}  // namespace psgd
