// algorithms/mutex.hpp — `mutex`: lock-based consistent asynchronous SGD (AsyncSGD).
//
// Each worker: lock; copy theta and its version; unlock; gradient on the copy; lock; apply;
// version++; unlock (loop in locked_sgd.hpp). One lock serialises copies and updates alike.
// Progress: blocking (deadlock-free; a worker preempted while holding the lock stops everyone).
// A read observes a consistent theta: exactly the first v_read updates, none partially.
// Staleness is exact (the version changes only under the lock).
// Paper: the lock-based AsyncSGD baseline of K. Bäckström, I. Walulya, M. Papatriantafilou,
// P. Tsigas, "Consistent Lock-free Parallel Stochastic Gradient Descent for Fast and Stable
// Convergence" (IPDPS 2021), as implemented in the reference framework (`-a ASYNC`).
#pragma once

#include <memory>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"

namespace psgd {

// How a lock-based algorithm waits for its lock (--lock).
enum class LockMode { kSpin, kOs };

inline std::string_view lock_mode_name(LockMode m) noexcept {
  return m == LockMode::kSpin ? "spin" : "os";
}

// The `mutex` algorithm. backoff names a policy of backoff.hpp; with LockMode::kOs it must be
// "none" (the registry rejects anything else before this is called).
std::unique_ptr<Algorithm> make_mutex_sgd(LockMode lock, std::string_view backoff,
                                          const BackoffParams& params);

}  // namespace psgd
