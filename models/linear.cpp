// models/linear.cpp — softmax regression as an MLP without hidden layers.
#include "models/linear.hpp"

#include "models/mlp.hpp"

namespace psgd {

std::unique_ptr<Model> make_linear(std::size_t num_features, int num_classes) {
  // The activation is never applied: there is no hidden layer.
  return std::make_unique<Mlp>(num_features, std::vector<std::size_t>{}, num_classes,
                               Activation::kRelu);
}

}  // namespace psgd
