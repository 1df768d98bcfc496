// algorithms/rwlock.cpp — instantiations of the `rwlock` algorithm.
#include "algorithms/rwlock.hpp"

#include "algorithms/locked_sgd.hpp"

namespace psgd {

std::unique_ptr<Algorithm> make_rwlock_sgd(LockMode lock, RwPrefer prefer, std::string_view backoff,
                                           const BackoffParams& params) {
  const nlohmann::json facts = {{"lock", std::string(lock_mode_name(lock))},
                                {"prefer", std::string(rw_prefer_name(prefer))}};
  if (lock == LockMode::kOs) {
    return std::make_unique<LockedSgd<OsRwLock, NoBackoff>>("rwlock", facts, params, prefer);
  }
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<Algorithm> {
    if (prefer == RwPrefer::kReader) {
      return std::make_unique<LockedSgd<SpinRwLock<RwPrefer::kReader>, B>>("rwlock", facts, params);
    }
    return std::make_unique<LockedSgd<SpinRwLock<RwPrefer::kWriter>, B>>("rwlock", facts, params);
  });
}

}  // namespace psgd
