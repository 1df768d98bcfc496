// harness/main.cpp — the `psgd` command: subcommands run, list, topo, sweep, compare, report,
// completion; --version.
#include <iostream>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/cli/completion.hpp"
#include "harness/compare/compare_command.hpp"
#include "harness/machine/topo_command.hpp"
#include "harness/report/report_command.hpp"
#include "harness/run/list_command.hpp"
#include "harness/run/run_command.hpp"
#include "harness/sweep/sweep_command.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: psgd <command> [options]\n"
    "commands:\n"
    "  run     train one model with one algorithm, write one JSON document (psgd run --help)\n"
    "  list    print the algorithms, models, data sets, placement and backoff names\n"
    "  sweep   run an experiment spec: every point x repetition as a child run (psgd sweep "
    "--help)\n"
    "  topo    print the machine's topology and a placement plan (psgd topo --help)\n"
    "  compare compare two results files, or two builds' training runs (sweep folders, run\n"
    "          documents): noise-aware verdict per benchmark or point (psgd compare --help)\n"
    "  report  one self-contained HTML page of sweep folders and run documents (psgd report "
    "--help)\n"
    "  completion  print a bash or zsh completion script: source <(psgd completion bash)\n"
    "  --version  git commit and dirty state at build time, compiler, flags, instruction sets\n";

// Every command with its options, for `psgd completion` (the scripts are generated from these).
std::vector<psgd::CompletionCommand> completion_commands() {
  std::vector<psgd::CompletionCommand> commands = {
      psgd::run_completion(),
      {"list",
       "print the algorithms, models, data sets, placement and backoff names",
       {},
       false,
       {}},
      psgd::sweep_completion(),
      psgd::topo_completion(),
      psgd::compare_completion(),
      psgd::report_completion(),
      {"completion", "print a bash or zsh completion script", {}, false, {"bash", "zsh"}},
  };
  return commands;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? psgd::kExitConfigError : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << psgd::version_text();
    return 0;
  }
  const std::span<const std::string_view> rest(args.data() + 1, args.size() - 1);
  if (args[0] == "run") return psgd::run_main(rest);
  if (args[0] == "list") return psgd::list_main(rest);
  if (args[0] == "sweep") return psgd::sweep_main(rest);
  if (args[0] == "topo") return psgd::topo_main(argc - 1, argv + 1);
  if (args[0] == "compare") return psgd::compare_main(rest);
  if (args[0] == "report") return psgd::report_main(rest);
  if (args[0] == "completion") return psgd::completion_main(rest, completion_commands());
  std::cerr << "psgd: unknown command '" << args[0]
            << "'; valid: run, list, sweep, topo, compare, report, completion\n";
  return psgd::kExitConfigError;
}
