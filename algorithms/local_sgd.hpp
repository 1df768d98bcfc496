// algorithms/local_sgd.hpp — `local-sgd`: synchronous model averaging (Zinkevich, Weimer, Smola,
// Li, "Parallelized Stochastic Gradient Descent", NIPS 2010, in its iterative-mixing form: the
// "synchronous" method of the averaging study, a student project of the same title that averages
// the replicas with an MPI reduce after every local epoch).
//
// Its rule on the round frame (round_frame.hpp). Local phase: every worker copies theta (only
// read in this phase) into its replica, its combine buffer, and runs H = --local-steps SGD steps
// on it with its own batches. Reduce phase: every worker averages the W replicas over its own
// slice of the coordinates (the combine's mean: sum in worker order, / W) into theta, so no
// thread averages the whole vector.
// Counting: one local step on every replica is one update (W gradients, effective batch W x b,
// as in `sync`), so a round applies min(H, updates left, ceil(gradients left / W)) updates: an
// update budget is applied exactly, and a gradient budget ends the run at its cap (within one
// step per worker: the round frame's RoundLeft). Worker 0 counts the updates; every worker
// computes one gradient per update, so the run computes W x applied(total) + discarded_at_end
// gradients; per worker computed = contributed (its steps in an average, counted there) +
// discarded_at_end. A round in which any worker met a non-finite loss (the run stops as
// diverged) or was stopped early is not averaged: its gradients are discarded_at_end. Checkpoints
// due inside a round are recorded by worker 0 from the averaged theta after the round (during the
// next local phase, while theta is only read), labelled with the round's last update. Progress:
// blocking. Staleness 0: every replica starts from the average of the previous round (other
// workers' local steps of the round are not visible until the average, by definition). With one
// worker the average is the replica itself (x / 1 is exact): the run is seq bit for bit. With H = 1
// a round is theta - step * (mean of W gradients) up to rounding: `sync`.
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
// Combine: where the replicas meet (combine.hpp); the default shares them in memory, MpiCombine
// (mpi_combine.hpp) spans the ranks of --backend mpi.
template <class S = float, class Combine = SharedMemoryCombine<S>>
class LocalSgd final : public BasicAlgorithm<S> {
 public:
  // combine: as SyncSgd's.
  explicit LocalSgd(std::int64_t local_steps) : local_steps_(local_steps) {}
  LocalSgd(std::int64_t local_steps, Combine combine)
      : local_steps_(local_steps), frame_(*this, std::move(combine)) {}
  ~LocalSgd() override;
  LocalSgd(const LocalSgd&) = delete;
  LocalSgd& operator=(const LocalSgd&) = delete;

  [[nodiscard]] std::string_view name() const override { return "local-sgd"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override { frame_.run(ctx); }
  void read_params(std::span<S> out) const override { frame_.read_params(out); }
  [[nodiscard]] nlohmann::json report() const override;

 private:
  friend class RoundFrame<S, LocalSgd, Combine>;
  // The rule (round_frame.hpp's RoundRule), called by the frame. local_phase runs
  // steps_in(left) SGD steps on the worker's replica and writes its slot.
  void local_phase(BasicWorkerContext<S>& ctx, RoundLeft left) noexcept;
  [[nodiscard]] std::int64_t steps_in(RoundLeft left) const noexcept;
  RoundOutcome<S> end_of_local(RoundLeft left) noexcept;
  void combine_slice(BasicWorkerContext<S>& ctx, Slice mine) noexcept;
  void discard(BasicWorkerContext<S>& /*ctx*/) noexcept {}

  // One per worker, written by its owner in the local phase, read in the first barrier's
  // completion step.
  struct alignas(kNoFalseSharing) Slot {
    double loss_sum = 0.0;   // the round's minibatch losses
    std::int64_t steps = 0;  // the round's steps taken on the replica
    bool complete = true;    // every step ran and every loss was finite
  };

  std::int64_t local_steps_;
  RoundFrame<S, LocalSgd, Combine> frame_{*this};
  S step_ = 0;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
};

// --local-steps H (>= 1, default 1), shared with async-exchange.
const AlgorithmOption& local_steps_option();

// Its registry entry (algorithms/registry.hpp): --local-steps H.
AlgorithmEntry local_sgd_entry();

}  // namespace psgd
