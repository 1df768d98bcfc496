// harness/run/run_completion.cpp — `psgd run` for `psgd completion`: its option table, with
// --algo's values from the algorithm registry and --dataset's from the data sets' names.
#include <algorithm>
#include <string>

#include "algorithms/registry.hpp"
#include "harness/run/run_command.hpp"
#include "harness/run/run_config.hpp"
#include "models/data/load.hpp"

namespace psgd {

CompletionCommand run_completion() {
  CompletionCommand c{"run",
                      "train one model with one algorithm, write one JSON document",
                      run_option_table().completion_options(),
                      false,
                      {}};
  for (CompletionOption& o : c.options) {
    if (o.name == "algo") {
      o.values.clear();
      for (const AlgorithmEntry& e : builtin_algorithms().entries()) o.values.emplace_back(e.name);
    }
    if (o.name == "dataset") {
      // The names open the lines of dataset_names_help() ("synthetic-dense[:NxDxC]" -> its
      // name); the indented lines continue a description.
      o.values.clear();
      const std::string help = dataset_names_help();
      for (std::size_t at = 0; at < help.size();) {
        const std::size_t end = std::min(help.find('\n', at), help.size());
        if (help[at] != ' ')
          o.values.push_back(help.substr(at, help.find_first_of(" [\n", at) - at));
        at = end + 1;
      }
    }
  }
  return c;
}

}  // namespace psgd
