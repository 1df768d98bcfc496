// algorithms/hogwild.cpp — instantiations of `hogwild` and `hogwild-atomic`, and their entries.
#include "algorithms/hogwild.hpp"

#include "algorithms/retry_options.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicAlgorithm<S>> make_hogwild_sgd(bool atomic_update, BackoffKind backoff,
                                                    const BackoffParams& params,
                                                    const StepRuleParams& rule) {
  if (!atomic_update) return std::make_unique<HogwildSgd<S, false, NoBackoff>>(params, rule);
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<BasicAlgorithm<S>> {
    return std::make_unique<HogwildSgd<S, true, B>>(params, rule);
  });
}

template std::unique_ptr<BasicAlgorithm<float>> make_hogwild_sgd(bool, BackoffKind,
                                                                 const BackoffParams&,
                                                                 const StepRuleParams&);
template std::unique_ptr<BasicAlgorithm<double>> make_hogwild_sgd(bool, BackoffKind,
                                                                  const BackoffParams&,
                                                                  const StepRuleParams&);

AlgorithmEntry hogwild_entry() {
  return {"hogwild",
          "HOGWILD!: no lock, plain racy vectorised copy and apply (torn reads, lost updates)",
          1,
          AlgorithmEntry::kAnyThreads,
          step_rule_options(),
          []<class S>(const AlgorithmSetup& s) {
            return make_hogwild_sgd<S>(false, BackoffKind::kNone, BackoffParams{.seed = s.seed},
                                       step_rule_choice(s.settings));
          }};
}

AlgorithmEntry hogwild_atomic_entry() {
  return {"hogwild-atomic",
          "HOGWILD! with a per-coordinate CAS add: no lost update",
          1,
          AlgorithmEntry::kAnyThreads,
          with_step_rules(backoff_options()),
          []<class S>(const AlgorithmSetup& s) {
            const BackoffChoice b = backoff_choice(s.settings, s.seed);
            return make_hogwild_sgd<S>(true, b.kind, b.params, step_rule_choice(s.settings));
          }};
}

}  // namespace psgd
