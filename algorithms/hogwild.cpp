// algorithms/hogwild.cpp — instantiations of `hogwild` and `hogwild-atomic`.
#include "algorithms/hogwild.hpp"

namespace psgd {

std::unique_ptr<Algorithm> make_hogwild_sgd(bool atomic_update, std::string_view backoff,
                                            const BackoffParams& params) {
  if (!atomic_update) return std::make_unique<HogwildSgd<false, NoBackoff>>(params);
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<Algorithm> {
    return std::make_unique<HogwildSgd<true, B>>(params);
  });
}

}  // namespace psgd
