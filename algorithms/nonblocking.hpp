// algorithms/nonblocking.hpp — `nonblocking`: non-blocking synchronous SGD (HPML's NBSSGD,
// shared/research/other-schemes-notes.md A; DESIGN.md §3).
//
// Rounds of two barrier phases, as `local-sgd`. Local phase: every worker copies theta (only read
// in this phase) into its replica and runs up to K = --mini-batches SGD steps on it, one
// mini-batch of b samples each. The first worker to complete its K raises the round-end flag;
// every other worker, on finishing the mini-batch in flight, sees the flag and abandons it (its
// gradient is not applied) and keeps that batch to redo first in the next round, on the new
// parameters. A worker starts no new mini-batch once the flag is up. Reduce phase: every worker
// combines the W replicas over its own slice of the coordinates into theta:
//   --combine mean      theta + (1/W) sum_w (replica_w - theta) = (1/W) sum_w replica_w
//   --combine weighted  theta + sum_w (c_w/C) (replica_w - theta) = sum_w (c_w/C) replica_w,
//                       c_w the mini-batches worker w completed, C their sum (>= 1: the finisher)
// (the replica form is the one computed: every replica starts from theta, and it rounds once).
// Reading of the sources (their silences, notes A): a round is K fresh mini-batches per worker
// (the figure's carried-over remainder is not modelled); the flag is polled between
// mini-batches, so a worker cannot stop a gradient half-way: the round end waits for at most one
// mini-batch per worker, and that work is the waste the method accepts.
// Counting: a round applies min(K, budget left) updates (the finisher's steps; every update up
// to W mini-batches, as `local-sgd` counts H steps), the last round shortened so exactly the
// budget is applied. Worker 0 counts the updates. Per worker: computed = contributed (completed
// mini-batches that went into a combine) + abandoned (in flight at a round end) +
// discarded_at_end (a round not combined: the run stopped or met a non-finite loss). Wasted work
// is abandoned x b samples. The per-round distribution of completed mini-batches (0..K, one entry
// per worker per combined round) is in report().
// Progress: blocking at the round end (bounded by one mini-batch), otherwise every worker runs
// freely. Staleness 0: every mini-batch of a round is computed from the round's theta through
// the worker's own replica; the other workers' steps arrive only with the combine.
// With one worker and either rule the combine is the replica (x / 1 and 1 x are exact): the run
// is seq bit for bit (every mini-batch completes; none is abandoned).
#pragma once

#include <atomic>
#include <barrier>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class CombineRule { kMean, kWeighted };
inline constexpr NameTable<CombineRule, 2> kCombineRules{
    {{"mean", CombineRule::kMean}, {"weighted", CombineRule::kWeighted}}};

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
template <class S = float>
class NonBlocking final : public BasicAlgorithm<S> {
 public:
  NonBlocking(std::int64_t mini_batches, CombineRule combine)
      : mini_batches_(mini_batches), combine_(combine) {}
  ~NonBlocking() override;
  NonBlocking(const NonBlocking&) = delete;
  NonBlocking& operator=(const NonBlocking&) = delete;

  [[nodiscard]] std::string_view name() const override { return "nonblocking"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  // rounds, contributed / abandoned per worker, wasted_samples, completed_per_round (counts of
  // 0..K completed mini-batches over workers x rounds), the combine rule.
  [[nodiscard]] nlohmann::json report() const override;

 private:
  // The first barrier's completion step (every worker done with its local phase, none yet
  // reducing): decides whether the round is combined, its weights, the update count, the stop.
  struct EndOfLocal {
    NonBlocking* self;
    void operator()() noexcept;
  };
  // One per worker. The round fields are written by their owner in the local phase and read by
  // all in the reduce phase; the totals only by their owner, then after the join.
  struct alignas(kNoFalseSharing) Slot {
    std::int64_t completed = 0;  // this round's completed mini-batches
    double loss_sum = 0.0;       // their minibatch losses
    bool complete = true;        // not stopped, every loss finite
    std::int64_t contributed = 0;
    std::int64_t abandoned = 0;
  };
  [[nodiscard]] bool round_complete() const noexcept;
  // The local phase of one worker, at most `steps` mini-batches on its replica. `redo` holds the
  // batch abandoned last round (size 0: none) and receives this round's abandoned one.
  void local_phase(BasicWorkerContext<S>& ctx, std::span<S> replica, std::int64_t steps,
                   BasicBatch<S>& redo) noexcept;
  // theta over [lo, hi) from the replicas under the combine rule. Reduce phase only.
  void combine(std::size_t lo, std::size_t hi) noexcept;

  std::int64_t mini_batches_;
  CombineRule combine_;
  SharedArray<S> theta_;
  SharedArray<S> replicas_;  // W slices, each written by its worker in the local phase
  std::vector<S> weights_;   // per worker (weighted rule), written in EndOfLocal
  S step_ = 0;
  int num_workers_ = 1;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
  // The round-end flag: raised by a finisher in the local phase, polled by the others, lowered
  // in EndOfLocal. It carries no data (the replicas travel through the barriers): relaxed.
  alignas(kNoFalseSharing) std::atomic<bool> round_over_{false};
  std::unique_ptr<std::barrier<EndOfLocal>> replicas_ready_;
  std::unique_ptr<std::barrier<>> round_done_;  // theta combined; the next round may read it
  // Written only in EndOfLocal (one thread, every other waiting) and read after it, until the
  // next round's first barrier.
  bool combined_ = false;  // the round is combined (every worker complete)
  S round_loss_ = 0;       // mean minibatch loss of the round's contributed mini-batches
  std::int64_t version_ = 0;
  std::int64_t rounds_ = 0;
  std::int64_t total_ = 0;
  std::vector<std::int64_t> completed_counts_;  // index c: worker-rounds that completed c
  const RunControl* control_ = nullptr;
  bool stop_ = false;
};

// Its registry entry (algorithms/registry.hpp): --mini-batches K, --combine mean|weighted.
AlgorithmEntry nonblocking_entry();

}  // namespace psgd
