// algorithms/nonblocking.hpp — `nonblocking`: non-blocking synchronous SGD (Haoze He,
// "Non-blocking Synchronous SGD" (NBSSGD), NYU High Performance Machine Learning course final
// project, 2022: a README, slides and a figure; its code implements only a Downpour server).
//
// Its rule on the round frame (round_frame.hpp), as `local-sgd`. Local phase: every worker copies
// theta (only read in this phase) into its replica and runs up to K = --mini-batches SGD steps on
// it, one mini-batch of b samples each. The first worker to complete its K raises the round-end
// flag; every other worker abandons the mini-batch in flight (its gradient is lost, never
// applied) and keeps that batch to redo first in the next round, on the new parameters. A worker
// starts no new mini-batch once the flag is up. The flag also interrupts the pace (pace.hpp):
// a straggler's --slowdown stretch and --delay waits end when it is raised, so the round end
// waits for at most one un-stretched gradient and one 1 ms poll per worker, not for a slowed
// gradient. Reduce phase: every worker combines the W replicas over its own slice of the
// coordinates into theta (a weighted sum, in worker order):
//   --combine mean      theta + (1/n) sum_{w: c_w > 0} (replica_w - theta)
//                       = (1/n) sum_{w: c_w > 0} replica_w, n the round's contributors
//   --combine weighted  theta + sum_w (c_w/C) (replica_w - theta) = sum_w (c_w/C) replica_w,
// c_w the mini-batches worker w completed, C their sum, and n, C >= 1 (the finisher) (the replica
// form is the one computed: every replica starts from theta, and it rounds once). A worker that
// completed nothing is no part of the mean: counting its replica (= theta) would shrink the
// finisher's progress by n / W.
// Reading of the source (its silences): a round is K fresh mini-batches per worker (the figure's
// carried-over remainder is not modelled); a gradient itself is not cut half-way (the model
// computes it in one call), so the waste the method accepts is at most one mini-batch per worker
// per round.
// Counting: a round applies min(K, updates left, ceil(gradients left / W)) updates (the
// finisher's steps; every update up to W mini-batches, as `local-sgd` counts H steps), so an
// update budget is applied exactly, and a gradient budget ends the run at its cap (within one
// mini-batch per worker: the round frame's RoundLeft). Worker 0 counts the updates. Per worker:
// computed = contributed (completed mini-batches that went into a combine, counted there) +
// abandoned (WorkerStats::abandoned: in flight at a round end) + discarded_at_end (a round not
// combined: the run stopped or met a non-finite loss).
// Wasted work is abandoned x b samples. The per-round distribution of completed mini-batches
// (0..K, one entry per worker per combined round) is in report().
// Progress: blocking at the round end (bounded by one un-stretched mini-batch), otherwise every
// worker runs freely. Staleness 0: every mini-batch of a round is computed from the round's theta
// through the worker's own replica; the other workers' steps arrive only with the combine.
// With one worker and either rule the combine is the replica (1 x is exact): the run is seq bit
// for bit (every mini-batch completes; none is abandoned).
// Across ranks (--backend mpi, Combine = MpiCombine): the replicas meet through the MPI combine
// (each rank's weighted partial sum, then an allreduce). The round end reaches every rank: the
// rank of a round's first finisher announces the round's number to the others, whose listener
// raises their flag (round_end_signal.hpp), so their in-flight mini-batches are abandoned there
// too and their paces' waits cut short. The weights need every rank's counts: the completion step
// sums the contributors and completed mini-batches over the ranks (MpiCombine::sum_counts) before
// the frame's agreement, and the round's loss is each rank's loss sum over the global completed
// count, times R (the frame averages the ranks' losses), so it is the mean over every completed
// mini-batch. report()'s per-worker lists and completed_per_round cover rank 0's workers only
// (the document's work and pace blocks cover every rank's).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/combine.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/round_frame.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class CombineRule { kMean, kWeighted };
inline constexpr NameTable<CombineRule, 2> kCombineRules{
    {{"mean", CombineRule::kMean}, {"weighted", CombineRule::kWeighted}}};

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
// Combine: where the replicas meet (combine.hpp); the default shares them in memory.
template <class S = float, class Combine = SharedMemoryCombine<S>>
class NonBlocking final : public BasicAlgorithm<S> {
 public:
  NonBlocking(std::int64_t mini_batches, CombineRule combine)
      : mini_batches_(mini_batches), combine_(combine) {}
  // Across ranks: `replicas` is the MPI combine of `group`.
  NonBlocking(std::int64_t mini_batches, CombineRule combine, Combine replicas, ProcessGroup& group)
      : mini_batches_(mini_batches),
        combine_(combine),
        frame_(*this, std::move(replicas)),
        group_(&group) {}
  ~NonBlocking() override;
  NonBlocking(const NonBlocking&) = delete;
  NonBlocking& operator=(const NonBlocking&) = delete;

  [[nodiscard]] std::string_view name() const override { return "nonblocking"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override { frame_.run(ctx); }
  void read_params(std::span<S> out) const override { frame_.read_params(out); }
  // rounds, contributed / abandoned per worker, wasted_samples, completed_per_round (counts of
  // 0..K completed mini-batches over workers x rounds), the combine rule.
  [[nodiscard]] nlohmann::json report() const override;

 private:
  friend class RoundFrame<S, NonBlocking, Combine>;
  // The rule (round_frame.hpp's RoundRule), called by the frame. local_phase runs at most
  // steps_in(left) mini-batches on the worker's replica, redoing last round's abandoned one first.
  void local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept;
  [[nodiscard]] std::int64_t steps_in(RoundLeft left) const noexcept;
  // Also lowers the round-end flag, counts the completed mini-batches and sets the weights.
  RoundOutcome<S> end_of_local(RoundLeft left) noexcept;
  void combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept;
  // Nothing of the round is applied, not even an abandon: the abandon is uncounted.
  void discard(BasicWorkerContext<S>& ctx) noexcept;
  // The run's last round, agreed on every rank: the round-end signal receives every announcement
  // still on its way and ends its listener (collective), so the ranks block counts them all.
  void after_last_round() noexcept;
  // Across ranks: this round's completed mini-batches and contributors summed over the ranks (as
  // they are within one process: {completed, contributors} unchanged).
  void sum_over_ranks(std::int64_t& completed, std::int64_t& contributors) noexcept;
  // The worker that completed its mini-batches: raises the round-end flag and, across ranks and
  // first on this rank, announces the round to the other ranks.
  void end_round_early() noexcept;
  // In the completion step, across ranks: the rank enters its next round (round_end_signal.hpp).
  void enter_next_round() noexcept;

  // One per worker. The round fields are written by their owner in the local phase and read in
  // the first barrier's completion step; the rest only by their owner, the totals after the join.
  struct alignas(kNoFalseSharing) Slot {
    std::int64_t completed = 0;  // this round's completed mini-batches
    double loss_sum = 0.0;       // their minibatch losses
    bool complete = true;        // not stopped, every loss finite
    std::int64_t contributed = 0;
    // WorkerStats::abandoned as of the worker's last abandon or discard, for report()'s list.
    std::int64_t abandoned = 0;
    std::int64_t abandoned_before = 0;  // WorkerStats::abandoned at the round's start
    // The batch abandoned last round, redone first (size 0: none). The sampler's view stays
    // valid: the worker draws nothing until the redo.
    BasicBatch<S> redo{};
  };

  std::int64_t mini_batches_;
  CombineRule combine_;
  RoundFrame<S, NonBlocking, Combine> frame_{*this};
  std::vector<S> weights_;  // per worker (either rule), written in end_of_local
  S step_ = 0;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
  // The round-end flag: raised by a finisher in the local phase, polled by the others and their
  // paces' waits, lowered in end_of_local. It carries no data (the replicas travel through the
  // barriers): relaxed.
  alignas(kNoFalseSharing) std::atomic<bool> round_over_{false};
  // Written only in end_of_local (one thread, every other waiting); read after the join.
  std::vector<std::int64_t> completed_counts_;  // index c: worker-rounds that completed c

  // Across ranks (null signal_: one process). signal_ is opened by init; its listener is stopped
  // by the destructor, before the fields below go.
  ProcessGroup* group_ = nullptr;
  RoundEndSignal* signal_ = nullptr;
  // Guarded by round_lock_ (round_end_signal.hpp): the highest round another rank announced, the
  // round this rank is in (also read without the lock by the finisher of that round: written
  // only in end_of_local, every worker waiting, so the barriers order it).
  std::mutex round_lock_;
  std::int64_t ended_round_ = -1;
  std::int64_t current_round_ = 0;
};

// Its registry entry (algorithms/registry.hpp): --mini-batches K, --combine mean|weighted.
AlgorithmEntry nonblocking_entry();

}  // namespace psgd
