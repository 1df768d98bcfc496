// harness/run/run_command.hpp — `psgd run`: configure, load, train, evaluate, report.
#pragma once

#include <span>
#include <string_view>

namespace psgd {

// Runs one training from command-line arguments (those after `run`). Returns the exit code:
// 0 when a document with status converged / not_converged / diverged was written, 2 for bad
// arguments, 3 for bad environment or data (an error document is written to --out then).
int run_main(std::span<const std::string_view> args);

}  // namespace psgd
