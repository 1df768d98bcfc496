// harness/run/list_command.cpp — prints the registries, so users never guess a name.
#include "harness/run/list_command.hpp"

#include <iostream>

#include "algorithms/backoff.hpp"
#include "algorithms/locks.hpp"
#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "models/data/load.hpp"
#include "models/model_factory.hpp"

namespace psgd {

int list_main(std::span<const std::string_view> args) {
  if (!args.empty()) {
    std::cerr << "psgd list: takes no arguments\n";
    return kExitConfigError;
  }
  std::cout << "algorithms (--algo):\n"
            << builtin_algorithms().help() << "\nmodels (--model):\n  " << model_names_help()
            << "\n\ndata sets (--dataset):\n"
            << dataset_names_help();
  std::cout << "\nplacement (--placement):\n ";
  for (const auto& [name, policy] : kPlacementNames) {
    std::cout << " " << name << (policy == PlacementPolicy::kExplicit ? ":CPULIST" : "");
  }
  std::cout << "\nsmt order (--smt):\n ";
  for (const auto& [name, order] : kSmtOrderNames) std::cout << " " << name;
  std::cout << "\nmemory (--memory):\n  local interleave bind:NODE\nbackoff (--backoff):\n ";
  for (const auto& [name, kind] : kBackoffKinds) std::cout << " " << name;
  std::cout << "\nlock (--lock):\n ";
  for (const auto& [name, mode] : kLockModes) std::cout << " " << name;
  std::cout << "\nread-write lock preference (--rwlock-prefer):\n ";
  for (const auto& [name, prefer] : kRwPreferences) std::cout << " " << name;
  std::cout << "\n";
  return 0;
}

}  // namespace psgd
