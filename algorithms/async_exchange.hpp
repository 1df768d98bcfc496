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
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/histogram.hpp"
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
  AsyncExchange(std::int64_t local_steps, MergeRule merge, const StepRuleParams& rule = {})
      : local_steps_(local_steps), merge_(merge), rule_(rule) {}

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

  // Under mutex_: replica <- theta, and min(H, total - reserved) steps reserved.
  Pull pull_locked(std::span<S> replica, std::int64_t total) noexcept;

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
};

// Its registry entry (algorithms/registry.hpp): --local-steps (shared with local-sgd), --merge,
// the step rules.
AlgorithmEntry async_exchange_entry();

}  // namespace psgd
