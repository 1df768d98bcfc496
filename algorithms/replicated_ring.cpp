// algorithms/replicated_ring.cpp — the token ring between replicas (replicated_ring.hpp).
#include "algorithms/replicated_ring.hpp"

#include <algorithm>
#include <chrono>

#include "algorithms/worker_steps.hpp"

namespace psgd {

template <class S>
void ReplicaRing<S>::init(ReplicaSet<S>& set, const ReplicatedOptions& options,
                          const BasicTrainingSetup<S>& setup) {
  set_ = &set;
  every_ = options.exchange_every;
  beta_ = static_cast<S>(options.ring_mix);
  const std::size_t n = set.replicas();
  replicas_ = std::vector<Replica>(n);
  for (std::size_t r = 0; r < n; ++r) {
    Replica& rep = replicas_[r];
    rep.barrier = std::make_unique<std::barrier<SegmentEnd>>(
        static_cast<std::ptrdiff_t>(set.threads_of(r)), SegmentEnd{this, r});
    rep.received.assign(n, 0);
    rep.inbox_received.assign(n, 0);
    // Where the replica's model is: its node's memory when the harness offers it.
    SharedMemory& memory = setup.node_memory && set.node_of(r) >= 0
                               ? setup.node_memory(set.node_of(r))
                               : *setup.shared_memory;
    rep.inbox = SharedArray<S>(memory, set.params(r).size());
    rep.target = set.inner(r).quiescent_version();
  }
  slots_ = std::vector<Slot>(static_cast<std::size_t>(std::max(setup.num_workers, 1)));
  reserved_.store(0, std::memory_order_relaxed);
  numbered_.store(0, std::memory_order_relaxed);
  token_.store(n, std::memory_order_relaxed);  // no holder yet
  control_.store(nullptr, std::memory_order_relaxed);
}

template <class S>
void ReplicaRing<S>::run(ReplicaSet<S>& set, BasicWorkerContext<S>& ctx) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const std::size_t r = set.replica_of(me);
  Replica& rep = replicas_[r];
  // relaxed: every worker stores the same pointer; the barrier orders it before the completion.
  control_.store(ctx.control, std::memory_order_relaxed);
  // The replica's first worker takes the run's bookkeeping; its context outlives the run.
  if (set.first_worker(r) == me) rep.first = &ctx;
  for (;;) {
    rep.barrier->arrive_and_wait();  // SegmentEnd: the previous segment, then the next
    if (!rep.more) break;
    Slot& slot = slots_[me];
    if (ctx.control->should_stop()) {
      slot.counts = SegmentCounts{};
      slot.counts.complete = false;
      continue;  // the completion step then ends the replica
    }
    slot.counts = set.run_segment(ctx, rep.target);
    ctx.stats->contributed += slot.counts.applied;  // in its replica's model
    if (!slot.counts.complete) {  // a non-finite loss: the run stops; nothing else is lost
      ctx.stats->abandoned -= slot.counts.abandoned;
      ctx.stats->discarded_at_end += slot.counts.abandoned;
    }
  }
}

template <class S>
std::int64_t ReplicaRing<S>::reserve() noexcept {
  const RunControl* control = control_.load(std::memory_order_relaxed);
  std::int64_t seen = reserved_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t h = std::min(every_, control->total_updates() - seen);
    if (h <= 0) return 0;
    // acq_rel: replicas reserve concurrently; the counter alone decides who gets which updates.
    if (reserved_.compare_exchange_weak(seen, seen + h, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
      return h;
    }
  }
}

template <class S>
void ReplicaRing<S>::end_segment(std::size_t r) noexcept {
  Replica& rep = replicas_[r];
  ReplicaSet<S>& set = *set_;
  bool complete = true;
  std::int64_t applied = 0;
  double loss_sum = 0.0;
  std::int64_t losses = 0;
  if (rep.started) {
    for (const int w : set.workers_of(r)) {
      const SegmentCounts& c = slots_[static_cast<std::size_t>(w)].counts;
      complete = complete && c.complete;
      applied += c.applied;
      loss_sum += c.loss_sum;
      losses += c.losses;
    }
    rep.applied.fetch_add(applied, std::memory_order_relaxed);
    rep.received[r] += applied;
    // Number the segment's updates in the run and note them on the first worker.
    const std::int64_t v1 = numbered_.fetch_add(applied, std::memory_order_acq_rel) + applied;
    const S loss = losses > 0 ? static_cast<S>(loss_sum / static_cast<double>(losses)) : S(0);
    BasicWorkerContext<S>& first = *rep.first;
    const std::span<S> model = set.params(r);
    for (std::int64_t v = v1 - applied + 1; v <= v1; ++v) {
      note_applied(first, v, /*staleness=*/0, /*failed_attempts=*/0, loss,
                   [&] { return first.checkpoints->record_late(v, v1, model); });
    }
    if (complete) exchange(r);
  }
  rep.started = true;
  const RunControl* control = control_.load(std::memory_order_relaxed);
  const std::int64_t h = complete && !control->should_stop() ? reserve() : 0;
  rep.more = h > 0;
  if (!rep.more) {
    // release: the token's holder skips it from now on (a token already on its way stays here).
    rep.ended.store(true, std::memory_order_release);
  }
  rep.target = set.inner(r).quiescent_version() + h;
}

template <class S>
void ReplicaRing<S>::exchange(std::size_t r) noexcept {
  const std::size_t n = replicas_.size();
  // acquire: pairs with the release store that passed the token here, so the inbox written by
  // the previous holder is visible. No holder yet: the first replica to end a segment takes it
  // (so the ring never waits for a replica that has not started).
  std::size_t holder = token_.load(std::memory_order_acquire);
  if (holder == n) {
    token_.compare_exchange_strong(holder, r, std::memory_order_acq_rel, std::memory_order_acquire);
    holder = token_.load(std::memory_order_acquire);
  }
  if (holder != r) return;
  const auto t0 = std::chrono::steady_clock::now();
  Replica& rep = replicas_[r];
  const std::span<S> w = set_->params(r);
  if (rep.has_message) {
    const S keep = S(1) - beta_;
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = keep * w[i] + beta_ * rep.inbox[i];
    for (std::size_t q = 0; q < n; ++q) {
      if (q != r) rep.received[q] = std::max(rep.received[q], rep.inbox_received[q]);
    }
    rep.has_message = false;
  }
  std::int64_t missing = 0;
  for (std::size_t q = 0; q < n; ++q) {
    if (q == r) continue;
    missing += replicas_[q].applied.load(std::memory_order_relaxed) - rep.received[q];
  }
  rep.staleness.add(missing);
  // The next replica that has not ended (acquire: pairs with the release store of `ended`);
  // r itself when every other has (it then keeps the token and its own model).
  std::size_t next = (r + 1) % n;
  while (next != r && replicas_[next].ended.load(std::memory_order_acquire)) next = (next + 1) % n;
  if (next == r) return;
  Replica& to = replicas_[next];
  std::copy(w.begin(), w.end(), to.inbox.begin());
  to.inbox_received = rep.received;  // same size: no allocation
  to.has_message = true;
  ++rep.exchanges;
  rep.exchange_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // release: the inbox, its counts and has_message before the token reaches `next`.
  token_.store(next, std::memory_order_release);
}

template <class S>
void ReplicaRing<S>::read_average(const ReplicaSet<S>& set, std::span<S> out) const {
  const S count = static_cast<S>(set.replicas());
  for (std::size_t i = 0; i < out.size(); ++i) {
    S sum = set.params(0)[i];
    for (std::size_t r = 1; r < set.replicas(); ++r) sum += set.params(r)[i];
    out[i] = sum / count;
  }
}

template <class S>
std::vector<std::vector<std::int64_t>> ReplicaRing<S>::received() const {
  std::vector<std::vector<std::int64_t>> all;
  for (const Replica& rep : replicas_) all.push_back(rep.received);
  return all;
}

template <class S>
std::vector<std::int64_t> ReplicaRing<S>::applied() const {
  std::vector<std::int64_t> all;
  for (const Replica& rep : replicas_) all.push_back(rep.applied.load(std::memory_order_relaxed));
  return all;
}

template <class S>
void ReplicaRing<S>::report(nlohmann::json& j) const {
  std::int64_t count = 0;
  double seconds = 0.0;
  Histogram staleness;
  nlohmann::json per_replica = nlohmann::json::array();
  for (const Replica& rep : replicas_) {
    count += rep.exchanges;
    seconds += rep.exchange_seconds;
    staleness.merge(rep.staleness);
    per_replica.push_back({{"exchanges", rep.exchanges},
                           {"applied", rep.applied.load(std::memory_order_relaxed)},
                           {"received", rep.received}});
  }
  j["exchanges"] = {{"count", count},
                    {"worker_seconds", seconds},
                    {"ring_mix", static_cast<double>(beta_)},
                    {"rule",
                     "ring: the token holder mixes the posted model in, posts its own "
                     "to the next replica and passes the token"}};
  j["replica_staleness"] = {
      {"rule",
       "ring: at an exchange of replica r, the other replicas' updates not yet in r's model"},
      {"count", staleness.count()},
      {"mean", staleness.mean()},
      {"max", staleness.max()}};
  j["ring"] = per_replica;
}

template class ReplicaRing<float>;
template class ReplicaRing<double>;

}  // namespace psgd
