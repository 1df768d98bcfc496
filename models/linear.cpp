// models/linear.cpp — softmax regression as an MLP without hidden layers.
#include "models/linear.hpp"

#include "models/mlp.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicModel<S>> make_linear(std::size_t num_features, int num_classes) {
  // The activation is never applied: there is no hidden layer.
  return std::make_unique<Mlp<S>>(num_features, std::vector<std::size_t>{}, num_classes,
                                  Activation::kRelu);
}

template std::unique_ptr<BasicModel<float>> make_linear(std::size_t, int);
template std::unique_ptr<BasicModel<double>> make_linear(std::size_t, int);

}  // namespace psgd
