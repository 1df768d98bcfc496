// algorithms/mutex.cpp — instantiations of the `mutex` algorithm and its registry entry.
#include "algorithms/mutex.hpp"

#include "algorithms/locked_sgd.hpp"
#include "algorithms/retry_options.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicAlgorithm<S>> make_mutex_sgd(LockMode lock, BackoffKind backoff,
                                                  const BackoffParams& params,
                                                  const StepRuleParams& rule) {
  require_spin_lock_for_backoff(lock, backoff);
  const nlohmann::json facts = {{"lock", std::string(lock_mode_name(lock))}};
  if (lock == LockMode::kOs) {
    return std::make_unique<LockedSgd<S, OsMutex, NoBackoff>>("mutex", facts, params, rule);
  }
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<BasicAlgorithm<S>> {
    return std::make_unique<LockedSgd<S, SpinMutex, B>>("mutex", facts, params, rule);
  });
}

template std::unique_ptr<BasicAlgorithm<float>> make_mutex_sgd(LockMode, BackoffKind,
                                                               const BackoffParams&,
                                                               const StepRuleParams&);
template std::unique_ptr<BasicAlgorithm<double>> make_mutex_sgd(LockMode, BackoffKind,
                                                                const BackoffParams&,
                                                                const StepRuleParams&);

AlgorithmEntry mutex_entry() {
  std::vector<const AlgorithmOption*> options = backoff_options();
  options.push_back(&lock_option());
  for (const AlgorithmOption* o : step_rule_options()) options.push_back(o);
  return {"mutex",
          "lock-based consistent AsyncSGD: one lock for copy and update",
          1,
          AlgorithmEntry::kAnyThreads,
          std::move(options),
          []<class S>(const AlgorithmSetup& s) {
            const BackoffChoice b = backoff_choice(s.settings, s.seed);
            return make_mutex_sgd<S>(s.settings.get<LockMode>(lock_option()), b.kind, b.params,
                                     step_rule_choice(s.settings));
          }};
}

}  // namespace psgd
