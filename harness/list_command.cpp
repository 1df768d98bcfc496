// harness/list_command.cpp — prints the registries, so users never guess a name.
#include "harness/list_command.hpp"

#include <iostream>

#include "harness/errors.hpp"
#include "harness/registry.hpp"
#include "models/data/load.hpp"
#include "models/model_factory.hpp"

namespace psgd {

int list_main(std::span<const std::string_view> args) {
  if (!args.empty()) {
    std::cerr << "psgd list: takes no arguments\n";
    return kExitConfigError;
  }
  std::cout << "algorithms (--algo):\n"
            << algorithm_names_help() << "\nmodels (--model):\n"
            << model_names_help() << "\ndata sets (--dataset):\n"
            << dataset_names_help();
  return 0;
}

}  // namespace psgd
