// models/mlp.hpp — the multi-layer perceptron, and the dense machinery every model shares.
//
// Activations are column-major matrices with one sample per column (features x batch), so every
// dense layer is one GEMM over the whole batch, Z = W * X + b, in float, through detail::gemm()
// (models/gemm.hpp): Eigen's GEMM kernel by default (psgd's own AVX2/FMA kernel with
// -DPSGD_OWN_GEMM=ON), blocked and packed into buffers in the Workspace, so a step never
// allocates. The bias and activation are applied in one pass after the product; backward, the
// activation derivative is applied in the same pass that writes dZ, and the first layer's input
// gradient is never computed.
//
// Parameter layout of Mlp with widths d0 (inputs), d1..dk (hidden), d(k+1) (classes), for layer
// i = 0..k in order:
//   "dense<i>.weight"  shape {d(i+1), d(i)}  row-major {out, in}: W[o][j] at offset + o*d(i) + j
//   "dense<i>.bias"    shape {d(i+1)}
// gemm() reads W in place through strides. Storing W transposed (column-major {out, in}) was
// measured and is no faster (the forward product runs at the same rate either way, since gemm()
// packs both operands), so theta keeps model.hpp's row-major {out, in} convention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/eigen.hpp"
#include "models/gemm.hpp"
#include "models/model.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace detail {

using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using MatrixMap = Eigen::Map<ColMatrix, Eigen::Unaligned>;
using ConstMatrixMap = Eigen::Map<const ColMatrix, Eigen::Unaligned>;

// z = f(z + bias), bias broadcast over the columns, in one pass.
void add_bias_and_activate(Activation activation, MatrixMap z, const float* bias) noexcept;
// z += bias, broadcast over the columns (the logits: no activation).
void add_bias(MatrixMap z, const float* bias) noexcept;
// out = the sum of the columns of m (rows x cols), added left to right. Unlike Eigen's
// rowwise().sum(), whose vectorised reduction order depends on the data's address, the result
// is the same bits wherever the workspace happens to be allocated.
void row_sums(const ConstMatrixMap& m, float* out) noexcept;

// Turns the stored activation output a = f(z) into dLoss/dz = d .* f'(z), in place, given
// d = dLoss/da; f'(z) is a function of a for both activations.
void backprop_activation(Activation activation, MatrixMap a, const ConstMatrixMap& d) noexcept;

// Replaces the logits (classes x n) by dLoss/dlogits of the mean cross-entropy over n samples,
// softmax(z) - onehot(label), divided by n, in one sweep per column; returns the summed loss.
double softmax_cross_entropy_gradient(MatrixMap logits, const std::int32_t* labels) noexcept;
// Loss sum and arg-max hits over the batch; leaves the logits alone.
EvalSums softmax_cross_entropy_eval(const ConstMatrixMap& logits,
                                    const std::int32_t* labels) noexcept;

// A stack of dense layers widths[0] -> widths[1] -> ... -> widths.back(), the activation after
// every layer but the last, whose outputs are logits. Immutable after construction; its scratch
// space is per worker.
class DenseStack {
 public:
  // first_param: offset of the stack's first weight in theta; first_index names the layers
  // dense<first_index>, dense<first_index+1>, ...
  DenseStack(std::vector<std::size_t> widths, Activation activation, std::size_t first_param,
             int first_index);

  struct Scratch {
    std::vector<ColMatrix> out;  // per layer: activation output (the last: logits / dZ)
    ColMatrix delta;             // W^T * dZ, before the activation derivative is applied
    GemmScratch gemm;
  };
  [[nodiscard]] Scratch make_scratch(std::size_t max_batch) const;

  [[nodiscard]] std::size_t num_params() const noexcept { return num_params_; }
  [[nodiscard]] std::size_t in() const noexcept { return widths_.front(); }
  [[nodiscard]] std::size_t out() const noexcept { return widths_.back(); }
  [[nodiscard]] const std::vector<std::size_t>& widths() const noexcept { return widths_; }
  void append_layout(std::vector<ParamBlock>& blocks) const;

  // Runs x (in x n) forward; returns the logits (out x n), a view into scratch.
  MatrixMap forward(const float* theta, const float* x, Index n, Scratch& s) const noexcept;
  // Backpropagates the logit gradient left in scratch by softmax_cross_entropy_gradient: writes
  // the stack's parameter gradient into grad (the whole theta-sized vector), and dLoss/dx
  // (in x n) into dx unless dx is null, which skips the first layer's input gradient.
  void backward(const float* theta, const float* x, Index n, float* grad, float* dx,
                Scratch& s) const noexcept;

 private:
  std::vector<std::size_t> widths_;
  std::vector<std::size_t> weight_offsets_;  // per layer
  std::vector<std::size_t> bias_offsets_;
  Activation activation_;
  std::size_t num_params_ = 0;
  int first_index_;
};

}  // namespace detail

// Softmax regression (no hidden layers, spec "linear") or an MLP "mlp:W1x...xWk" of dense hidden
// layers with ReLU or sigmoid, softmax outputs and mean cross-entropy loss. Immutable and
// thread-safe; each worker needs its own Workspace.
class Mlp final : public Model {
 public:
  Mlp(std::size_t num_features, std::vector<std::size_t> hidden, int num_classes,
      Activation activation);

  [[nodiscard]] std::string spec() const override;
  [[nodiscard]] std::size_t num_params() const override { return stack_.num_params(); }
  [[nodiscard]] std::vector<ParamBlock> layout() const override;
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t max_batch) const override;
  float loss_and_gradient(std::span<const float> theta, const Batch& batch, std::span<float> grad,
                          Workspace& ws) const noexcept override;
  EvalSums evaluate(std::span<const float> theta, const Batch& batch,
                    Workspace& ws) const noexcept override;

 private:
  std::vector<std::size_t> hidden_;
  detail::DenseStack stack_;
};

}  // namespace psgd
