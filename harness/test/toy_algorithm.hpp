// harness/test/toy_algorithm.hpp — a whole algorithm with an option of its own, in one file, to
// show (and test) that adding a scheme takes this file plus one registry line:
//   AlgorithmRegistry registry = builtin_algorithms();
//   registry.add(toy_scaled_entry());
// after which the option parses and shows in --help, and the contract test holds it to every
// duty of algorithms/algorithm.hpp (algorithm_options_test.cpp does both).
// `toy-scaled` is sequential SGD whose step is multiplied by --toy-scale: one worker, so no
// synchronisation; a read sees every earlier update (staleness 0).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/worker_steps.hpp"
#include "common/parse_number.hpp"

namespace psgd::testing {

template <class S>
class ToyScaledSgd final : public BasicAlgorithm<S> {
 public:
  explicit ToyScaledSgd(double scale) : scale_(scale) {}
  [[nodiscard]] std::string_view name() const override { return "toy-scaled"; }
  // Shared state through the run's SharedMemory, so --memory places it (duty 5).
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override {
    theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
    step_ = static_cast<S>(scale_) * setup.step;
  }
  // The duties of algorithm.hpp: gradients through compute_gradient, a non-finite loss dropped
  // (counted, never applied), the applied gradient counted as contributed, note_applied with the
  // 1-based version, stop at the budget or when asked.
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override {
    const std::int64_t total = ctx.control->total_updates();
    for (std::int64_t v = 0; v < total && !ctx.control->should_stop(); ++v) {
      const S loss = compute_gradient<S>(ctx, theta_.span());
      if (!std::isfinite(loss)) {
        ++ctx.stats->discarded_at_end;
        break;
      }
      sgd_apply<S>(theta_.span(), ctx.grad, step_);
      ++ctx.stats->contributed;
      note_applied(ctx, v + 1, 0, 0, loss,
                   [&] { return ctx.checkpoints->record(v + 1, theta_.span()); });
    }
  }
  void read_params(std::span<S> out) const override {
    std::copy(theta_.begin(), theta_.end(), out.begin());
  }
  [[nodiscard]] nlohmann::json report() const override { return {{"scale", scale_}}; }

 private:
  double scale_;
  SharedArray<S> theta_;
  S step_ = 0;
};

inline const AlgorithmOption& toy_scale_option() {
  static const AlgorithmOption o = AlgorithmOption::make<double>(
      "toy-scale", "F", "toy-scaled: factor applied to --step", 1.0,
      [](std::string_view text) { return parse_positive_option("toy-scale", text); },
      [](const double& f) { return nlohmann::json(f); });
  return o;
}

inline AlgorithmEntry toy_scaled_entry() {
  return {"toy-scaled",
          "sequential SGD with a scaled step (a test's toy)",
          1,
          1,
          {&toy_scale_option()},
          []<class S>(const AlgorithmSetup& s) {
            return std::make_unique<ToyScaledSgd<S>>(s.settings.get<double>(toy_scale_option()));
          }};
}

}  // namespace psgd::testing
