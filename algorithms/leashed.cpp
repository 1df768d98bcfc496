// algorithms/leashed.cpp — instantiations of `leashed`.
#include "algorithms/leashed.hpp"

namespace psgd {

std::unique_ptr<Algorithm> make_leashed_sgd(const LeashedOptions& options, std::string_view backoff,
                                            const BackoffParams& params) {
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<Algorithm> {
    return std::make_unique<LeashedSgd<B>>(options, params);
  });
}

}  // namespace psgd
