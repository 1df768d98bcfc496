// algorithms/sync.cpp — synchronous parallel SGD: its rule on the round frame.
#include "algorithms/sync.hpp"

#include <algorithm>
#include <cmath>

#include "algorithms/mpi_combine.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

template <class S, class Combine>
SyncSgd<S, Combine>::~SyncSgd() = default;

AlgorithmEntry sync_entry() {
  AlgorithmEntry e{"sync",
                   "synchronous parallel SGD: barrier, averaged gradient, effective batch N x b",
                   1,
                   AlgorithmEntry::kAnyThreads,
                   {},
                   []<class S>(const AlgorithmSetup& s) -> AlgorithmPtr<S> {
                     if (s.group != nullptr) {
                       return std::make_unique<SyncSgd<S, MpiCombine<S>>>(MpiCombine<S>(*s.group));
                     }
                     return std::make_unique<SyncSgd<S>>();
                   }};
  // A round averages one gradient per worker into one update; the frame caps the gradients.
  e.caps_gradients = true;
  e.gradients_per_update = AlgorithmEntry::one_per_worker;
  e.across_processes = true;
  return e;
}

template <class S, class Combine>
void SyncSgd<S, Combine>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  frame_.init(theta0, setup);
  step_ = setup.step;
  batch_size_ = setup.batch_size;
  slots_ = std::vector<Slot>(frame_.workers());
}

// The gradient goes to this worker's combine buffer (read by the others in the reduce phase)
// instead of its private one; theta is only read in this phase.
template <class S, class Combine>
void SyncSgd<S, Combine>::local_phase(BasicWorkerContext<S>& ctx, RoundLeft /*left*/) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  ctx.grad = frame_.combine().buffer(me);
  slots_[me].loss = compute_gradient(ctx, frame_.theta());
}

// A round with a non-finite gradient is not applied and ends the run; compute_gradient has
// already asked the run to stop as diverged. The loss recorded is the mean of the N losses.
template <class S, class Combine>
RoundOutcome<S> SyncSgd<S, Combine>::end_of_local(RoundLeft /*left*/) noexcept {
  const bool finite = std::all_of(slots_.begin(), slots_.end(),
                                  [](const Slot& s) { return std::isfinite(s.loss); });
  double loss_sum = 0.0;
  for (const Slot& s : slots_) loss_sum += s.loss;
  return {finite, 1, static_cast<S>(loss_sum / static_cast<double>(slots_.size()))};
}

// The mean gradient over this worker's slice (into its private buffer), then that slice's step.
template <class S, class Combine>
void SyncSgd<S, Combine>::combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept {
  const std::span<S> mean = mine.of(ctx.local);
  frame_.combine().mean(mine, mean);
  sgd_apply(mine.of(frame_.theta()), mean, step_);
  ++ctx.stats->contributed;  // its one gradient of the round is in the mean
}

template <class S, class Combine>
nlohmann::json SyncSgd<S, Combine>::report() const {
  const std::size_t workers = frame_.combine().total_workers();  // of every process
  return {{"effective_batch", workers * batch_size_},
          {"gradients_per_update", workers},
          {"reduction", "sliced across workers (sum in worker order / N, then sgd_apply)"}};
}

template class SyncSgd<float>;
template class SyncSgd<double>;
template class SyncSgd<float, MpiCombine<float>>;
template class SyncSgd<double, MpiCombine<double>>;

}  // namespace psgd
