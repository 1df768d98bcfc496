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

// S: the scalar type (--precision); instantiated for float and double in seq.cpp.
template <class S = float>
class SequentialSgd final : public BasicAlgorithm<S> {
 public:
  [[nodiscard]] std::string_view name() const override { return "seq"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;

 private:
  SharedArray<S> theta_;
  S step_ = 0;
};

// Its registry entry (algorithms/registry.hpp): one thread, no options.
AlgorithmEntry seq_entry();

}  // namespace psgd
