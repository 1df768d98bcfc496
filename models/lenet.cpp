// models/lenet.cpp — LeNet-5's shape as a ConvNet.
#include "models/lenet.hpp"

#include <vector>

#include "models/cnn.hpp"

namespace psgd {

std::unique_ptr<Model> make_lenet(ImageShape input, int num_classes, Activation activation) {
  // LeNet-5 expects 32x32 inputs; padding smaller images by 2 restores its 28x28 first map.
  constexpr int kNativeSize = 32;
  const int pad = input.height < kNativeSize || input.width < kNativeSize ? 2 : 0;
  return std::make_unique<ConvNet>("lenet", input,
                                   std::vector<ConvBlockSpec>{{6, 5, pad}, {16, 5, 0}},
                                   std::vector<std::size_t>{120, 84}, num_classes, activation);
}

}  // namespace psgd
