// algorithms/replicated_ring.hpp — `replicated --exchange ring`: the replicas pass a token
// around a ring, in the manner of Hogwild++ (H. Zhang, C.-J. Hsieh, V. Akella, "HOGWILD++: A
// New Mechanism for Decentralized Asynchronous Stochastic Gradient Descent", ICDM 2016), where
// each cluster of cores keeps its own model and only the token holder synchronises with its
// neighbour, so no replica ever waits for another.
//
// psgd's rule (the paper's constants and the exact form of its update are not restated here;
// what is psgd's own choice is a parameter). Each replica works in segments of H =
// --exchange-every updates of its inner method, reserved from the run's budget (so exactly the
// budget is applied). At a segment's end its workers meet on the replica's own barrier, whose
// completion step (one thread, the replica quiescent) does, only when the replica holds the
// token:
//   1. mix:   if a model was posted to it, w_r = (1 - beta) w_r + beta m (beta = --ring-mix,
//             default 0.5), per coordinate;
//   2. post:  w_r is copied into replica r + 1's inbox (mod R), with the counts it carries;
//   3. pass:  the token moves to r + 1 (a release store; r + 1 reads the inbox only once it
//             holds the token, after an acquire load: the inbox is never read and written at
//             once).
// A replica without the token goes on with its next segment at once: the exchange is
// asynchronous. The first replica to end a segment takes the token; a replica that has ended
// (the budget spent) is skipped when the token is passed (one that ends while the token is on its
// way keeps it, and the others go on without exchanging).
// Accounting: received[r][q] = the updates of replica q contained in w_r: its own for q = r,
// and for q != r the most any model mixed into w_r carried (a model carries its own received
// vector; mixing with beta > 0 gives each of them weight in w_r). The staleness between replicas
// at an exchange of replica r is sum over q != r of (updates q had applied by then, read
// relaxed) - received[r][q] after the mix: the other replicas' updates r had not yet received.
// The run's updates: each segment's updates are numbered when it ends (a shared counter), noted
// on the replica's first worker with staleness 0, and a checkpoint due among them is a snapshot
// of the replica's model then (so a ring run's loss curve follows whichever replica completed
// the update); the final parameters are the replicas' average (sum in replica order / R).
// Per worker computed = contributed (its updates in its replica) + dropped + abandoned (the
// inner loop's gradients after its segment was spent) + discarded_at_end (a non-finite loss).
#pragma once

#include <atomic>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/histogram.hpp"
#include "algorithms/replicated.hpp"
#include "algorithms/replicated_replicas.hpp"

namespace psgd {

template <class S>
class ReplicaRing {
 public:
  // Single-threaded, after set.init: the barriers, inboxes (each on its replica's memory: the
  // first inner allocation's, node memory where the harness offers it) and counters.
  void init(ReplicaSet<S>& set, const ReplicatedOptions& options,
            const BasicTrainingSetup<S>& setup);
  // A worker's whole run.
  void run(ReplicaSet<S>& set, BasicWorkerContext<S>& ctx) noexcept;
  // After the join: the replicas' average.
  void read_average(const ReplicaSet<S>& set, std::span<S> out) const;
  // After the join: exchanges, staleness and delivery into the algorithm block.
  void report(nlohmann::json& j) const;

  // After the join, for tests: received[r][q] (see above) and each replica's applied updates.
  [[nodiscard]] std::vector<std::vector<std::int64_t>> received() const;
  [[nodiscard]] std::vector<std::int64_t> applied() const;

 private:
  struct SegmentEnd {
    ReplicaRing* ring;
    std::size_t replica;
    void operator()() noexcept { ring->end_segment(replica); }
  };
  // One replica's state. Fields marked (r) are touched only by its completion step or, ordered by
  // its barrier, by its workers; the inbox by the token holder's completion step only.
  struct alignas(kNoFalseSharing) Replica {
    std::unique_ptr<std::barrier<SegmentEnd>> barrier;
    std::int64_t target = 0;                 // (r) the inner version that ends the current segment
    bool more = true;                        // (r) false once no segment is left
    bool started = false;                    // (r) a segment has run
    BasicWorkerContext<S>* first = nullptr;  // (r) its first worker's context
    std::vector<std::int64_t> received;      // (r) see the file comment
    SharedArray<S> inbox;                    // written by r - 1 holding the token, read by r
    std::vector<std::int64_t> inbox_received;
    bool has_message = false;
    std::int64_t exchanges = 0;   // (r)
    double exchange_seconds = 0;  // (r)
    Histogram staleness;          // (r) one entry per exchange
    // Its updates so far: read by the other replicas' completion steps (relaxed: a count shown
    // in the staleness, no data published through it).
    alignas(kNoFalseSharing) std::atomic<std::int64_t> applied{0};
    // Set when it has no segment left: the token passes over it.
    std::atomic<bool> ended{false};
  };
  struct alignas(kNoFalseSharing) Slot {
    SegmentCounts counts;
  };

  // Replica r's barrier completion: the segment's bookkeeping, the exchange when r holds the
  // token, and the next segment's reservation.
  void end_segment(std::size_t r) noexcept;
  void exchange(std::size_t r) noexcept;
  [[nodiscard]] std::int64_t reserve() noexcept;

  ReplicaSet<S>* set_ = nullptr;
  std::vector<Replica> replicas_;
  std::vector<Slot> slots_;  // per worker
  std::int64_t every_ = 1;
  S beta_ = S(0.5);
  // Written by the first worker of each replica before its first arrival (all write the same).
  std::atomic<const RunControl*> control_{nullptr};
  // The updates reserved by every replica's segments, and those numbered so far: each replica's
  // completion step updates them (acq_rel: a read-modify-write every replica shares).
  alignas(kNoFalseSharing) std::atomic<std::int64_t> reserved_{0};
  alignas(kNoFalseSharing) std::atomic<std::int64_t> numbered_{0};
  // The replica holding the token (R: none yet, the first to end a segment takes it): release
  // when passed, acquire when tested.
  alignas(kNoFalseSharing) std::atomic<std::size_t> token_{0};
};

}  // namespace psgd
