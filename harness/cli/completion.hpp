// harness/cli/completion.hpp — `psgd completion bash|zsh`: shell completion scripts generated from
// the commands' option tables (OptionTable::completion_options), so a new option or algorithm
// completes without anyone editing a script.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psgd {

// One option as the completion scripts offer it.
struct CompletionOption {
  std::string name;     // without dashes
  std::string metavar;  // empty for a flag
  std::string help;     // the --help text (the zsh script shows it)
  // The values to offer after --name (enumerated_values of the help unless set otherwise).
  std::vector<std::string> values;
};

struct CompletionCommand {
  std::string name;     // run, sweep, ...
  std::string summary;  // one line
  std::vector<CompletionOption> options;
  bool takes_files = false;        // positional arguments are paths (sweep's spec, compare's files)
  std::vector<std::string> words;  // or else these fixed words (completion: bash, zsh)
};

// The fixed names an option's help lists as alternatives, "a | b | c", each the word that opens
// its alternative: "worker pinning: compact (fill ...) | scatter (...) | explicit:CPULIST | none"
// gives compact, scatter, none. A placeholder (explicit:CPULIST, normal:SIGMA, mlp:W1xW2x...) is
// no value to offer and is left out; a help without " | " gives none.
std::vector<std::string> enumerated_values(std::string_view help);

std::string bash_completion(std::span<const CompletionCommand> commands);
std::string zsh_completion(std::span<const CompletionCommand> commands);

// `psgd completion SHELL`: prints the script for bash or zsh to stdout; anything else is one line
// naming the valid shells and exit 2.
int completion_main(std::span<const std::string_view> args,
                    std::span<const CompletionCommand> commands);

}  // namespace psgd
