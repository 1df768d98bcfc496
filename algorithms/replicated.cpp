// algorithms/replicated.cpp — `replicated` with the average exchange, and its registry entry.
#include "algorithms/replicated.hpp"

#include <algorithm>
#include <chrono>

#include "algorithms/replicated_options.hpp"
#include "algorithms/replicated_ring.hpp"

namespace psgd {

template <class S>
ReplicatedSgd<S>::~ReplicatedSgd() = default;

template <class S>
void ReplicatedSgd<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  set_.init(options_.replicas, make_inner_, theta0, setup);
  ring_.reset();
  if (set_.replicas() == 1) return;  // the inner method alone: no frame, no exchange
  const auto workers = static_cast<std::size_t>(std::max(setup.num_workers, 1));
  slots_ = std::vector<Slot>(workers);
  base_.assign(set_.replicas(), 0);
  for (std::size_t r = 0; r < set_.replicas(); ++r) base_[r] = set_.inner(r).quiescent_version();
  if (options_.exchange == ReplicaExchange::kRing) {
    ring_ = std::make_unique<ReplicaRing<S>>();
    ring_->init(set_, options_, setup);
    return;
  }
  frame_.init(theta0, setup);
  std::vector<std::size_t> replica_of(workers);
  for (std::size_t w = 0; w < workers; ++w) replica_of[w] = set_.replica_of(w);
  frame_.combine().set_replicas(set_.all_params(), std::move(replica_of));
}

template <class S>
void ReplicatedSgd<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  if (set_.replicas() == 1) {
    set_.inner(0).run_worker(ctx);
  } else if (ring_) {
    ring_->run(set_, ctx);
  } else {
    frame_.run(ctx);
  }
}

template <class S>
void ReplicatedSgd<S>::read_params(std::span<S> out) const {
  if (set_.replicas() == 1) {
    set_.inner(0).read_params(out);
  } else if (ring_) {
    ring_->read_average(set_, out);
  } else {
    frame_.read_params(out);
  }
}

template <class S>
std::int64_t ReplicatedSgd<S>::share(std::int64_t left, std::size_t r) const noexcept {
  const auto n = static_cast<std::int64_t>(set_.replicas());
  const std::int64_t mine = left / n + (static_cast<std::int64_t>(r) < left % n ? 1 : 0);
  return std::min(options_.exchange_every, mine);
}

template <class S>
void ReplicatedSgd<S>::local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  Slot& slot = slots_[me];
  slot.counts = SegmentCounts{};
  if (ctx.control->should_stop()) {  // the round is not averaged; the frame then stops
    slot.counts.complete = false;
    return;
  }
  const std::size_t r = set_.replica_of(me);
  // base_ was last written in the previous round's first barrier (or in init).
  slot.counts = set_.run_segment(ctx, base_[r] + share(left.updates, r));
}

// The round's updates are every replica's; its loss the mean of all of their losses, summed in
// worker order (so with one worker per replica it is local-sgd's).
template <class S>
RoundOutcome<S> ReplicatedSgd<S>::end_of_local(RoundLeft /*left*/) noexcept {
  bool complete = true;
  std::int64_t updates = 0;
  double loss_sum = 0.0;
  std::int64_t losses = 0;
  for (const Slot& s : slots_) {
    complete = complete && s.counts.complete;
    updates += s.counts.applied;
    loss_sum += s.counts.loss_sum;
    losses += s.counts.losses;
  }
  // Every inner method is quiescent here: the next round counts from where each stopped (a
  // HOGWILD! counter may be past its updates: a number claimed after the share was spent).
  // Where each replica's parameters are now (Leashed's latest vector moves every update).
  for (std::size_t r = 0; r < set_.replicas(); ++r) {
    base_[r] = set_.inner(r).quiescent_version();
    frame_.combine().set_replica(r, set_.params(r));
  }
  const S loss = losses > 0 ? static_cast<S>(loss_sum / static_cast<double>(losses)) : S(0);
  return {complete && updates > 0, updates, loss};
}

template <class S>
void ReplicatedSgd<S>::combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept {
  const auto t0 = std::chrono::steady_clock::now();
  const std::span<S> theta = mine.of(frame_.theta());
  frame_.combine().mean(mine, theta);
  frame_.combine().broadcast(mine, theta);
  Slot& slot = slots_[static_cast<std::size_t>(ctx.worker_id)];
  slot.exchange_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ctx.stats->contributed += slot.counts.applied;  // its updates are in the average
}

// A round not averaged: the frame counts every gradient of it as discarded_at_end, so what the
// segment counted as dropped or abandoned is taken back.
template <class S>
void ReplicatedSgd<S>::discard(BasicWorkerContext<S>& ctx) noexcept {
  const SegmentCounts& c = slots_[static_cast<std::size_t>(ctx.worker_id)].counts;
  ctx.stats->dropped -= c.dropped;
  ctx.stats->abandoned -= c.abandoned;
}

template <class S>
nlohmann::json ReplicatedSgd<S>::report() const {
  nlohmann::json j;
  j["inner"] = options_.inner;
  j["inner_report"] = set_.inner(0).report();
  j["replicas_option"] = replica_choice_name(options_.replicas);
  j["replica_count"] = set_.replicas();
  j["exchange"] = options_.exchange == ReplicaExchange::kRing ? "ring" : "average";
  j["exchange_every"] = options_.exchange_every;
  j["replicas"] = set_.layout_json();
  if (set_.replicas() == 1) {
    j["exchanges"] = {{"count", 0}, {"worker_seconds", 0.0}, {"rule", "one replica: none"}};
    j["replica_staleness"] = {{"rule", "one replica: none"}};
    return j;
  }
  if (ring_) {
    ring_->report(j);
    return j;
  }
  double seconds = 0.0;
  for (const Slot& s : slots_) seconds += s.exchange_seconds;
  j["exchanges"] = {{"count", frame_.rounds()},
                    {"worker_seconds", seconds},
                    {"rule", "average: every replica's slice averaged by each worker"}};
  j["replica_staleness"] = {
      {"rule", "average: 0, every replica starts each round from the average"},
      {"mean", 0.0},
      {"max", 0}};
  return j;
}

template <class S>
std::optional<std::int64_t> ReplicatedSgd<S>::peak_live_vectors() const {
  std::optional<std::int64_t> total;
  for (std::size_t r = 0; r < set_.replicas(); ++r) {
    if (const auto p = set_.inner(r).peak_live_vectors()) total = total.value_or(0) + *p;
  }
  return total;
}

template class ReplicatedSgd<float>;
template class ReplicatedSgd<double>;

}  // namespace psgd
