// algorithms/process_group_none.cpp — ProcessGroup in a build without MPI (CMake found none):
// join() refuses with exit 2, so `--backend mpi` says it is not built in.
#include "algorithms/process_group.hpp"
#include "common/errors.hpp"

namespace psgd {

bool ProcessGroup::built_in() noexcept { return false; }

bool ProcessGroup::launched() noexcept { return false; }

std::unique_ptr<ProcessGroup> ProcessGroup::join() {
  throw ConfigError(
      "--backend mpi is not built into this psgd: CMake found no MPI (install openmpi-bin and "
      "libopenmpi-dev: `make mpi-deps`, and rebuild); --backend local runs without it");
}

}  // namespace psgd
