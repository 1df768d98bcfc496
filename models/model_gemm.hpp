// models/model_gemm.hpp — which GEMM kernel a model's products run on, as the run document's
// context.gemm records it. The kernel is chosen per model and per product when the model is built
// (models/gemm.hpp): `mlp` and `linear` on the build's fastest (OpenBLAS where linked), the
// convolutional models' dense heads on the builtin kernel (Eigen's, or psgd's own).
#pragma once

#include <string>

#include "models/model.hpp"

namespace psgd {

// "eigen", "own" or "openblas"; "openblas+eigen" (or "openblas+own") when some of the model's
// products fell back from OpenBLAS because it allocates on their shape; empty for a model with
// no products (the test models).
template <class S>
std::string gemm_kernels(const BasicModel<S>& model);

}  // namespace psgd
