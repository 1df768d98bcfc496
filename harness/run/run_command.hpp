// harness/run/run_command.hpp — `psgd run`: configure, load, train, evaluate, report.
#pragma once

#include <span>
#include <string_view>

#include "harness/cli/completion.hpp"

namespace psgd {

// Runs one training from command-line arguments (those after `run`). Returns the exit code:
// 0 when a document with status converged / not_converged / diverged was written, 2 for bad
// arguments, 3 for bad environment or data (an error document is written to --out then), 130 or
// 143 when SIGINT or SIGTERM stopped it (a document with status `stopped` was written).
int run_main(std::span<const std::string_view> args);

// The command for `psgd completion`: the run option table, --algo's values from the registry and
// --dataset's from the data sets' names.
CompletionCommand run_completion();

}  // namespace psgd
