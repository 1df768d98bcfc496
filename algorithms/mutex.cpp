// algorithms/mutex.cpp — instantiations of the `mutex` algorithm.
#include "algorithms/mutex.hpp"

#include "algorithms/locked_sgd.hpp"
#include "algorithms/locks.hpp"

namespace psgd {

std::unique_ptr<Algorithm> make_mutex_sgd(LockMode lock, std::string_view backoff,
                                          const BackoffParams& params) {
  const nlohmann::json facts = {{"lock", std::string(lock_mode_name(lock))}};
  if (lock == LockMode::kOs) {
    return std::make_unique<LockedSgd<OsMutex, NoBackoff>>("mutex", facts, params);
  }
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<Algorithm> {
    return std::make_unique<LockedSgd<SpinMutex, B>>("mutex", facts, params);
  });
}

}  // namespace psgd
