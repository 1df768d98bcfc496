// algorithms/mpi_combine.hpp — the combine step across processes (`psgd run --backend mpi`): a
// RoundCombine (combine.hpp) whose W buffers are this rank's workers' and whose reductions span
// every rank's, through a ProcessGroup (process_group.hpp).
//
// mean(s, out) by every worker w of every rank, once per combined round: the sum of the rank's W
// buffers over slice s, in worker order (SharedMemoryCombine's loop), into the rank's sum vector;
// once every worker of the rank has summed its slice, worker 0 adds the R ranks' sum vectors with
// one allreduce of the whole vector (on its channel), and then every worker divides its slice by
// R x W into out. One allreduce per rank and round rather than one per worker and slice: a rank's
// threads in MPI at once are served one after the other by Open MPI's progress engine (one lock
// under MPI_THREAD_MULTIPLE), and on few cores they compete with it for the CPU
// (docs/distributed.md, "Measured: the combine and the rounds"). With one rank the allreduce
// leaves the sum as it is, so the result is SharedMemoryCombine's bit for bit (same additions in
// the same order, same division). With R ranks the additions across ranks follow MPI's reduction
// order, not worker order: R ranks x 1 thread equals 1 rank x R threads up to rounding only (at 2
// ranks exactly: a + b = b + a).
// weighted_sum(s, weights, out): weights holds this rank's W weights; the weighted partial sums
// are added across ranks the same way.
// agree(): the round's tally combined over the ranks (ProcessGroup::agree), so every rank applies
// the same round, counts the same gradients and stops after the same round. sum_counts(): a
// rule's own counts summed over the ranks in that same step (nonblocking's contributors).
// Thread-safety: mean and weighted_sum are called by every worker of the rank exactly once per
// combined round (the round frame's reduce phase: sync, local-sgd, nonblocking), since the rank's
// workers meet twice inside (a std::barrier of W: its completion orders each worker's writes of
// the sum vector before the allreduce reads them, and the allreduce's result before the
// divisions read it). Each worker writes only its slice of the sum vector and of out.
#pragma once

#include <barrier>
#include <cstddef>
#include <memory>
#include <span>

#include "algorithms/combine.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/shared_memory.hpp"

namespace psgd {

template <class S>
class MpiCombine {
 public:
  // Default: no group, for the concept; a run always builds it from its group.
  MpiCombine() = default;
  explicit MpiCombine(ProcessGroup& group) : group_(&group) {}

  // Single-threaded, before the workers; collective (every rank, the same dim and workers).
  void init(SharedMemory& memory, std::size_t dim, std::size_t workers) {
    local_.init(memory, dim, workers);
    total_workers_ = workers * static_cast<std::size_t>(group_->size());
    group_->open_channels(workers);
    sums_ = SharedArray<S>(memory, dim);
    sums_view_ = sums_.span();
    gate_ = workers > 1 ? std::make_unique<std::barrier<>>(static_cast<std::ptrdiff_t>(workers))
                        : nullptr;
  }

  [[nodiscard]] std::span<S> buffer(std::size_t w) noexcept { return local_.buffer(w); }
  [[nodiscard]] std::size_t workers() const noexcept { return local_.workers(); }
  [[nodiscard]] std::size_t total_workers() const noexcept { return total_workers_; }
  void agree(RoundTally& tally) noexcept { group_->agree(tally); }
  // Every rank's `counts` summed into `counts` (integers below 2^53 as doubles: exact), on the
  // round channel: by the first barrier's completion step, before agree(), on every rank.
  void sum_counts(std::span<double> counts) noexcept { group_->sum_across(counts, workers()); }

  void mean(Slice s, std::span<S> out) const noexcept {
    local_.sum(s, s.of(sums_view_));
    sum_over_ranks(s);
    const S count = static_cast<S>(total_workers_);
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = sums_view_[s.lo + i] / count;
  }

  void weighted_sum(Slice s, std::span<const S> weights, std::span<S> out) const noexcept {
    local_.weighted_sum(s, weights, s.of(sums_view_));
    sum_over_ranks(s);
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = sums_view_[s.lo + i];
  }

 private:
  // Every worker of the rank has written its slice of sums_ when worker 0 allreduces the whole
  // vector, and reads only its slice after the allreduce (the two waits on gate_).
  void sum_over_ranks(Slice s) const noexcept {
    if (gate_ != nullptr) gate_->arrive_and_wait();
    if (s.worker == 0) group_->sum_across(sums_view_, 0);
    if (gate_ != nullptr) gate_->arrive_and_wait();
  }

  SharedMemoryCombine<S> local_;
  ProcessGroup* group_ = nullptr;
  std::size_t total_workers_ = 1;
  SharedArray<S> sums_;     // the rank's sum vector (dim values)
  std::span<S> sums_view_;  // sums_, writable from the const reductions (slices of it)
  std::unique_ptr<std::barrier<>> gate_;  // the rank's W workers (none at W = 1)
};

}  // namespace psgd
