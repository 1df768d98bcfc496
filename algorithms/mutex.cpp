// algorithms/mutex.cpp — instantiations of the `mutex` algorithm and its registry entry.
#include "algorithms/mutex.hpp"

#include "algorithms/locked_sgd.hpp"
#include "algorithms/retry_options.hpp"

namespace psgd {

std::unique_ptr<Algorithm> make_mutex_sgd(LockMode lock, BackoffKind backoff,
                                          const BackoffParams& params) {
  require_spin_lock_for_backoff(lock, backoff);
  const nlohmann::json facts = {{"lock", std::string(lock_mode_name(lock))}};
  if (lock == LockMode::kOs) {
    return std::make_unique<LockedSgd<OsMutex, NoBackoff>>("mutex", facts, params);
  }
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<Algorithm> {
    return std::make_unique<LockedSgd<SpinMutex, B>>("mutex", facts, params);
  });
}

AlgorithmEntry mutex_entry() {
  std::vector<const AlgorithmOption*> options = backoff_options();
  options.push_back(&lock_option());
  return {"mutex",
          "lock-based consistent AsyncSGD: one lock for copy and update",
          1,
          AlgorithmEntry::kAnyThreads,
          std::move(options),
          [](const AlgorithmSetup& s) {
            const BackoffChoice b = backoff_choice(s.settings, s.seed);
            return make_mutex_sgd(s.settings.get<LockMode>(lock_option()), b.kind, b.params);
          }};
}

}  // namespace psgd
