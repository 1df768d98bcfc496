// algorithms/local_sgd.cpp — synchronous model averaging and its registry entry.
//
// --local-steps default 1: the smallest round, where the method is `sync` up to rounding; the
// averaging study's "train one epoch, then average" is H = the updates per epoch (N / b).
#include "algorithms/local_sgd.hpp"

#include <algorithm>
#include <cmath>

#include "algorithms/mpi_combine.hpp"
#include "algorithms/worker_steps.hpp"
#include "common/parse_number.hpp"

namespace psgd {

const AlgorithmOption& local_steps_option() {
  static const AlgorithmOption o = AlgorithmOption::make<std::int64_t>(
      "local-steps", "H",
      "local-sgd, async-exchange: SGD steps each worker takes on its own replica between two "
      "averages or merges (H = updates per epoch: one local epoch per average)",
      1, [](std::string_view text) { return parse_int_option("local-steps", text, 1); },
      [](const std::int64_t& h) { return nlohmann::json(h); });
  return o;
}

template <class S, class Combine>
LocalSgd<S, Combine>::~LocalSgd() = default;

AlgorithmEntry local_sgd_entry() {
  AlgorithmEntry e{
      "local-sgd",
      "synchronous model averaging: H local steps per worker, then the replicas' average",
      1,
      AlgorithmEntry::kAnyThreads,
      {&local_steps_option()},
      []<class S>(const AlgorithmSetup& s) -> AlgorithmPtr<S> {
        const auto h = s.settings.get<std::int64_t>(local_steps_option());
        if (s.group != nullptr) {
          return std::make_unique<LocalSgd<S, MpiCombine<S>>>(h, MpiCombine<S>(*s.group));
        }
        return std::make_unique<LocalSgd<S>>(h);
      }};
  // Each of a round's H updates is a step of every worker; the frame caps the gradients.
  e.caps_gradients = true;
  e.gradients_per_update = AlgorithmEntry::one_per_worker;
  e.default_batch_order = BatchOrder::kShard;  // the study divides the data among the workers
  e.across_processes = true;
  return e;
}

template <class S, class Combine>
void LocalSgd<S, Combine>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  frame_.init(theta0, setup);
  step_ = setup.step;
  batch_size_ = setup.batch_size;
  slots_ = std::vector<Slot>(frame_.workers());
}

// H steps, fewer when the update budget or this worker's share of the gradient cap is smaller.
template <class S, class Combine>
std::int64_t LocalSgd<S, Combine>::steps_in(RoundLeft left) const noexcept {
  return std::min({local_steps_, left.updates, left.gradients});
}

template <class S, class Combine>
void LocalSgd<S, Combine>::local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  Slot& slot = slots_[me];
  slot = Slot{};
  const std::span<S> replica = frame_.combine().buffer(me);
  const std::span<const S> theta = frame_.theta();  // only read in this phase
  std::copy(theta.begin(), theta.end(), replica.begin());
  const std::int64_t steps = steps_in(left);
  for (std::int64_t h = 0; h < steps; ++h) {
    if (ctx.control->should_stop()) {
      slot.complete = false;
      return;
    }
    const S loss = compute_gradient(ctx, replica);
    if (!std::isfinite(loss)) {  // the run stops as diverged; the round is not averaged
      slot.complete = false;
      return;
    }
    slot.loss_sum += loss;
    sgd_apply(replica, ctx.grad, step_);
    ++slot.steps;
  }
}

// Averaged when every worker completed its steps; the loss recorded for each of the round's
// updates is the mean over all W x steps of them.
template <class S, class Combine>
RoundOutcome<S> LocalSgd<S, Combine>::end_of_local(RoundLeft left) noexcept {
  const bool complete =
      std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.complete; });
  const std::int64_t steps = steps_in(left);
  double loss_sum = 0.0;
  for (const Slot& s : slots_) loss_sum += s.loss_sum;
  const std::size_t gradients = slots_.size() * static_cast<std::size_t>(steps);
  return {complete, steps, static_cast<S>(loss_sum / static_cast<double>(gradients))};
}

template <class S, class Combine>
void LocalSgd<S, Combine>::combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept {
  frame_.combine().mean(mine, mine.of(frame_.theta()));
  // Its replica, every step of the round in it, is in the average.
  ctx.stats->contributed += slots_[static_cast<std::size_t>(ctx.worker_id)].steps;
}

template <class S, class Combine>
nlohmann::json LocalSgd<S, Combine>::report() const {
  return {
      {"local_steps", local_steps_},
      {"rounds", frame_.rounds()},
      {"effective_batch", frame_.combine().total_workers() * batch_size_},
      {"gradients_per_update", frame_.combine().total_workers()},
      {"reduction", "replicas averaged over slices of the coordinates (sum in worker order / W)"}};
}

template class LocalSgd<float>;
template class LocalSgd<double>;
template class LocalSgd<float, MpiCombine<float>>;
template class LocalSgd<double, MpiCombine<double>>;

}  // namespace psgd
