// harness/registry.hpp — stable algorithm names to algorithm objects.
//
// The names are the ones the CLI, the JSON, the sweeps and the plots use; they never change
// meaning. Each entry says how many threads it accepts.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "harness/run_config.hpp"

namespace psgd {

// Builds the algorithm config.algorithm names, with the algorithm options of config.
// Throws ConfigError listing the valid names when the name is unknown, or when the algorithm
// cannot run with config.threads (seq runs with exactly one).
std::unique_ptr<Algorithm> make_algorithm(const RunConfig& config);

// "name  description" lines for `psgd list`.
std::string algorithm_names_help();

}  // namespace psgd
