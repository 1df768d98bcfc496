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
#include "algorithms/locks.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/step_rule.hpp"

namespace psgd {

// The `mutex` algorithm. With LockMode::kOs, backoff must be kNone (its factory checks).
// S: float or double (instantiated in mutex.cpp).
template <class S = float>
std::unique_ptr<BasicAlgorithm<S>> make_mutex_sgd(LockMode lock, BackoffKind backoff,
                                                  const BackoffParams& params,
                                                  const StepRuleParams& rule = {});

// Its registry entry (algorithms/registry.hpp).
AlgorithmEntry mutex_entry();

}  // namespace psgd
