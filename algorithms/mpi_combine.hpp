// algorithms/mpi_combine.hpp — the combine step across processes (`psgd run --backend mpi`): a
// RoundCombine (combine.hpp) whose W buffers are this rank's workers' and whose reductions span
// every rank's, through a ProcessGroup (process_group.hpp).
//
// mean(s, out) by worker w of every rank: the sum of the rank's W buffers over slice s, in worker
// order (SharedMemoryCombine's loop), then those R partial sums added across the ranks with an
// allreduce over worker w's channel, then divided by R x W. With one rank the allreduce leaves
// the sum as it is, so the result is SharedMemoryCombine's bit for bit (same additions in the
// same order, same division). With R ranks the additions across ranks follow MPI's reduction
// order, not worker order: R ranks x 1 thread equals 1 rank x R threads up to rounding only.
// weighted_sum(s, weights, out): weights holds this rank's W weights; the weighted partial sums
// are added across ranks the same way.
// agree(): the round's tally combined over the ranks (ProcessGroup::agree), so every rank applies
// the same round, counts the same gradients and stops after the same round. sum_counts(): a
// rule's own counts summed over the ranks in that same step (nonblocking's contributors).
// Thread-safety: as every RoundCombine; each worker uses only its own channel.
#pragma once

#include <cstddef>
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
  }

  [[nodiscard]] std::span<S> buffer(std::size_t w) noexcept { return local_.buffer(w); }
  [[nodiscard]] std::size_t workers() const noexcept { return local_.workers(); }
  [[nodiscard]] std::size_t total_workers() const noexcept { return total_workers_; }
  void agree(RoundTally& tally) noexcept { group_->agree(tally); }
  // Every rank's `counts` summed into `counts` (integers below 2^53 as doubles: exact), on the
  // round channel: by the first barrier's completion step, before agree(), on every rank.
  void sum_counts(std::span<double> counts) noexcept { group_->sum_across(counts, workers()); }

  void mean(Slice s, std::span<S> out) const noexcept {
    local_.sum(s, out);
    group_->sum_across(out.first(s.size()), s.worker);
    const S count = static_cast<S>(total_workers_);
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = out[i] / count;
  }

  void weighted_sum(Slice s, std::span<const S> weights, std::span<S> out) const noexcept {
    local_.weighted_sum(s, weights, out);
    group_->sum_across(out.first(s.size()), s.worker);
  }

 private:
  SharedMemoryCombine<S> local_;
  ProcessGroup* group_ = nullptr;
  std::size_t total_workers_ = 1;
};

}  // namespace psgd
