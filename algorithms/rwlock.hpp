// algorithms/rwlock.hpp — `rwlock`: lock-based consistent asynchronous SGD with a read-write lock.
//
// As `mutex`, but the copy takes the lock shared, so copies run in parallel with each other and
// only updates are serialised (loop in locked_sgd.hpp). The lock's preference is a parameter
// (--rwlock-prefer reader|writer) and is recorded in the JSON: with reader preference a stream of
// copies can starve updates (glibc's and std::shared_mutex's default), with writer preference
// waiting updates hold back new copies.
// Progress: blocking (deadlock-free). A read observes a consistent theta (no update runs during
// a copy). Staleness is exact.
// Paper: the read-write-lock variant proposed in H. Ek, "Asynchronous Parallel Stochastic
// Gradient Descent: A study of the influence of synchronization methods and hyperparameters"
// (MSc thesis, Chalmers, 2021; its code was not found, so this is a reconstruction), of the
// lock-based AsyncSGD of Bäckström et al., IPDPS 2021.
#pragma once

#include <memory>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/locks.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/step_rule.hpp"

namespace psgd {

// The `rwlock` algorithm. With LockMode::kOs, backoff must be kNone (its factory checks).
// S: float or double (instantiated in rwlock.cpp).
template <class S = float>
std::unique_ptr<BasicAlgorithm<S>> make_rwlock_sgd(LockMode lock, RwPrefer prefer,
                                                   BackoffKind backoff, const BackoffParams& params,
                                                   const StepRuleParams& rule = {});

// Its registry entry (algorithms/registry.hpp).
AlgorithmEntry rwlock_entry();

}  // namespace psgd
