// models/model_gemm.cpp — the GEMM kernels of a model (model_gemm.hpp). A query outside the
// BasicModel contract, since only the two model families that multiply have an answer.
#include "models/model_gemm.hpp"

#include "models/cnn.hpp"
#include "models/mlp.hpp"

namespace psgd {

template <class S>
std::string gemm_kernels(const BasicModel<S>& model) {
  if (const auto* mlp = dynamic_cast<const Mlp<S>*>(&model)) return mlp->gemm_kernels();
  if (const auto* net = dynamic_cast<const ConvNet<S>*>(&model)) return net->gemm_kernels();
  return {};
}

template std::string gemm_kernels(const BasicModel<float>&);
template std::string gemm_kernels(const BasicModel<double>&);

}  // namespace psgd
