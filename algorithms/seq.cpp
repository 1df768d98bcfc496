// algorithms/seq.cpp — sequential SGD.
#include "algorithms/seq.hpp"

#include <algorithm>
#include <cmath>

#include "algorithms/worker_steps.hpp"

namespace psgd {

template <class S>
void SequentialSgd<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  step_ = setup.step;
}

template <class S>
void SequentialSgd<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  const std::int64_t total = ctx.control->total_updates();
  for (std::int64_t version = 0; version < total && !ctx.control->should_stop(); ++version) {
    const S loss = compute_gradient(ctx, theta_.span());
    if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never applied
      ++ctx.stats->discarded_at_end;
      break;
    }
    sgd_apply(theta_.span(), ctx.grad, step_);
    ++ctx.stats->contributed;
    note_applied(ctx, version + 1, /*staleness=*/0, /*failed_attempts=*/0, loss,
                 [&] { return ctx.checkpoints->record(version + 1, theta_.span()); });
    charge_exchange(ctx);  // one pull and push of the shared model per update
  }
}

AlgorithmEntry seq_entry() {
  return {
      "seq", "sequential mini-batch SGD (the baseline; --threads 1)",
      1,     1,
      {},    []<class S>(const AlgorithmSetup&) { return std::make_unique<SequentialSgd<S>>(); }};
}

template <class S>
void SequentialSgd<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template class SequentialSgd<float>;
template class SequentialSgd<double>;

}  // namespace psgd
