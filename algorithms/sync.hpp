// algorithms/sync.hpp — `sync`: synchronous parallel SGD.
//
// Rounds of two barrier phases. Compute: every worker computes a gradient at the same theta
// (read-only in this phase). Reduce: every worker averages the N gradients over its own slice of
// the coordinates (sum in worker order, / N) and applies that slice with sgd_apply, so the
// reduction and the update run in parallel and no thread applies the whole vector. One round is
// one applied update with an effective batch of N x b; worker 0 counts it. The second barrier's
// completion step (one thread, all others waiting) advances the version and decides whether to
// stop (budget spent, or the run's stop flag), so every worker leaves after the same round and
// none waits forever. Worker 0 takes a due checkpoint snapshot during the next compute phase,
// while theta is consistent and only read.
// Progress: blocking (every round waits for the slowest worker). Every read sees exactly the
// updates of all earlier rounds: staleness 0.
// With one worker the average is the gradient itself (x / 1 is exact), so the run matches seq.
// Paper: synchronous parallel (mini-batch) SGD, the baseline of the reference framework
// (`-a SYNC`; there one thread applies the N scaled gradients serially, here the reduction is
// sliced across the workers).
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
class SyncSgd final : public BasicAlgorithm<S> {
 public:
  SyncSgd() = default;
  ~SyncSgd() override;
  SyncSgd(const SyncSgd&) = delete;
  SyncSgd& operator=(const SyncSgd&) = delete;

  [[nodiscard]] std::string_view name() const override { return "sync"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  [[nodiscard]] nlohmann::json report() const override;

 private:
  // The second barrier's completion step: advances the round and decides whether to stop.
  struct EndOfRound {
    SyncSgd* self;
    void operator()() noexcept;
  };
  // One per worker, each on its own line: the gradient buffer it publishes and its last loss.
  struct alignas(kNoFalseSharing) Slot {
    const S* grad = nullptr;
    S loss = 0;
  };
  // True when every worker's loss of this round is finite (read-only between the barriers).
  [[nodiscard]] bool round_finite() const noexcept;

  SharedArray<S> theta_;
  // The workers' gradients, one slice of theta_.size() values each, written in the compute phase
  // by their owner and read by every worker in the reduce phase: shared storage, placed by
  // --memory like theta.
  SharedArray<S> gradients_;
  S step_ = 0;
  int num_workers_ = 1;
  std::size_t batch_size_ = 0;
  std::vector<Slot> slots_;
  std::unique_ptr<std::barrier<>> gradients_ready_;
  std::unique_ptr<std::barrier<EndOfRound>> round_done_;
  // Written only in EndOfRound (one thread, while every other worker waits in the barrier) and
  // read after it: the barrier orders both.
  std::int64_t version_ = 0;
  std::int64_t total_ = 0;
  const RunControl* control_ = nullptr;
  bool stop_ = false;
};

// Its registry entry (algorithms/registry.hpp): no options.
AlgorithmEntry sync_entry();

}  // namespace psgd
