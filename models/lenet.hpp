// models/lenet.hpp — LeNet-5's shape ("lenet"), built on the ConvNet engine (models/cnn.hpp).
//
// Two conv blocks (5x5 convolution, activation, 2x2 max-pool) and three dense layers. Images
// smaller than LeNet's native 32x32 in either dimension get 2 pixels of zero padding in the
// first convolution, as LeNet-5 was applied to 28x28 MNIST; larger ones get none.
//
//   28x28x1 (pad 2)                         32x32x3 (no pad)
//   conv0 5x5, 1 -> 6     6x28x28           conv0 5x5, 3 -> 6     6x28x28
//   pool 2x2              6x14x14           pool 2x2              6x14x14
//   conv1 5x5, 6 -> 16    16x10x10          conv1 5x5, 6 -> 16    16x10x10
//   pool 2x2              16x5x5 = 400      pool 2x2              16x5x5 = 400
//   dense0 400 -> 120, dense1 120 -> 84 (activation), dense2 84 -> classes (softmax)
//
// Parameters with 10 classes: 61,706 on 28x28x1 (156 + 2,416 + 48,120 + 10,164 + 850) and
// 62,006 on 32x32x3 (456 for conv0). The layout is the ConvNet one: conv0.weight {6, C, 5, 5},
// conv0.bias {6}, conv1.weight {16, 6, 5, 5}, conv1.bias {16}, dense0.weight {120, 400},
// dense0.bias, dense1.weight {84, 120}, dense1.bias, dense2.weight {classes, 84}, dense2.bias.
// Other sizes work as long as both maps stay at least 2x2 before pooling, i.e. down to 12x12
// (padded); smaller inputs throw ConfigError.
#pragma once

#include <memory>

#include "models/dataset.hpp"
#include "models/model.hpp"
#include "models/model_factory.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicModel<S>> make_lenet(ImageShape input, int num_classes, Activation activation);

}  // namespace psgd
