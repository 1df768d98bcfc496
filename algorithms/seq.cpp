// algorithms/seq.cpp — sequential SGD.
#include "algorithms/seq.hpp"

#include <algorithm>
#include <cmath>

#include "algorithms/worker_steps.hpp"

namespace psgd {

void SequentialSgd::init(std::span<const float> theta0, const TrainingSetup& setup) {
  theta_ = SharedArray<float>::copy_of(*setup.shared_memory, theta0);
  step_ = setup.step;
}

void SequentialSgd::run_worker(WorkerContext& ctx) noexcept {
  const std::int64_t total = ctx.control->total_updates();
  for (std::int64_t version = 0; version < total && !ctx.control->should_stop(); ++version) {
    const float loss = compute_gradient(ctx, theta_.span());
    if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never applied
      ++ctx.stats->discarded_at_end;
      break;
    }
    sgd_apply(theta_.span(), ctx.grad, step_);
    note_applied(ctx, version + 1, /*staleness=*/0, /*failed_attempts=*/0, loss,
                 [&] { return ctx.checkpoints->record(version + 1, theta_.span()); });
  }
}

AlgorithmEntry seq_entry() {
  return {"seq", "sequential mini-batch SGD (the baseline; --threads 1)",
          1,     1,
          {},    [](const AlgorithmSetup&) { return std::make_unique<SequentialSgd>(); }};
}

void SequentialSgd::read_params(std::span<float> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

}  // namespace psgd
