// algorithms/async_exchange.hpp — `async-exchange`: asynchronous "in turn" model update (the
// asynchronous method of the averaging study, a student project "Parallelized Stochastic Gradient
// Descent" after Zinkevich, Weimer, Smola, Li, NIPS 2010, which leaves the merge rule unstated,
// hence --merge; Downpour (Dean et al., "Large Scale Distributed Deep Networks", NIPS 2012) with
// model deltas for --merge delta).
//
//   worker  lock; copy theta and its version into the replica (and into `start`); unlock
//           H = --local-steps SGD steps on the replica, no lock
//           lock; merge the replica into theta (--merge): overwrite (theta = replica, last writer
//           wins), average (theta = (theta + replica) / 2, pairwise elastic averaging) or delta
//           (theta += replica - start); version += h; copy theta back into the replica; unlock
//   (no lock) a checkpoint the merge made due is recorded from that copy (consistent: taken
//           under the lock, outside any critical section)
// Counting: every local step is one update (one gradient), so a merge of h steps advances the
// version by h; a worker plans at most the budget's remainder it saw at its pull, and a merge
// that would pass the budget (others merged meanwhile) is not applied: its steps are `dropped`
// and the worker plans again from a fresh pull, so exactly the budget is applied. Per worker
// computed = applied + dropped + discarded_at_end (a non-finite loss or a stop ends the local
// steps; those steps are discarded_at_end, never merged).
// Staleness of a merged step: the updates other workers merged between this worker's pull and
// its merge (exact: the version changes only under the lock). With one worker, H = 1 and
// overwrite, theta = replica = theta - step * grad: seq bit for bit.
// Progress: blocking (one lock for pull and merge).
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class MergeRule { kAverage, kOverwrite, kDelta };
inline constexpr NameTable<MergeRule, 3> kMergeRules{{{"average", MergeRule::kAverage},
                                                      {"overwrite", MergeRule::kOverwrite},
                                                      {"delta", MergeRule::kDelta}}};

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
template <class S = float>
class AsyncExchange final : public BasicAlgorithm<S> {
 public:
  AsyncExchange(std::int64_t local_steps, MergeRule merge)
      : local_steps_(local_steps), merge_(merge) {}

  [[nodiscard]] std::string_view name() const override { return "async-exchange"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  [[nodiscard]] nlohmann::json report() const override;

 private:
  // Under mutex_: theta <- merge(theta, replica, start) by the rule.
  void merge_locked(std::span<const S> replica, std::span<const S> start) noexcept;

  std::int64_t local_steps_;
  MergeRule merge_;
  S step_ = 0;
  std::mutex mutex_;
  std::int64_t version_ = 0;  // guarded by mutex_
  SharedArray<S> theta_;      // guarded by mutex_
  SharedArray<S> starts_;     // one slice per worker (its replica at the last pull); private
};

// Its registry entry (algorithms/registry.hpp): --local-steps (shared with local-sgd), --merge.
AlgorithmEntry async_exchange_entry();

}  // namespace psgd
