// algorithms/sync.hpp — `sync`: synchronous parallel SGD.
//
// Its rule on the round frame (round_frame.hpp): in the local phase every worker computes a
// gradient at the same theta into its combine buffer; the round is combined when every loss is
// finite, and then every worker averages the N gradients over its own slice of the coordinates
// (the combine's mean: sum in worker order, / N) and applies that slice with sgd_apply, so the
// reduction and the update run in parallel and no thread applies the whole vector. One round is
// one applied update with an effective batch of N x b.
// Progress: blocking (every round waits for the slowest worker). Every read sees exactly the
// updates of all earlier rounds: staleness 0.
// With one worker the average is the gradient itself (x / 1 is exact), so the run matches seq.
// Paper: synchronous parallel (mini-batch) SGD, the baseline of the reference framework
// (`-a SYNC`; there one thread applies the N scaled gradients serially, here the reduction is
// sliced across the workers).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/combine.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/round_frame.hpp"

namespace psgd {

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
// Combine: where the gradients meet (combine.hpp); the default shares them in memory, MpiCombine
// (mpi_combine.hpp) spans the ranks of --backend mpi.
template <class S = float, class Combine = SharedMemoryCombine<S>>
class SyncSgd final : public BasicAlgorithm<S> {
 public:
  // combine: SharedMemoryCombine by default; an MpiCombine on the run's process group under
  // --backend mpi (the rule is the same).
  SyncSgd() = default;
  explicit SyncSgd(Combine combine) : frame_(*this, std::move(combine)) {}
  ~SyncSgd() override;
  SyncSgd(const SyncSgd&) = delete;
  SyncSgd& operator=(const SyncSgd&) = delete;

  [[nodiscard]] std::string_view name() const override { return "sync"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override { frame_.run(ctx); }
  void read_params(std::span<S> out) const override { frame_.read_params(out); }
  [[nodiscard]] nlohmann::json report() const override;

 private:
  friend class RoundFrame<S, SyncSgd, Combine>;
  // The rule (round_frame.hpp's RoundRule), called by the frame.
  void local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept;
  RoundOutcome<S> end_of_local(RoundLeft left) noexcept;
  void combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept;
  void discard(BasicWorkerContext<S>& /*ctx*/) noexcept {}

  // One per worker, each on its own line: its loss of the round, written by its owner in the
  // local phase and read in the first barrier's completion step.
  struct alignas(kNoFalseSharing) Slot {
    S loss = 0;
  };

  RoundFrame<S, SyncSgd, Combine> frame_{*this};
  S step_ = 0;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
};

// Its registry entry (algorithms/registry.hpp): no options.
AlgorithmEntry sync_entry();

}  // namespace psgd
