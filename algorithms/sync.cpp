// algorithms/sync.cpp — synchronous parallel SGD.
#include "algorithms/sync.hpp"

#include <algorithm>
#include <cmath>

#include "algorithms/worker_steps.hpp"

namespace psgd {

template <class S>
SyncSgd<S>::~SyncSgd() = default;

AlgorithmEntry sync_entry() {
  return {"sync", "synchronous parallel SGD: barrier, averaged gradient, effective batch N x b",
          1,      AlgorithmEntry::kAnyThreads,
          {},     []<class S>(const AlgorithmSetup&) { return std::make_unique<SyncSgd<S>>(); }};
}

template <class S>
void SyncSgd<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  step_ = setup.step;
  num_workers_ = std::max(setup.num_workers, 1);
  gradients_ =
      SharedArray<S>(*setup.shared_memory, theta0.size() * static_cast<std::size_t>(num_workers_));
  batch_size_ = setup.batch_size;
  slots_ = std::vector<Slot>(static_cast<std::size_t>(num_workers_));
  gradients_ready_ = std::make_unique<std::barrier<>>(num_workers_);
  round_done_ = std::make_unique<std::barrier<EndOfRound>>(num_workers_, EndOfRound{this});
  version_ = 0;
  total_ = 0;
  control_ = nullptr;
  stop_ = false;
}

// A round with a non-finite gradient is not applied (no worker applies its slice) and ends the
// run; compute_gradient has already asked the run to stop as diverged.
template <class S>
void SyncSgd<S>::EndOfRound::operator()() noexcept {
  const bool applied = self->round_finite();
  if (applied) ++self->version_;
  self->stop_ = !applied || self->version_ >= self->total_ || self->control_->should_stop();
}

template <class S>
bool SyncSgd<S>::round_finite() const noexcept {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const Slot& s) { return std::isfinite(s.loss); });
}

template <class S>
void SyncSgd<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const auto n = static_cast<std::size_t>(num_workers_);
  const std::size_t dim = theta_.size();
  const std::size_t lo = dim * me / n;  // this worker reduces and applies [lo, hi)
  const std::size_t hi = dim * (me + 1) / n;
  const S count = static_cast<S>(n);
  if (me == 0) {  // read by EndOfRound, which runs after this worker's first arrival
    control_ = ctx.control;
    total_ = ctx.control->total_updates();
  }
  // This worker's gradient goes to its slice of the shared gradients (read by the others after
  // the first barrier) instead of its private buffer.
  ctx.grad = gradients_.span().subspan(me * dim, dim);
  slots_[me].grad = ctx.grad.data();
  const std::span<S> mine = theta_.span().subspan(lo, hi - lo);
  const std::span<S> mean = ctx.local.subspan(lo, hi - lo);
  for (;;) {
    slots_[me].loss = compute_gradient(ctx, theta_.span());  // compute phase: theta only read
    gradients_ready_->arrive_and_wait();

    // Reduce phase: each worker writes only its slice of theta; the gradients are only read.
    const bool finite = round_finite();
    if (finite) {
      for (std::size_t i = lo; i < hi; ++i) {
        S sum = slots_[0].grad[i];
        for (std::size_t w = 1; w < n; ++w) sum += slots_[w].grad[i];
        mean[i - lo] = sum / count;
      }
      sgd_apply(mine, mean, step_);
    } else {
      ++ctx.stats->discarded_at_end;  // this worker's gradient of the round that is not applied
    }
    double loss_sum = 0.0;
    if (me == 0) {
      for (const Slot& s : slots_) loss_sum += s.loss;  // nobody writes a loss in this phase
    }
    round_done_->arrive_and_wait();  // EndOfRound: version_ + 1, stop_ decided

    if (me == 0 && finite) {
      // During the next compute phase theta is consistent and only read: a consistent snapshot.
      const std::int64_t v = version_;
      note_applied(ctx, v, /*staleness=*/0, /*failed_attempts=*/0,
                   static_cast<S>(loss_sum / static_cast<double>(n)),
                   [&] { return ctx.checkpoints->record(v, theta_.span()); });
    }
    if (stop_) break;
  }
}

template <class S>
void SyncSgd<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json SyncSgd<S>::report() const {
  return {{"effective_batch", static_cast<std::size_t>(num_workers_) * batch_size_},
          {"gradients_per_update", num_workers_},
          {"reduction", "sliced across workers (sum in worker order / N, then sgd_apply)"}};
}

template class SyncSgd<float>;
template class SyncSgd<double>;

}  // namespace psgd
