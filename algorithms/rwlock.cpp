// algorithms/rwlock.cpp — instantiations of the `rwlock` algorithm and its registry entry.
#include "algorithms/rwlock.hpp"

#include "algorithms/locked_sgd.hpp"
#include "algorithms/retry_options.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicAlgorithm<S>> make_rwlock_sgd(LockMode lock, RwPrefer prefer,
                                                   BackoffKind backoff, const BackoffParams& params,
                                                   const StepRuleParams& rule) {
  require_spin_lock_for_backoff(lock, backoff);
  const nlohmann::json facts = {{"lock", std::string(lock_mode_name(lock))},
                                {"prefer", std::string(rw_prefer_name(prefer))}};
  if (lock == LockMode::kOs) {
    return std::make_unique<LockedSgd<S, OsRwLock, NoBackoff>>("rwlock", facts, params, rule,
                                                               prefer);
  }
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<BasicAlgorithm<S>> {
    if (prefer == RwPrefer::kReader) {
      return std::make_unique<LockedSgd<S, SpinRwLock<RwPrefer::kReader>, B>>("rwlock", facts,
                                                                              params, rule);
    }
    return std::make_unique<LockedSgd<S, SpinRwLock<RwPrefer::kWriter>, B>>("rwlock", facts, params,
                                                                            rule);
  });
}

template std::unique_ptr<BasicAlgorithm<float>> make_rwlock_sgd(LockMode, RwPrefer, BackoffKind,
                                                                const BackoffParams&,
                                                                const StepRuleParams&);
template std::unique_ptr<BasicAlgorithm<double>> make_rwlock_sgd(LockMode, RwPrefer, BackoffKind,
                                                                 const BackoffParams&,
                                                                 const StepRuleParams&);

AlgorithmEntry rwlock_entry() {
  std::vector<const AlgorithmOption*> options = backoff_options();
  options.push_back(&lock_option());
  options.push_back(&rwlock_prefer_option());
  for (const AlgorithmOption* o : step_rule_options()) options.push_back(o);
  return {"rwlock",
          "AsyncSGD with a read-write lock: shared copy, exclusive update",
          1,
          AlgorithmEntry::kAnyThreads,
          std::move(options),
          []<class S>(const AlgorithmSetup& s) {
            const BackoffChoice b = backoff_choice(s.settings, s.seed);
            return make_rwlock_sgd<S>(s.settings.get<LockMode>(lock_option()),
                                      s.settings.get<RwPrefer>(rwlock_prefer_option()), b.kind,
                                      b.params, step_rule_choice(s.settings));
          }};
}

}  // namespace psgd
