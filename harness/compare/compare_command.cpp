// harness/compare/compare_command.cpp — `psgd compare`: the command line. Reads both files,
// compares them (harness/compare/comparison.hpp), prints and writes the report; errors become exit
// codes.
#include "harness/compare/compare_command.hpp"

#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/errors.hpp"
#include "common/parse_number.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/cli/input_guard.hpp"
#include "harness/cli/option_table.hpp"
#include "harness/compare/compare_report.hpp"
#include "harness/compare/comparison.hpp"
#include "harness/compare/result_set.hpp"

namespace psgd {
namespace {

using nlohmann::json;

struct CompareCommandOptions {
  std::vector<std::string> files;  // BASELINE, NEW
  CompareOptions compare;
  std::string markdown_path;  // empty: no Markdown file
};

const OptionTable<CompareCommandOptions>& compare_options() {
  static const OptionTable<CompareCommandOptions> table(
      "compare",
      {{"alpha", "P", "significance level of the Mann-Whitney U test, in (0, 0.5]",
        [](CompareCommandOptions& o, std::string_view v) {
          o.compare.alpha = parse_fraction_option("alpha", v, 1e-9, 0.5, "a number in (0, 0.5]");
        },
        [](const CompareCommandOptions& o) { return json(o.compare.alpha); }},
       {"min-effect", "F",
        "smallest relative slowdown that is a regression (0.1 = 10%); a benchmark may ask for "
        "more\n(min_effect in a nightly file)",
        [](CompareCommandOptions& o, std::string_view v) {
          o.compare.min_effect =
              parse_fraction_option("min-effect", v, 0.0, 10.0, "a number in [0, 10]");
        },
        [](const CompareCommandOptions& o) { return json(o.compare.min_effect); }},
       {"noise-factor", "K",
        "a benchmark's minimum effect is at least exp(K x its measured log spread) - 1 (0: off)",
        [](CompareCommandOptions& o, std::string_view v) {
          o.compare.noise_factor =
              parse_fraction_option("noise-factor", v, 0.0, 100.0, "a number in [0, 100]");
        },
        [](const CompareCommandOptions& o) { return json(o.compare.noise_factor); }},
       {"markdown", "FILE", "also write the report as Markdown to FILE (atomically)",
        [](CompareCommandOptions& o, std::string_view v) {
          if (v.empty()) throw ConfigError("--markdown needs a file name");
          o.markdown_path = v;
        },
        [](const CompareCommandOptions&) { return json(nullptr); }},
       {"allow-different-machine", "",
        "compare files recorded on different CPUs (refused otherwise: timings do not transfer)",
        [](CompareCommandOptions& o, std::string_view) {
          o.compare.allow_different_machine = true;
        },
        [](const CompareCommandOptions& o) { return json(o.compare.allow_different_machine); }}});
  return table;
}

CompareCommandOptions parse_compare_args(std::span<const std::string_view> args) {
  CompareCommandOptions o;
  compare_options().parse(args, o, [&o](std::string_view file) { o.files.emplace_back(file); });
  if (o.files.size() != 2) {
    throw ConfigError("usage: psgd compare BASELINE NEW [options] (psgd compare --help); got " +
                      std::to_string(o.files.size()) + " file(s)");
  }
  return o;
}

}  // namespace

std::string compare_help() {
  return "usage: psgd compare BASELINE NEW [options]\n"
         "\n"
         "Compares every benchmark of NEW with the same benchmark of BASELINE. Both are Google\n"
         "Benchmark JSON (with per-repetition rows) or psgd nightly results, in any mix; or\n"
         "both are training runs: a sweep's results folder, one of its superseded/<build id>/\n"
         "folders (an older build's results) or a run document. Training runs are compared per\n"
         "point on the repetitions of each time to target, the final train loss, the final test\n"
         "accuracy and samples/s, with the same test and minimum effect, and the verdicts\n"
         "read WORSE / better / same / not comparable (too few repetitions, or one side only). A\n"
         "benchmark REGRESSED when a two-sided Mann-Whitney U test on the repetitions gives\n"
         "p < alpha and its median is slower by more than its minimum effect: the largest of\n"
         "--min-effect, the baseline's own min_effect for it and exp(K x spread) - 1, K the\n"
         "--noise-factor, spread = 1.4826 MAD of the logs of the noisier side's repetitions.\n"
         "A deterministic result (the final loss of a one-thread run) that differs at all is\n"
         "CHANGED, a correctness regression. The table goes to stdout.\n"
         "\n"
         "Options:\n" +
         compare_options().help_lines(CompareCommandOptions{}) +
         "  --help                  this text\n"
         "\n"
         "Exit codes: 0 nothing regressed or changed, 1 a REGRESSION, WORSE or CHANGED result,\n"
         "2 bad input (arguments, a missing, truncated or malformed file, a folder without run\n"
         "documents, files from different CPUs without --allow-different-machine, nothing in\n"
         "common), 3 the Markdown file cannot be written.\n";
}

int compare_main(std::span<const std::string_view> args) {
  if (wants_help(args)) {
    std::cout << compare_help();
    return 0;
  }
  try {
    const CompareCommandOptions o = parse_compare_args(args);
    if (!o.markdown_path.empty()) {  // before anything is read: the report never replaces an input
      refuse_outputs_over_inputs({{o.markdown_path, "--markdown"}},
                                 {{o.files[0], "BASELINE"}, {o.files[1], "NEW"}});
    }
    const ResultSet baseline = read_result_set(o.files[0]);
    const ResultSet now = read_result_set(o.files[1]);
    const Comparison c = compare_results(baseline, now, o.compare);
    std::cout << format_text_report(c, baseline, now) << std::flush;
    if (!o.markdown_path.empty()) {
      write_text_atomically(o.markdown_path, format_markdown_report(c, baseline, now));
    }
    return c.exit_code();
  } catch (const ConfigError& e) {
    std::cerr << "psgd compare: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    std::cerr << "psgd compare: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

CompletionCommand compare_completion() {
  return {"compare",
          "compare two results files, or two builds' training runs",
          compare_options().completion_options(),
          true,
          {}};
}

}  // namespace psgd
