// algorithms/nonblocking.cpp — non-blocking synchronous SGD and its registry entry.
//
// --mini-batches default 8 and the mean rule: the source's setting (a worker's 256 samples cut
// into 8 mini-batches of 32; notes A); its combine is unstated, and the mean of deltas is the
// plainest reading. K = 1 is a round per mini-batch: `local-sgd` with H = 1 but for the abandons.
#include "algorithms/nonblocking.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "algorithms/worker_steps.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

const AlgorithmOption& mini_batches_option() {
  static const AlgorithmOption o = AlgorithmOption::make<std::int64_t>(
      "mini-batches", "K",
      "nonblocking: mini-batches of size b in one worker's round; the first worker to complete "
      "its K ends the round",
      8, [](std::string_view text) { return parse_int_option("mini-batches", text, 1); },
      [](const std::int64_t& k) { return nlohmann::json(k); });
  return o;
}

const AlgorithmOption& combine_option() {
  static const AlgorithmOption o = AlgorithmOption::make<CombineRule>(
      "combine", "RULE",
      "nonblocking: how the round's replicas become theta: mean (theta + mean of the workers' "
      "deltas) | weighted (deltas weighted by completed mini-batches)",
      CombineRule::kMean,
      [](std::string_view text) { return parse_name(kCombineRules, "combine", text); },
      [](const CombineRule& c) { return nlohmann::json(std::string(name_of(kCombineRules, c))); });
  return o;
}

}  // namespace

template <class S>
NonBlocking<S>::~NonBlocking() = default;

AlgorithmEntry nonblocking_entry() {
  return {"nonblocking",
          "non-blocking synchronous SGD: rounds of K mini-batches end when the first worker "
          "completes its K; the others contribute their completed ones",
          1,
          AlgorithmEntry::kAnyThreads,
          {&mini_batches_option(), &combine_option()},
          []<class S>(const AlgorithmSetup& s) {
            return std::make_unique<NonBlocking<S>>(
                s.settings.get<std::int64_t>(mini_batches_option()),
                s.settings.get<CombineRule>(combine_option()));
          }};
}

template <class S>
void NonBlocking<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  step_ = setup.step;
  num_workers_ = std::max(setup.num_workers, 1);
  const auto n = static_cast<std::size_t>(num_workers_);
  replicas_ = SharedArray<S>(*setup.shared_memory, theta0.size() * n);
  weights_.assign(n, S{0});
  batch_size_ = setup.batch_size;
  slots_ = std::vector<Slot>(n);
  round_over_.store(false, std::memory_order_relaxed);
  replicas_ready_ = std::make_unique<std::barrier<EndOfLocal>>(num_workers_, EndOfLocal{this});
  round_done_ = std::make_unique<std::barrier<>>(num_workers_);
  combined_ = false;
  round_loss_ = S{0};
  version_ = 0;
  rounds_ = 0;
  total_ = 0;
  completed_counts_.assign(static_cast<std::size_t>(mini_batches_) + 1, 0);
  control_ = nullptr;
  stop_ = false;
}

template <class S>
void NonBlocking<S>::EndOfLocal::operator()() noexcept {
  NonBlocking& s = *self;
  s.round_over_.store(false, std::memory_order_relaxed);  // nobody polls it until the next round
  s.combined_ = s.round_complete();
  if (s.combined_) {
    std::int64_t completed = 0;
    double loss_sum = 0.0;
    for (const Slot& slot : s.slots_) {
      completed += slot.completed;
      loss_sum += slot.loss_sum;
      ++s.completed_counts_[static_cast<std::size_t>(slot.completed)];
    }
    for (std::size_t w = 0; w < s.slots_.size(); ++w) {
      s.weights_[w] = static_cast<S>(s.slots_[w].completed) / static_cast<S>(completed);
    }
    s.round_loss_ = static_cast<S>(loss_sum / static_cast<double>(completed));
    s.version_ += std::min(s.mini_batches_, s.total_ - s.version_);
    ++s.rounds_;
  }
  s.stop_ = !s.combined_ || s.version_ >= s.total_ || s.control_->should_stop();
}

template <class S>
bool NonBlocking<S>::round_complete() const noexcept {
  return std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.complete; });
}

template <class S>
void NonBlocking<S>::local_phase(BasicWorkerContext<S>& ctx, std::span<S> replica,
                                 std::int64_t steps, BasicBatch<S>& redo) noexcept {
  Slot& slot = slots_[static_cast<std::size_t>(ctx.worker_id)];
  slot.completed = 0;
  slot.loss_sum = 0.0;
  slot.complete = true;
  std::copy(theta_.begin(), theta_.end(), replica.begin());  // theta is only read in this phase
  while (slot.completed < steps && !round_over_.load(std::memory_order_relaxed)) {
    if (ctx.control->should_stop()) {
      slot.complete = false;
      return;
    }
    const BasicBatch<S> batch = redo.size > 0 ? redo : ctx.sampler->next();
    redo = BasicBatch<S>{};
    const S loss = compute_gradient_on(ctx, std::span<const S>(replica), batch);
    if (!std::isfinite(loss)) {  // the run stops as diverged; the round is not combined
      slot.complete = false;
      return;
    }
    if (round_over_.load(std::memory_order_relaxed)) {  // another worker ended the round
      ++slot.abandoned;
      redo = batch;  // the sampler's view stays valid: this worker draws nothing until the redo
      return;
    }
    sgd_apply(replica, ctx.grad, step_);
    slot.loss_sum += loss;
    ++slot.completed;
  }
  if (slot.completed == steps) round_over_.store(true, std::memory_order_relaxed);
}

template <class S>
void NonBlocking<S>::combine(std::size_t lo, std::size_t hi) noexcept {
  const auto n = static_cast<std::size_t>(num_workers_);
  const std::size_t dim = theta_.size();
  if (combine_ == CombineRule::kMean) {
    const auto count = static_cast<S>(n);
    for (std::size_t i = lo; i < hi; ++i) {
      S sum = replicas_[i];
      for (std::size_t w = 1; w < n; ++w) sum += replicas_[w * dim + i];
      theta_[i] = sum / count;
    }
    return;
  }
  for (std::size_t i = lo; i < hi; ++i) {  // weights in worker order; 0-weight replicas add 0
    S sum = weights_[0] * replicas_[i];
    for (std::size_t w = 1; w < n; ++w) sum += weights_[w] * replicas_[w * dim + i];
    theta_[i] = sum;
  }
}

template <class S>
void NonBlocking<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const auto n = static_cast<std::size_t>(num_workers_);
  const std::size_t dim = theta_.size();
  const std::size_t lo = dim * me / n;  // this worker combines [lo, hi)
  const std::size_t hi = dim * (me + 1) / n;
  const std::int64_t total = ctx.control->total_updates();
  if (me == 0) {  // read by EndOfLocal, which runs after this worker's first arrival
    control_ = ctx.control;
    total_ = total;
  }
  Slot& slot = slots_[me];
  const std::span<S> replica = replicas_.span().subspan(me * dim, dim);
  BasicBatch<S> redo{};
  for (;;) {
    const std::int64_t v0 = version_;
    const std::int64_t computed_before = ctx.stats->computed;
    const std::int64_t abandoned_before = slot.abandoned;
    local_phase(ctx, replica, std::min(mini_batches_, total - v0), redo);
    replicas_ready_->arrive_and_wait();  // EndOfLocal: combined_, weights, version_, stop_

    // Reduce phase: each worker writes only its slice of theta; the replicas are only read.
    if (combined_) {
      combine(lo, hi);
      slot.contributed += slot.completed;
    } else {  // nothing of the round is applied, not even an abandon: all discarded
      slot.abandoned = abandoned_before;
      ctx.stats->discarded_at_end += ctx.stats->computed - computed_before;
    }
    round_done_->arrive_and_wait();

    if (me == 0 && combined_) {
      // theta is consistent and only read until the next reduce phase: one snapshot per due
      // checkpoint of the round, all holding the round's last update.
      const std::int64_t v1 = version_;
      for (std::int64_t v = v0 + 1; v <= v1; ++v) {
        note_applied(ctx, v, /*staleness=*/0, /*failed_attempts=*/0, round_loss_,
                     [&] { return ctx.checkpoints->record_late(v, v1, theta_.span()); });
      }
    }
    if (stop_) break;
  }
}

template <class S>
void NonBlocking<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json NonBlocking<S>::report() const {
  std::vector<std::int64_t> contributed;
  std::vector<std::int64_t> abandoned;
  std::int64_t abandoned_total = 0;
  for (const Slot& s : slots_) {
    contributed.push_back(s.contributed);
    abandoned.push_back(s.abandoned);
    abandoned_total += s.abandoned;
  }
  return {{"mini_batches", mini_batches_},
          {"combine", std::string(name_of(kCombineRules, combine_))},
          {"rounds", rounds_},
          {"contributed", contributed},
          {"abandoned", abandoned},
          {"wasted_samples", abandoned_total * static_cast<std::int64_t>(batch_size_)},
          {"completed_per_round", completed_counts_}};
}

template class NonBlocking<float>;
template class NonBlocking<double>;

}  // namespace psgd
