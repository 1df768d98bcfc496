// models/model_flops.hpp — the FLOPs of one training step per sample, from a model's layout: what
// the nightly's model benchmarks (models/bench/model_bench.cpp) and a run's speed_of_light block
// (harness/run/speed_of_light.hpp) divide by the reference GEMM's rate.
#pragma once

#include "models/model.hpp"

namespace psgd {

// Counts the products (multiply + add = 2 FLOPs) of the three GEMMs of every layer: the forward
// pass, the weight gradient and the input gradient, i.e. 2mnk each, 6 x the layer's weights per
// sample, and 4 x for the first layer, whose input gradient the models skip. A convolution's
// weights are used once per output pixel of the convolution (ConvNet::geometry(): padding
// included, the pixels a 2x2 pool drops included, as a framework computes them). Elementwise
// work (bias, activation, pooling, softmax, the apply) is left out, as GEMM-based FLOP counts do.
// S: float or double.
template <class S>
double training_flops_per_sample(const BasicModel<S>& model);

}  // namespace psgd
