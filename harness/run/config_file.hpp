// harness/run/config_file.hpp — `psgd run --config FILE`: a JSON object of options (what
// `psgd run --print-config` writes, // comments allowed) or a run document `psgd run` wrote, whose
// config block is re-run less its output paths, its testing hooks and what made it a dry run.
// One level only: a config file cannot name another.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "algorithms/registry.hpp"
#include "harness/cli/option_table.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {

// Reads the file at path into c through the run option table of `registry` (--config's action).
// A ConfigError, one line naming the file, for what is not such a file.
void apply_config_file(RunConfig& c, const std::string& path, const AlgorithmRegistry& registry);

// Parses args into c: every --config file first, then the rest of the command line over it (an
// option given on both wins from the command line; a budget given there replaces the file's).
void parse_with_config_files(const OptionTable<RunConfig>& table,
                             std::span<const std::string_view> args, RunConfig& c);

}  // namespace psgd
