// harness/machine/topo_command.hpp — `psgd topo`: print a machine and, optionally, a placement
// plan.
//
//   psgd topo [--synthetic DESC | --xml FILE] [--threads N --placement P [--smt ORDER]] [--json]
//
// Without a source it reads this machine. With --threads and --placement it also prints the
// plan plan_placement() makes (no thread is pinned: this command only plans). Human tables
// go to stdout, or with --json one JSON document. Errors: one line on stderr, exit 2 for bad
// arguments (ConfigError), 3 for an unreadable machine (EnvironmentError).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "harness/cli/completion.hpp"

namespace psgd {

// argv[0] is the command's own name ("topo") and is skipped, as in main(); so main.cpp can
// dispatch with topo_main(argc - 1, argv + 1). Writes to std::cout / std::cerr.
int topo_main(int argc, char** argv);

// The same with the arguments after the command name, and explicit streams (for tests).
int run_topo_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The --help text.
std::string topo_help();

// The command for `psgd completion` (harness/cli/completion.hpp): its option table.
CompletionCommand topo_completion();

}  // namespace psgd
