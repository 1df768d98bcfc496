// models/cnn.hpp — small convolutional networks: the reference framework's "cnn", and the
// ConvNet engine it shares with "lenet" (models/lenet.hpp).
//
// A ConvNet is a chain of conv blocks, each a stride-1 convolution (zero padding `pad`), the
// activation, and a 2x2 max-pool with stride 2 that drops an odd last row/column (floor), then
// dense layers with the activation and a softmax output, trained on mean cross-entropy.
// Convolutions are direct, not im2col + GEMM (models/conv/conv_kernels.hpp): with 1-16 channels
// a patch matrix costs more to build and pack than to multiply. Feature maps are "planar,
// batch-minor" (one plane per channel, the n samples of a pixel side by side), so convolution,
// bias, activation and pooling run in one pass vectorised over output positions and samples; the
// backward pass keeps only the pooled values and the pool's argmax from the forward one. The
// dense layers are GEMMs (models/mlp.hpp). The input batch itself is CHW, as Batch says.
// Measured (docs/performance.md#convolutional-models): cnn 138k samples/s at batch 128 on one
// AVX-512 core, 43% of the reference GEMM's rate in the same run, where im2col + GEMM did 20.5k.
//
// "cnn" on C x H x W inputs (28x28x1 gives the numbers in brackets):
//   conv0  3x3, C -> 4, valid       4 x (H-2) x (W-2)          [4x26x26]
//   pool   2x2                      4 x (H-2)/2 x (W-2)/2      [4x13x13]
//   conv1  3x3, 4 -> 8, valid       8 x ...                    [8x11x11]
//   pool   2x2 (floor)                                         [8x5x5 = 200]
//   dense0 200 -> 128, activation;  dense1 128 -> classes, softmax
// It needs H, W >= 10. Parameters on 28x28x1 with 10 classes: 40 + 296 + 25,728 + 1,290 = 27,354.
//
// Parameter layout of a ConvNet, in order (offsets follow one another without gaps):
//   "conv<i>.weight"   {out_c, in_c, kh, kw}  row-major, i.e. a row-major out_c x (in_c*kh*kw)
//   "conv<i>.bias"     {out_c}
//   "dense<j>.weight"  {out, in}              row-major; dense0's inputs are the last pooled
//                                             map flattened in CHW order (c*H*W + y*W + x)
//   "dense<j>.bias"    {out}
// He and Glorot use fan_in = in_c*kh*kw and fan_out = out_c*kh*kw for convolutions.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/conv/conv_kernels.hpp"
#include "models/dataset.hpp"
#include "models/mlp.hpp"
#include "models/model.hpp"
#include "models/model_factory.hpp"

namespace psgd {

// One conv block: stride-1 convolution, activation, 2x2/2 max-pool (floor).
struct ConvBlockSpec {
  int out_channels = 1;
  int kernel = 3;  // square kernel size
  int pad = 0;     // zeros added on every side
};

// Immutable and thread-safe; each worker needs its own Workspace. S is the scalar type of theta,
// the gradient and every feature map (float or double: instantiated for both in cnn.cpp).
template <class S>
class ConvNet final : public BasicModel<S> {
 public:
  // Throws ConfigError when the input is too small for the blocks (a map would vanish).
  ConvNet(std::string spec, ImageShape input, std::vector<ConvBlockSpec> blocks,
          std::vector<std::size_t> dense_hidden, int num_classes, Activation activation);

  [[nodiscard]] std::string spec() const override { return spec_; }
  [[nodiscard]] std::size_t num_params() const override { return num_params_; }
  [[nodiscard]] std::vector<ParamBlock> layout() const override;
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t max_batch) const override;
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace& ws) const noexcept override;
  EvalSums evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                    Workspace& ws) const noexcept override;
  // The kernels its dense head's products run on (model_gemm.hpp).
  [[nodiscard]] const std::string& gemm_kernels() const noexcept { return dense_->gemm_kernels(); }

  // Shape of conv block i's pooled output (what feeds block i+1 or the dense layers).
  [[nodiscard]] ImageShape pooled_shape(std::size_t i) const;

  struct Geometry {  // one conv block, derived from the spec and the input shape
    int in_c, in_h, in_w, out_c, kernel, pad;
    int conv_h, conv_w;  // convolution output
    int pool_h, pool_w;  // after the 2x2 max-pool
    std::size_t weight_offset, bias_offset;
    [[nodiscard]] std::size_t patch() const noexcept;      // in_c * kernel^2
    [[nodiscard]] std::size_t conv_area() const noexcept;  // conv_h * conv_w
    [[nodiscard]] std::size_t pool_area() const noexcept;  // pool_h * pool_w
  };
  // The conv blocks' geometry, in order (the benchmarks count FLOPs from it).
  [[nodiscard]] const std::vector<Geometry>& geometry() const noexcept { return blocks_; }

 private:
  class ConvWorkspace;
  [[nodiscard]] detail::conv::ConvShape shape(std::size_t i, std::size_t n) const noexcept;
  // Block i's input planes (with its zero border), and its pooled output planes: the next
  // block's input inside that block's border, or the last pooled map.
  detail::conv::Planes<S> input_planes(std::size_t i, ConvWorkspace& w,
                                       std::size_t n) const noexcept;
  detail::conv::Planes<S> pooled_planes(std::size_t i, ConvWorkspace& w,
                                        std::size_t n) const noexcept;
  // The batch's samples into block 0's input planes x0 (inside its zero border).
  void scatter_input(const BasicBatch<S>& batch, detail::conv::Planes<S> x0) const noexcept;
  void forward(const S* theta, const BasicBatch<S>& batch, ConvWorkspace& w) const noexcept;
  // Block i's backward pass, given its pooled gradient: bias and weight gradients into grad, and
  // (i > 0) the pooled gradient of block i - 1.
  void backward_block(std::size_t i, const S* theta, S* grad, ConvWorkspace& w,
                      std::size_t n) const noexcept;

  std::string spec_;
  ImageShape input_;
  Activation activation_;
  std::vector<Geometry> blocks_;
  std::size_t num_params_ = 0;
  std::unique_ptr<detail::DenseStack<S>> dense_;
};

// The reference framework's small CNN (shapes above). Throws ConfigError for inputs under 10x10.
template <class S>
std::unique_ptr<BasicModel<S>> make_cnn(ImageShape input, int num_classes, Activation activation);

}  // namespace psgd
