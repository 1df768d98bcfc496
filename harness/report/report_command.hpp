// harness/report/report_command.hpp — `psgd report DIR... --out FILE.html`: one self-contained
// HTML page of sweep folders and run documents, drawn by plots/report.py.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "harness/cli/completion.hpp"

namespace psgd {

// Checks the arguments (those after `report`): every input a sweep folder (with index.csv) or a
// run document (a .json file), --out a new .html file; then replaces this process with
// `PYTHON PLOTS/report.py ...`, whose exit code becomes psgd's (0 written, 2 bad input, 3 the
// page cannot be written). Returns only on failure: 2 bad arguments, 3 no Python or no script.
int report_main(std::span<const std::string_view> args);

// The `psgd report --help` text.
std::string report_help();

// The command for `psgd completion` (harness/cli/completion.hpp): its option table.
CompletionCommand report_completion();

}  // namespace psgd
