// models/model.cpp — the small out-of-line parts of the model contract.
#include "models/model.hpp"

namespace psgd {

std::size_t ParamBlock::size() const noexcept {
  std::size_t n = 1;
  for (const std::int64_t extent : shape) n *= static_cast<std::size_t>(extent);
  return n;
}

}  // namespace psgd
