// algorithms/local_sgd.cpp — synchronous model averaging and its registry entry.
//
// --local-steps default 1: the smallest round, where the method is `sync` up to rounding; the
// averaging study's "train one epoch, then average" is H = the updates per epoch (N / b).
#include "algorithms/local_sgd.hpp"

#include <algorithm>
#include <cmath>

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

template <class S>
LocalSgd<S>::~LocalSgd() = default;

AlgorithmEntry local_sgd_entry() {
  return {
      "local-sgd",
      "synchronous model averaging: H local steps per worker, then the replicas' average",
      1,
      AlgorithmEntry::kAnyThreads,
      {&local_steps_option()},
      []<class S>(const AlgorithmSetup& s) {
        return std::make_unique<LocalSgd<S>>(s.settings.get<std::int64_t>(local_steps_option()));
      }};
}

template <class S>
void LocalSgd<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  step_ = setup.step;
  num_workers_ = std::max(setup.num_workers, 1);
  replicas_ =
      SharedArray<S>(*setup.shared_memory, theta0.size() * static_cast<std::size_t>(num_workers_));
  batch_size_ = setup.batch_size;
  slots_ = std::vector<Slot>(static_cast<std::size_t>(num_workers_));
  replicas_ready_ = std::make_unique<std::barrier<>>(num_workers_);
  round_done_ = std::make_unique<std::barrier<EndOfRound>>(num_workers_, EndOfRound{this});
  version_ = 0;
  rounds_ = 0;
  total_ = 0;
  control_ = nullptr;
  stop_ = false;
}

template <class S>
void LocalSgd<S>::EndOfRound::operator()() noexcept {
  const bool applied = self->round_complete();
  if (applied) {
    self->version_ += std::min(self->local_steps_, self->total_ - self->version_);
    ++self->rounds_;
  }
  self->stop_ = !applied || self->version_ >= self->total_ || self->control_->should_stop();
}

template <class S>
bool LocalSgd<S>::round_complete() const noexcept {
  return std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.complete; });
}

template <class S>
void LocalSgd<S>::local_steps(BasicWorkerContext<S>& ctx, std::span<S> replica,
                              std::int64_t steps) noexcept {
  Slot& slot = slots_[static_cast<std::size_t>(ctx.worker_id)];
  slot = Slot{};
  std::copy(theta_.begin(), theta_.end(), replica.begin());  // theta is only read in this phase
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
  }
}

template <class S>
void LocalSgd<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const auto n = static_cast<std::size_t>(num_workers_);
  const std::size_t dim = theta_.size();
  const std::size_t lo = dim * me / n;  // this worker averages [lo, hi)
  const std::size_t hi = dim * (me + 1) / n;
  const S count = static_cast<S>(n);
  const std::int64_t total = ctx.control->total_updates();
  if (me == 0) {  // read by EndOfRound, which runs after this worker's first arrival
    control_ = ctx.control;
    total_ = total;
  }
  const std::span<S> replica = replicas_.span().subspan(me * dim, dim);
  for (;;) {
    const std::int64_t v0 = version_;
    const std::int64_t steps = std::min(local_steps_, total - v0);
    const std::int64_t computed_before = ctx.stats->computed;
    local_steps(ctx, replica, steps);
    replicas_ready_->arrive_and_wait();

    // Reduce phase: each worker writes only its slice of theta; the replicas are only read.
    const bool complete = round_complete();
    if (complete) {
      for (std::size_t i = lo; i < hi; ++i) {
        S sum = replicas_[i];
        for (std::size_t w = 1; w < n; ++w) sum += replicas_[w * dim + i];
        theta_[i] = sum / count;
      }
    } else {
      ctx.stats->discarded_at_end += ctx.stats->computed - computed_before;
    }
    double loss_sum = 0.0;
    if (me == 0) {
      for (const Slot& s : slots_) loss_sum += s.loss_sum;  // nobody writes a slot in this phase
    }
    round_done_->arrive_and_wait();  // EndOfRound: version_ + steps, stop_ decided

    if (me == 0 && complete) {
      // theta is consistent and only read until the next reduce phase: one snapshot per due
      // checkpoint of the round, all holding the round's last update.
      const std::int64_t v1 = version_;
      const auto loss = static_cast<S>(loss_sum / static_cast<double>(n * steps));
      for (std::int64_t v = v0 + 1; v <= v1; ++v) {
        note_applied(ctx, v, /*staleness=*/0, /*failed_attempts=*/0, loss,
                     [&] { return ctx.checkpoints->record_late(v, v1, theta_.span()); });
      }
    }
    if (stop_) break;
  }
}

template <class S>
void LocalSgd<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json LocalSgd<S>::report() const {
  return {
      {"local_steps", local_steps_},
      {"rounds", rounds_},
      {"effective_batch", static_cast<std::size_t>(num_workers_) * batch_size_},
      {"gradients_per_update", num_workers_},
      {"reduction", "replicas averaged over slices of the coordinates (sum in worker order / W)"}};
}

template class LocalSgd<float>;
template class LocalSgd<double>;

}  // namespace psgd
