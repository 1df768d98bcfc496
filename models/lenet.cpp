// models/lenet.cpp — LeNet-5's shape as a ConvNet.
#include "models/lenet.hpp"

#include <vector>

#include "models/cnn.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicModel<S>> make_lenet(ImageShape input, int num_classes,
                                          Activation activation) {
  // LeNet-5 expects 32x32 inputs; padding smaller images by 2 restores its 28x28 first map.
  constexpr int kNativeSize = 32;
  const int pad = input.height < kNativeSize || input.width < kNativeSize ? 2 : 0;
  return std::make_unique<ConvNet<S>>("lenet", input,
                                      std::vector<ConvBlockSpec>{{6, 5, pad}, {16, 5, 0}},
                                      std::vector<std::size_t>{120, 84}, num_classes, activation);
}

template std::unique_ptr<BasicModel<float>> make_lenet(ImageShape, int, Activation);
template std::unique_ptr<BasicModel<double>> make_lenet(ImageShape, int, Activation);

}  // namespace psgd
