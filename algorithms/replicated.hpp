// algorithms/replicated.hpp — `replicated`: model replication on NUMA machines, after
// DimmWitted (C. Zhang, C. Ré, "DimmWitted: A Study of Main-Memory Statistical Analytics",
// VLDB 2014) and Hogwild++ (H. Zhang, C.-J. Hsieh, V. Akella, "HOGWILD++: A New Mechanism for
// Decentralized Asynchronous Stochastic Gradient Descent", ICDM 2016).
//
// The workers are grouped into replicas (--replicas per-core | per-node | per-machine | N,
// replicated_layout.hpp); each replica holds its own copy of the parameters, allocated on its
// node, and runs an inner method on it (--inner mutex | rwlock | hogwild | leashed) with that
// method's own, unchanged worker loop (replicated_replicas.hpp). Between replicas:
//   --exchange average  every replica applies --exchange-every H updates of its inner method,
//                       then the replicas are averaged on the round frame (round_frame.hpp):
//                       barrier; each worker averages its slice of the coordinates over the R
//                       replicas (sum in replica order / R, ReplicaCombine) into theta and writes
//                       it back into every replica; barrier. A round's budget: replica q of R
//                       takes min(H, its share of the updates left: left / R, one more for the
//                       first left % R), so the run applies exactly the budget.
//   --exchange ring     replicated_ring.hpp: Hogwild++'s token ring, asynchronous.
// Counting: one update is one update of an inner method on one replica (one gradient), as for
// the inner method itself, so a budget of G gradients is G updates and like-for-like with it.
// With average, the frame's worker 0 counts a round's updates (staleness 0 for each: every
// replica starts the round from the average), and checkpoints due in a round are the average
// after it. Per worker computed = contributed (its updates in the average) + dropped (Leashed's
// persistence) + abandoned (gradients computed once its replica's share of the round was spent:
// the inner loop's discarded_at_end) + discarded_at_end (a round not averaged: a non-finite
// loss or a stop). The run's stop (--time-limit, Ctrl-C) is seen between rounds only: a round
// ends at most H updates per replica late.
// One replica (per-machine, or per-node on one node or unpinned): no exchange at all, the inner
// method runs on the run's own context, so it is the inner method bit for bit.
// Progress: that of the inner method within a round; blocking at the rounds' barriers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/replica_combine.hpp"
#include "algorithms/replicated_layout.hpp"
#include "algorithms/replicated_replicas.hpp"
#include "algorithms/round_frame.hpp"

namespace psgd {

enum class ReplicaExchange { kAverage, kRing };

template <class S>
class ReplicaRing;  // replicated_ring.hpp

// The options of `replicated` beside its inner method's own.
struct ReplicatedOptions {
  std::string inner = "mutex";  // a registry name: mutex, rwlock, hogwild or leashed
  ReplicaChoice replicas;
  ReplicaExchange exchange = ReplicaExchange::kAverage;
  std::int64_t exchange_every = 64;  // H: updates per replica between exchanges
  double ring_mix = 0.5;             // --ring-mix beta (replicated_ring.hpp)
};

// S: float or double (instantiated in replicated.cpp).
template <class S = float>
class ReplicatedSgd final : public BasicAlgorithm<S> {
 public:
  ReplicatedSgd(ReplicatedOptions options, typename ReplicaSet<S>::InnerFactory make_inner)
      : options_(std::move(options)), make_inner_(std::move(make_inner)) {}
  ~ReplicatedSgd() override;
  ReplicatedSgd(const ReplicatedSgd&) = delete;
  ReplicatedSgd& operator=(const ReplicatedSgd&) = delete;

  [[nodiscard]] std::string_view name() const override { return "replicated"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  [[nodiscard]] nlohmann::json report() const override;
  [[nodiscard]] std::optional<std::int64_t> peak_live_vectors() const override;

  // For tests: the replicas (after init).
  [[nodiscard]] const ReplicaSet<S>& replicas() const noexcept { return set_; }
  // For tests: the token ring (after init with --exchange ring and more than one replica).
  [[nodiscard]] const ReplicaRing<S>* ring() const noexcept { return ring_.get(); }

 private:
  friend class RoundFrame<S, ReplicatedSgd, ReplicaCombine<S>>;
  void local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept;
  RoundOutcome<S> end_of_local(RoundLeft left) noexcept;
  void combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept;
  void discard(BasicWorkerContext<S>& ctx) noexcept;
  // Replica r's updates in a round that starts with `left` updates of the budget left.
  [[nodiscard]] std::int64_t share(std::int64_t left, std::size_t r) const noexcept;

  struct alignas(kNoFalseSharing) Slot {
    SegmentCounts counts;
    double exchange_seconds = 0.0;  // its reduce phases (average and write-back), all rounds
  };

  ReplicatedOptions options_;
  typename ReplicaSet<S>::InnerFactory make_inner_;
  ReplicaSet<S> set_;
  RoundFrame<S, ReplicatedSgd, ReplicaCombine<S>> frame_{*this};
  std::vector<Slot> slots_;               // per worker
  std::vector<std::int64_t> base_;        // per replica: its inner version at the round's start
  std::unique_ptr<ReplicaRing<S>> ring_;  // --exchange ring
};

// Its registry entry (algorithms/registry.hpp).
AlgorithmEntry replicated_entry();

}  // namespace psgd
