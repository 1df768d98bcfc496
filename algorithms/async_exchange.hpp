// algorithms/async_exchange.hpp — `async-exchange`: asynchronous "in turn" model update (the
// asynchronous method of the averaging study, a student project "Parallelized Stochastic Gradient
// Descent" after Zinkevich, Weimer, Smola, Li, NIPS 2010, which leaves the merge rule unstated,
// hence --merge; Downpour (Dean et al., "Large Scale Distributed Deep Networks", NIPS 2012) with
// model deltas for --merge delta).
//
//   worker  lock; copy theta and its version into the replica (and into `start`); reserve
//           h = min(H, budget - reserved) local steps; unlock. h = 0: the budget is all
//           reserved, stop
//           h = --local-steps SGD steps on the replica, no lock
//           lock; merge the replica into theta (--merge): overwrite (theta = replica, last writer
//           wins), average (theta = (theta + replica) / 2, pairwise elastic averaging) or delta
//           (theta += replica - start); version += h; copy theta back into the replica (the
//           next pull) and reserve the next interval; unlock
//   (no lock) a checkpoint the merge made due is recorded from that copy (consistent: taken
//           under the lock, outside any critical section)
// Counting: every local step is one update (one gradient), so a merge of h steps advances the
// version by h. The steps are reserved at the pull (`reserved` counts every worker's steps,
// merged or in flight), so every reserved interval is merged whatever the others did meanwhile
// (each w_i merged into theta in turn, as the averaging study describes) and the merged steps
// add up to exactly the budget: nothing is dropped. Per worker computed = applied +
// discarded_at_end: a non-finite loss or a stop ends the local steps, and those (at most one
// merge interval, H, per worker) are discarded_at_end, never merged.
// Staleness, two ways. Per merged step (the runner's staleness): the steps other workers merged
// between this worker's pull and its merge. Per merge (report().merge_staleness, beside
// merges and merges_per_worker): the other workers' merges in that span. Both exact: versions
// and merges change only under the lock. One worker: both 0.
// With one worker, H = 1 and overwrite, theta = replica = theta - step * grad: seq bit for bit.
// Step rules (--step-rule, algorithms/step_rule.hpp) act per merge: the rule sees the merge's
// staleness (the other workers' merges since the pull, merge_staleness) and scales the merge's
// displacement of theta by its factor f (merge_replica): overwrite theta + f (replica - theta),
// average theta + (f / 2) (replica - theta), delta theta + f (replica - start). f = 0 leaves theta
// as it is, f = 1 is the unscaled merge, computed by the unscaled formulas (so `constant` is the
// method without rules bit for bit); f > 1 goes past the replica (average: past it from f > 2).
// The local steps always use --step. tail samples the merges numbered (start x m, stop x m] (m
// workers: per-worker merges 10 to 15 by default). The effective-step record counts each merged
// step once, with its merge's factor, so it has one entry per applied update as for the other
// methods. The rule is applied under the lock, so it adds no synchronisation.
// Progress: blocking (one lock for pull and merge); --comm-delay is charged once per merge,
// before the lock.
// Across ranks (--backend mpi; async_exchange_ranks.cpp): theta, the version, the reservations,
// the merge counts and the staleness histogram live on rank 0, the home rank, under the same
// lock. Rank 0's workers run the loop above unchanged (the local lock). A worker of another rank
// sends its pull and its merge (replica, its start for delta, the interval's loss) to the home
// rank over a HomeLink (home_link.hpp) and takes theta back from the reply; a home thread on rank
// 0 (started and joined by its worker 0) does each of those pulls and merges under the lock, as
// a local worker would, and records the merged steps (applied, staleness, loss, step factor,
// checkpoints) in its own stats, added to rank 0's worker 0 after the join. So staleness counts
// every rank's merges exactly as within one process, rank 0's workers count every applied update
// (the other ranks' applied stay 0, as ranks.hpp expects), and a remote worker counts its
// computed, contributed and discarded_at_end. Workers are numbered globally (rank x T + slot) in
// merges_per_worker. A stop crosses ranks at the exchanges: the home refuses a merge (discarded
// at the worker) and reserves nothing once rank 0 stops; a remote worker that stops (diverged,
// time limit) says so in its last message and the home stops rank 0 with that reason.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/histogram.hpp"
#include "algorithms/home_link.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/step_rule.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class MergeRule { kAverage, kOverwrite, kDelta };
inline constexpr NameTable<MergeRule, 3> kMergeRules{{{"average", MergeRule::kAverage},
                                                      {"overwrite", MergeRule::kOverwrite},
                                                      {"delta", MergeRule::kDelta}}};

// theta <- the merge of `replica` (taken as `start` at its pull) into theta by `rule`, its
// displacement scaled by `factor` (the header's comment). factor == 1 runs the unscaled formulas:
// overwrite copies, average is (theta + replica) / 2, delta adds (replica - start).
template <class S>
void merge_replica(MergeRule rule, std::span<S> theta, std::span<const S> replica,
                   std::span<const S> start, double factor) noexcept;

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
template <class S = float>
class AsyncExchange final : public BasicAlgorithm<S> {
 public:
  // group: the ranks under --backend mpi (null: one process, the shared-memory method).
  AsyncExchange(std::int64_t local_steps, MergeRule merge, const StepRuleParams& rule = {},
                ProcessGroup* group = nullptr)
      : local_steps_(local_steps), merge_(merge), rule_(rule), group_(group) {}

  [[nodiscard]] std::string_view name() const override { return "async-exchange"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  [[nodiscard]] nlohmann::json report() const override;

 private:
  // What a worker took at its pull: the version and merge count then, and its reservation.
  struct Pull {
    std::int64_t version = 0;
    std::int64_t merges = 0;
    std::int64_t steps = 0;  // reserved local steps; 0: the budget is all reserved, stop
  };

  // What a merge did: the version before it, its step rule factor, and the next pull.
  struct Merged {
    std::int64_t version = 0;
    double factor = 1.0;
    Pull pull;
  };
  // A local interval's outcome: every step taken (else diverged or stopped), their loss sum.
  struct Interval {
    bool complete = true;
    double loss_sum = 0.0;
  };

  // Under mutex_: replica <- theta, and min(H, total - reserved) steps reserved.
  Pull pull_locked(std::span<S> replica, std::int64_t total) noexcept;
  // Under mutex_: global worker `worker`'s replica (pulled as `last`, from `start`) merged into
  // theta; then theta back into the replica and the next interval reserved.
  Merged merge_locked(std::size_t worker, const Pull& last, std::span<S> replica,
                      std::span<const S> start, std::int64_t total) noexcept;
  // No lock: `steps` local SGD steps on the replica (stopping at a non-finite loss or a stop).
  Interval local_interval(BasicWorkerContext<S>& ctx, std::span<S> replica,
                          std::int64_t steps) noexcept;
  // No lock, after a merge: its steps recorded as applied in ctx's stats, with their staleness,
  // loss and factor; a checkpoint they made due from `replica` (theta as pulled at the merge).
  void record_merge(BasicWorkerContext<S>& ctx, const Pull& last, const Merged& m, double loss_sum,
                    std::span<const S> replica) noexcept;

  // The method's loop (the header's), on this process's theta: every worker of one process, and
  // rank 0's workers across ranks.
  void run_local_worker(BasicWorkerContext<S>& ctx) noexcept;

  // Across ranks (async_exchange_ranks.cpp). The sizes of the link's messages.
  [[nodiscard]] std::size_t request_bytes() const noexcept;
  [[nodiscard]] std::size_t reply_bytes() const noexcept;
  // A worker of a rank other than the home rank: pulls and merges through the link.
  void run_remote_worker(BasicWorkerContext<S>& ctx) noexcept;
  // Rank 0's home thread: serves every remote worker's pulls and merges until all are done;
  // `home` is worker 0's context with the home's own stats.
  void serve_home(BasicWorkerContext<S>& home) noexcept;
  // Rank 0's worker 0: serve_home on a thread of its own beside its run_local_worker, then the
  // home's stats added to its own.
  void run_home_worker(BasicWorkerContext<S>& ctx) noexcept;

  std::int64_t local_steps_;
  MergeRule merge_;
  StepRule<S> rule_;
  S step_ = 0;
  std::mutex mutex_;
  std::int64_t version_ = 0;   // guarded by mutex_: local steps merged
  std::int64_t reserved_ = 0;  // guarded by mutex_: local steps reserved (merged or in flight)
  std::int64_t merges_ = 0;    // guarded by mutex_
  std::vector<std::int64_t> merges_per_worker_;  // guarded by mutex_; sized by init
  Histogram merge_staleness_;  // guarded by mutex_: other workers' merges per merge interval
  SharedArray<S> theta_;       // guarded by mutex_
  SharedArray<S> starts_;      // one slice per worker (its replica at the last pull); private

  // Across ranks; set by init. link_ null: one process (no group, or a group of one rank).
  ProcessGroup* group_ = nullptr;
  HomeLink* link_ = nullptr;
  std::size_t rank_workers_ = 1;   // T, the workers of each rank
  std::size_t total_workers_ = 1;  // R x T
  // Per local worker slot on a remote rank: its request and reply, written by that worker only
  // (each its own heap block).
  std::vector<std::vector<std::byte>> requests_;
  std::vector<std::vector<std::byte>> replies_;
  // The home thread's (rank 0), touched by it alone: its message buffers, a remote worker's
  // replica and start, each remote worker's last pull (by global id), and its stats.
  std::vector<std::byte> home_request_;
  std::vector<std::byte> home_reply_;
  std::vector<S> home_replica_;
  std::vector<S> home_start_;
  std::vector<Pull> remote_pulls_;
  WorkerStats home_stats_;
};

// Its registry entry (algorithms/registry.hpp): --local-steps (shared with local-sgd), --merge,
// the step rules.
AlgorithmEntry async_exchange_entry();

}  // namespace psgd
