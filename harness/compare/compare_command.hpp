// harness/compare/compare_command.hpp — `psgd compare BASELINE NEW`: a noise-aware verdict on two
// results files (Google Benchmark JSON or psgd nightly results), for the nightly regression job,
// or on two sets of training runs (sweep folders, a build's superseded results, run documents).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "harness/cli/completion.hpp"

namespace psgd {

// Compares NEW against BASELINE from command-line arguments (those after `compare`), prints the
// table on stdout (and Markdown with --markdown FILE). Returns 0 when nothing regressed and no
// deterministic result changed, 1 when something did, 2 for bad input (bad arguments, a
// missing or malformed file, files from different CPUs without --allow-different-machine, no
// benchmark in common), 3 when the Markdown file cannot be written.
int compare_main(std::span<const std::string_view> args);

// The `psgd compare --help` text.
std::string compare_help();

// The command for `psgd completion` (harness/cli/completion.hpp): its option table.
CompletionCommand compare_completion();

}  // namespace psgd
