// algorithms/seq.hpp — sequential mini-batch SGD, the baseline of every comparison.
//
// One worker, no shared state, no synchronisation: theta <- theta - step * grad(theta, batch).
// Progress: trivially wait-free. A read always sees every earlier update (staleness 0).
// Every parallel algorithm run with one thread must reproduce this bit for bit.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"

namespace psgd {

class SequentialSgd final : public Algorithm {
 public:
  [[nodiscard]] std::string_view name() const override { return "seq"; }
  void init(std::span<const float> theta0, const TrainingSetup& setup) override;
  void run_worker(WorkerContext& ctx) noexcept override;
  void read_params(std::span<float> out) const override;

 private:
  SharedArray<float> theta_;
  float step_ = 0.0F;
};

// Its registry entry (algorithms/registry.hpp): one thread, no options.
AlgorithmEntry seq_entry();

}  // namespace psgd
