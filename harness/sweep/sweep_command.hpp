// harness/sweep/sweep_command.hpp — `psgd sweep SPEC.json`: run every point x repetition of a sweep
// spec as a child `psgd run`, one JSON per run under results/<sweep>/, resumable.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "harness/cli/completion.hpp"

namespace psgd {

// Runs a sweep from command-line arguments (those after `sweep`). Returns the exit code: 0 when
// every planned run has a result (crashed runs included: a crash is a result), 2 for a bad
// command line or spec, 3 for a results folder or psgd binary that cannot be used, 128+signal
// when interrupted by SIGINT, SIGTERM or SIGHUP (the runs in flight are killed and redone on
// restart).
int sweep_main(std::span<const std::string_view> args);

// The `psgd sweep --help` text.
std::string sweep_help();

// The command for `psgd completion` (harness/cli/completion.hpp): its option table.
CompletionCommand sweep_completion();

}  // namespace psgd
