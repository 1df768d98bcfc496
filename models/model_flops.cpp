// models/model_flops.cpp — FLOPs per training sample from the layout (model_flops.hpp).
#include "models/model_flops.hpp"

#include "models/cnn.hpp"

namespace psgd {

template <class S>
double training_flops_per_sample(const BasicModel<S>& model) {
  const auto* convnet = dynamic_cast<const ConvNet<S>*>(&model);
  double flops = 0.0;
  std::size_t conv = 0;
  bool first = true;
  for (const ParamBlock& block : model.layout()) {
    if (block.is_bias) continue;
    double uses = static_cast<double>(block.size());  // multiply-adds per sample in one pass
    if (block.shape.size() == 4 && convnet != nullptr) {
      uses *= static_cast<double>(convnet->geometry().at(conv++).conv_area());
    }
    flops += (first ? 4.0 : 6.0) * uses;
    first = false;
  }
  return flops;
}

template double training_flops_per_sample<float>(const BasicModel<float>&);
template double training_flops_per_sample<double>(const BasicModel<double>&);

}  // namespace psgd
