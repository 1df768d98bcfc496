// algorithms/local_sgd.hpp — `local-sgd`: synchronous model averaging (Zinkevich et al.,
// "Parallelized Stochastic Gradient Descent", NIPS 2010, in its iterative-mixing form; the
// averaging study's "synchronous" method, shared/research/other-schemes-notes.md C).
//
// Rounds of two barrier phases, as `sync`. Local phase: every worker copies theta (read-only in
// this phase) into its replica and runs H = --local-steps SGD steps on it with its own batches.
// Reduce phase: every worker averages the W replicas over its own slice of the coordinates (sum
// in worker order, / W) into theta, so no thread averages the whole vector. The second barrier's
// completion step advances the version by the round's steps and decides whether to stop.
// Counting: one local step on every replica is one update (W gradients, effective batch W x b,
// as in `sync`), so a round applies H updates; the last round is shortened to the budget's
// remainder, so exactly the budget is applied. Worker 0 counts the updates; every worker
// computes one gradient per update: computed = applied(total) + discarded_at_end. A round in
// which any worker met a non-finite loss (the run stops as diverged) or was stopped early is not
// averaged: its gradients are discarded_at_end. Checkpoints due inside a round are recorded by
// worker 0 from the averaged theta after the round (during the next local phase, while theta is
// only read), labelled with the round's last update.
// Progress: blocking. Staleness 0: every replica starts from the average of the previous round
// (other workers' local steps of the round are not visible until the average, by definition).
// With one worker the average is the replica itself (x / 1 is exact): the run is seq bit for bit.
// With H = 1 a round is theta - step * (mean of W gradients) up to rounding: `sync`.
#pragma once

#include <barrier>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"

namespace psgd {

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
template <class S = float>
class LocalSgd final : public BasicAlgorithm<S> {
 public:
  explicit LocalSgd(std::int64_t local_steps) : local_steps_(local_steps) {}
  ~LocalSgd() override;
  LocalSgd(const LocalSgd&) = delete;
  LocalSgd& operator=(const LocalSgd&) = delete;

  [[nodiscard]] std::string_view name() const override { return "local-sgd"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  [[nodiscard]] nlohmann::json report() const override;

 private:
  struct EndOfRound {
    LocalSgd* self;
    void operator()() noexcept;
  };
  // One per worker, written by its owner in the local phase, read by all in the reduce phase.
  struct alignas(kNoFalseSharing) Slot {
    double loss_sum = 0.0;  // the round's minibatch losses
    bool complete = true;   // every step ran and every loss was finite
  };
  [[nodiscard]] bool round_complete() const noexcept;
  // The local phase of one worker: `steps` SGD steps on its replica. Writes its slot.
  void local_steps(BasicWorkerContext<S>& ctx, std::span<S> replica, std::int64_t steps) noexcept;

  std::int64_t local_steps_;
  SharedArray<S> theta_;
  SharedArray<S> replicas_;  // W slices, each written by its worker in the local phase
  S step_ = 0;
  int num_workers_ = 1;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
  std::unique_ptr<std::barrier<>> replicas_ready_;
  std::unique_ptr<std::barrier<EndOfRound>> round_done_;
  // Written only in EndOfRound (one thread, every other waiting) and read after it.
  std::int64_t version_ = 0;
  std::int64_t rounds_ = 0;
  std::int64_t total_ = 0;
  const RunControl* control_ = nullptr;
  bool stop_ = false;
};

// --local-steps H (>= 1, default 1), shared with async-exchange.
const AlgorithmOption& local_steps_option();

// Its registry entry (algorithms/registry.hpp): --local-steps H.
AlgorithmEntry local_sgd_entry();

}  // namespace psgd
