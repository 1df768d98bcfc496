// harness/run/evaluation.hpp — evaluates parameter snapshots after training, so evaluation never
// competes with the timed loop for cores.
#pragma once

#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd {

struct EvalPoint {
  double train_loss = 0.0;     // mean cross-entropy on the evaluation subset of the train split
  double test_loss = 0.0;      // mean cross-entropy on the whole test split
  double test_accuracy = 0.0;  // fraction of test samples classified correctly
};

// Mean loss and accuracy of `params` on the first `max_samples` samples of `data` (0 = all).
// S: float or double (--precision; instantiated in evaluation.cpp): the model's own precision.
template <class S>
EvalPoint evaluate_params(const BasicModel<S>& model,
                          std::span<const std::type_identity_t<S>> params, const DataSplit& data,
                          std::size_t max_samples);

// Evaluates every parameter vector in `snapshots` on up to `threads` threads.
template <class S>
std::vector<EvalPoint> evaluate_all(const BasicModel<S>& model,
                                    const std::vector<std::span<const S>>& snapshots,
                                    const DataSplit& data, std::size_t max_samples, int threads);

}  // namespace psgd
