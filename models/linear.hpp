// models/linear.hpp — softmax regression ("linear").
//
// It is the Mlp with no hidden layers, so it shares the batched-GEMM code: logits = W * X + b,
// softmax, mean cross-entropy. Parameter layout (num_features = d, num_classes = k):
//   "dense0.weight"  shape {k, d}  row-major {out, in}, offset 0
//   "dense0.bias"    shape {k}     offset k * d
#pragma once

#include <cstddef>
#include <memory>

#include "models/model.hpp"

namespace psgd {

// Softmax regression on num_features inputs. The caller validates the arguments (make_model).
template <class S>
std::unique_ptr<BasicModel<S>> make_linear(std::size_t num_features, int num_classes);

}  // namespace psgd
