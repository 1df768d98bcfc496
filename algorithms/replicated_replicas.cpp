// algorithms/replicated_replicas.cpp — the replicas of `replicated` and their segments.
#include "algorithms/replicated_replicas.hpp"

#include <sched.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace psgd {
namespace {

// What a segment changes in the scratch statistics: the counters read before and after it.
struct ScratchCounts {
  std::int64_t computed = 0;
  std::int64_t samples = 0;
  std::int64_t applied = 0;
  std::int64_t dropped = 0;
  std::int64_t discarded = 0;
  std::int64_t failed_attempts = 0;
  std::int64_t failed_tests = 0;
  std::int64_t polls = 0;
  std::int64_t contended = 0;
  std::int64_t exchanges = 0;
  double lock_wait = 0.0;
  double backoff = 0.0;
  double slowdown = 0.0;
  double delay = 0.0;
  double comm_delay = 0.0;
  double loss_sum = 0.0;
  std::int64_t losses = 0;
};

ScratchCounts scratch_counts(const WorkerStats& s) noexcept {
  return {s.computed,
          s.samples,
          s.applied,
          s.dropped,
          s.discarded_at_end,
          s.failed_attempts,
          s.failed_tests,
          s.polls,
          s.contended_acquisitions,
          s.exchanges,
          s.lock_wait_seconds,
          s.backoff_seconds,
          s.slowdown_seconds,
          s.delay_seconds,
          s.comm_delay_seconds,
          s.slot_loss_sum[1],
          s.slot_loss_count[1]};
}

}  // namespace

template <class S>
void ReplicaSet<S>::init(const ReplicaChoice& choice, const InnerFactory& make_inner,
                         std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  const int threads = std::max(setup.num_workers, 1);
  plan_ = plan_replicas(choice, threads, setup.worker_nodes);
  const auto workers = static_cast<std::size_t>(threads);
  replica_of_.assign(workers, 0);
  local_of_.assign(workers, 0);
  planned_cpu_.assign(workers, -1);
  for (std::size_t w = 0; w < workers && w < setup.worker_cpus.size(); ++w) {
    planned_cpu_[w] = setup.worker_cpus[w];
  }
  inner_.clear();
  on_node_memory_.clear();
  no_checkpoints_.clear();
  for (std::size_t r = 0; r < plan_.size(); ++r) {
    const ReplicaPlan& p = plan_[r];
    for (std::size_t l = 0; l < p.workers.size(); ++l) {
      const auto w = static_cast<std::size_t>(p.workers[l]);
      replica_of_[w] = r;
      local_of_[w] = static_cast<int>(l);
    }
    BasicTrainingSetup<S> mine = setup;
    mine.num_workers = static_cast<int>(p.workers.size());
    const bool on_node = p.node >= 0 && static_cast<bool>(setup.node_memory);
    if (on_node) mine.shared_memory = &setup.node_memory(p.node);
    mine.worker_nodes.clear();
    mine.worker_cpus.clear();
    mine.node_memory = nullptr;
    inner_.push_back(make_inner(mine.num_workers));
    inner_.back()->init(theta0, mine);
    if (inner_.back()->quiescent_params().size() != theta0.size()) {
      throw std::logic_error("replicated: inner method '" + std::string(inner_.back()->name()) +
                             "' offers no quiescent parameters");
    }
    on_node_memory_.push_back(on_node);
    constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
    no_checkpoints_.push_back(
        std::make_unique<BasicCheckpoints<S>>(theta0.size(), kNever, 1, kNever, 1));
  }
  scratch_ = std::vector<WorkerStats>(workers);
  for (WorkerStats& s : scratch_) {
    s.slot_loss_sum.assign(2, 0.0);  // bucket 1 takes every loss (no_checkpoints_)
    s.slot_loss_count.assign(2, 0);
  }
  observed_ = std::vector<Observed>(workers);
}

template <class S>
std::vector<std::span<S>> ReplicaSet<S>::all_params() {
  std::vector<std::span<S>> all;
  all.reserve(inner_.size());
  for (std::size_t r = 0; r < inner_.size(); ++r) all.push_back(params(r));
  return all;
}

template <class S>
SegmentCounts ReplicaSet<S>::run_segment(BasicWorkerContext<S>& ctx, std::int64_t target) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const std::size_t r = replica_of_[me];
  WorkerStats& scratch = scratch_[me];
  const ScratchCounts before = scratch_counts(scratch);

  RunControl segment(target);
  BasicWorkerContext<S> inner = ctx;
  inner.worker_id = local_of_[me];
  inner.num_workers = threads_of(r);
  inner.control = &segment;
  inner.checkpoints = no_checkpoints_[r].get();
  inner.stats = &scratch;
  inner_[r]->run_worker(inner);

  const ScratchCounts after = scratch_counts(scratch);
  WorkerStats& s = *ctx.stats;
  s.computed += after.computed - before.computed;
  s.samples += after.samples - before.samples;
  s.failed_attempts += after.failed_attempts - before.failed_attempts;
  s.failed_tests += after.failed_tests - before.failed_tests;
  s.polls += after.polls - before.polls;
  s.contended_acquisitions += after.contended - before.contended;
  s.exchanges += after.exchanges - before.exchanges;
  s.lock_wait_seconds += after.lock_wait - before.lock_wait;
  s.backoff_seconds += after.backoff - before.backoff;
  s.slowdown_seconds += after.slowdown - before.slowdown;
  s.delay_seconds += after.delay - before.delay;
  s.comm_delay_seconds += after.comm_delay - before.comm_delay;
  SegmentCounts c;
  c.applied = after.applied - before.applied;
  c.dropped = after.dropped - before.dropped;
  // The inner loop's discarded_at_end: gradients that found the segment's updates spent (or a
  // non-finite loss, when the caller discards the whole round anyway).
  c.abandoned = after.discarded - before.discarded;
  s.dropped += c.dropped;
  s.abandoned += c.abandoned;
  c.loss_sum = after.loss_sum - before.loss_sum;
  c.losses = after.losses - before.losses;
  if (segment.reason() != StopReason::kNone) {
    ctx.control->request_stop(segment.reason());
    c.complete = false;
  }
  observed_[me].cpu = sched_getcpu();
  return c;
}

template <class S>
nlohmann::json ReplicaSet<S>::layout_json() const {
  nlohmann::json replicas = nlohmann::json::array();
  for (std::size_t r = 0; r < plan_.size(); ++r) {
    nlohmann::json planned_cpus = nlohmann::json::array();
    nlohmann::json observed_cpus = nlohmann::json::array();
    std::int64_t count = 0;
    double sum = 0.0;
    std::int64_t max = 0;
    for (const int w : plan_[r].workers) {
      const auto i = static_cast<std::size_t>(w);
      planned_cpus.push_back(planned_cpu_[i]);
      observed_cpus.push_back(observed_[i].cpu);
      count += scratch_[i].staleness.count();
      sum += scratch_[i].staleness.sum();
      max = std::max(max, scratch_[i].staleness.max());
    }
    replicas.push_back(
        {{"replica", r},
         {"node", plan_[r].node},
         {"workers", plan_[r].workers},
         {"planned_cpus", planned_cpus},
         {"observed_cpus", observed_cpus},
         {"memory", on_node_memory_[r] ? "bind:" + std::to_string(plan_[r].node) : "--memory"},
         {"inner_staleness",
          {{"count", count},
           {"mean", count > 0 ? sum / static_cast<double>(count) : 0.0},
           {"max", max}}}});
  }
  return replicas;
}

template class ReplicaSet<float>;
template class ReplicaSet<double>;

}  // namespace psgd
