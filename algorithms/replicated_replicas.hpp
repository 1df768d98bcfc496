// algorithms/replicated_replicas.hpp — the replicas of `replicated` (replicated.hpp): one inner
// method (mutex, rwlock, hogwild, leashed) per replica, each on its own parameters, and the one
// way a worker runs its replica's inner method for a segment of updates, shared by both
// exchanges (the average and the token ring).
//
// A segment reuses the inner method's own worker loop unchanged: the worker calls its replica's
// run_worker with a context whose RunControl ends at the segment's last update (its budget is
// the inner version `target`), whose worker id and count are its replica's, and whose
// statistics and checkpoints are the worker's scratch ones: the inner loop numbers updates by
// its replica's version, which is not the run's, so its per-update bookkeeping (applied,
// staleness, checkpoints, losses) stays in the scratch and the exchange does the run's. What the
// inner loop counted of work (gradients, samples, failed attempts, lock and backoff times,
// --delay and --comm-delay) is added to the worker's own statistics after the segment.
//
// Thread-safety: init() and the accessors of the plan run single-threaded before the workers;
// run_segment() runs on worker w only, touching worker w's scratch and the replica's inner
// method (whose own protocol orders its workers). params(r) is valid only while replica r is
// quiescent (no worker of it inside run_segment), the caller's barrier ordering the accesses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/replicated_layout.hpp"
#include "common/cache_line.hpp"

namespace psgd {

// One worker's part of one segment.
struct SegmentCounts {
  std::int64_t applied = 0;    // updates it applied to its replica
  std::int64_t dropped = 0;    // gradients the inner method gave up on (Leashed persistence)
  std::int64_t abandoned = 0;  // gradients computed once the segment's updates were spent
  double loss_sum = 0.0;       // the minibatch losses of its applied updates, in order
  std::int64_t losses = 0;
  bool complete = true;  // no stop was requested (a non-finite loss, or the run's stop)
};

template <class S>
class ReplicaSet {
 public:
  // Builds the inner method for a replica of `threads` workers (its registry entry's factory).
  using InnerFactory = std::function<std::unique_ptr<BasicAlgorithm<S>>(int threads)>;

  // Plans the replicas from setup.worker_nodes and builds and inits one inner method each from
  // theta0, its storage from setup.node_memory(node) when the replica has a node and the harness
  // offers node memory, else from setup.shared_memory. Throws std::logic_error when the inner
  // method offers no quiescent_params() (it cannot be replicated).
  void init(const ReplicaChoice& choice, const InnerFactory& make_inner, std::span<const S> theta0,
            const BasicTrainingSetup<S>& setup);

  [[nodiscard]] std::size_t replicas() const noexcept { return inner_.size(); }
  [[nodiscard]] std::size_t replica_of(std::size_t worker) const noexcept {
    return replica_of_[worker];
  }
  [[nodiscard]] int threads_of(std::size_t replica) const noexcept {
    return static_cast<int>(plan_[replica].workers.size());
  }
  [[nodiscard]] int node_of(std::size_t replica) const noexcept { return plan_[replica].node; }
  [[nodiscard]] const std::vector<int>& workers_of(std::size_t replica) const noexcept {
    return plan_[replica].workers;
  }
  [[nodiscard]] std::size_t first_worker(std::size_t replica) const noexcept {
    return static_cast<std::size_t>(plan_[replica].workers.front());
  }
  [[nodiscard]] BasicAlgorithm<S>& inner(std::size_t replica) noexcept { return *inner_[replica]; }
  [[nodiscard]] const BasicAlgorithm<S>& inner(std::size_t replica) const noexcept {
    return *inner_[replica];
  }
  // Replica r's live parameters (quiescent only).
  [[nodiscard]] std::span<S> params(std::size_t replica) noexcept {
    return inner_[replica]->quiescent_params();
  }
  [[nodiscard]] std::span<const S> params(std::size_t replica) const noexcept {
    return inner_[replica]->quiescent_params();
  }
  // Every replica's, in replica order (for the combine).
  [[nodiscard]] std::vector<std::span<S>> all_params();

  // Runs worker ctx.worker_id's part of its replica's segment until the replica's inner version
  // reaches `target`; returns what it did. A stop requested inside the segment (a non-finite
  // loss) is passed on to ctx.control. The run's own stop is not seen inside a segment: it is
  // checked by the caller before each, so a segment ends at most its updates late.
  SegmentCounts run_segment(BasicWorkerContext<S>& ctx, std::int64_t target) noexcept;

  // The layout for the JSON: per replica its planned node, workers and CPUs, the CPUs its
  // workers were last seen on, where its memory came from, and the inner method's staleness
  // within the replica (count, mean, max over its updates). After the join.
  [[nodiscard]] nlohmann::json layout_json() const;

 private:
  struct alignas(kNoFalseSharing) Observed {
    int cpu = -1;  // sched_getcpu() after the worker's last segment
  };

  std::vector<ReplicaPlan> plan_;
  std::vector<std::unique_ptr<BasicAlgorithm<S>>> inner_;
  std::vector<bool> on_node_memory_;  // replica r's storage came from node_memory(node)
  std::vector<std::size_t> replica_of_;
  std::vector<int> local_of_;     // a worker's id within its replica
  std::vector<int> planned_cpu_;  // per worker, -1 unknown
  // Per worker: the inner loop's bookkeeping (WorkerStats is padded), and what was observed.
  std::vector<WorkerStats> scratch_;
  std::vector<Observed> observed_;
  // Per replica: checkpoints no update of a segment ever makes due (one epoch of INT64_MAX
  // updates), so the inner loop records no snapshot and files every loss in bucket 1.
  std::vector<std::unique_ptr<BasicCheckpoints<S>>> no_checkpoints_;
};

}  // namespace psgd
