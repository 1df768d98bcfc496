// models/mlp.hpp — the multi-layer perceptron, and the dense machinery every model shares.
//
// Activations are column-major matrices with one sample per column (features x batch), so every
// dense layer is one GEMM over the whole batch, Z = W * X + b, in the scalar type S (float or
// double: every class and function here is a template instantiated for both in mlp.cpp), through
// detail::gemm()
// (models/gemm.hpp) on the kernel the stack was built with: the Mlp's on dense_gemm_kernel()
// (OpenBLAS where the build links it, else the builtin one), the convolutional models' dense heads
// on builtin_gemm_kernel() (psgd's own where the target has it, else Eigen's); a product OpenBLAS
// would allocate on runs on the builtin kernel, and one too thin for the own kernel on Eigen's,
// chosen per product when the stack is built. The builtin kernels pack
// into buffers in the Workspace, so a step never allocates. The bias and activation are applied in
// one pass after the product; backward, the activation derivative is applied in the same pass that
// writes dZ, and the first layer's input gradient is never computed.
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

template <class S>
using ColMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class S>
using MatrixMap = Eigen::Map<ColMatrix<S>, Eigen::Unaligned>;
template <class S>
using ConstMatrixMap = Eigen::Map<const ColMatrix<S>, Eigen::Unaligned>;

// z = f(z + bias), bias broadcast over the columns, in one pass.
template <class S>
void add_bias_and_activate(Activation activation, MatrixMap<S> z, const S* bias) noexcept;
// z += bias, broadcast over the columns (the logits: no activation).
template <class S>
void add_bias(MatrixMap<S> z, const S* bias) noexcept;
// out = the sum of the columns of m (rows x cols), added left to right. Unlike Eigen's
// rowwise().sum(), whose vectorised reduction order depends on the data's address, the result
// is the same bits wherever the workspace happens to be allocated.
template <class S>
void row_sums(const ConstMatrixMap<S>& m, S* out) noexcept;

// Turns the stored activation output a = f(z) into dLoss/dz = d .* f'(z), in place, given
// d = dLoss/da; f'(z) is a function of a for both activations.
template <class S>
void backprop_activation(Activation activation, MatrixMap<S> a,
                         const ConstMatrixMap<S>& d) noexcept;

// Replaces the logits (classes x n) by dLoss/dlogits of the mean cross-entropy over n samples,
// softmax(z) - onehot(label), divided by n, in one sweep per column; returns the summed loss.
template <class S>
double softmax_cross_entropy_gradient(MatrixMap<S> logits, const std::int32_t* labels) noexcept;
// Loss sum and arg-max hits over the batch; leaves the logits alone.
template <class S>
EvalSums softmax_cross_entropy_eval(const ConstMatrixMap<S>& logits,
                                    const std::int32_t* labels) noexcept;

// A stack of dense layers widths[0] -> widths[1] -> ... -> widths.back(), the activation after
// every layer but the last, whose outputs are logits. Immutable after construction; its scratch
// space is per worker.
template <class S>
class DenseStack {
 public:
  // first_param: offset of the stack's first weight in theta; first_index names the layers
  // dense<first_index>, dense<first_index+1>, ...; kernel: the GEMM kernel the products run on
  // (per product another where gemm_kernel_for() says so); input_gradient: whether backward() is
  // ever asked for dLoss/dx (a convolutional model's head is, the Mlp never), so that
  // gemm_kernels() names only the kernels of products that run.
  DenseStack(std::vector<std::size_t> widths, Activation activation, std::size_t first_param,
             int first_index, GemmKernel kernel, bool input_gradient);

  struct Scratch {
    std::vector<ColMatrix<S>> out;  // per layer: activation output (the last: logits / dZ)
    ColMatrix<S> delta;             // W^T * dZ, before the activation derivative is applied
    GemmScratch<S> gemm;
  };
  [[nodiscard]] Scratch make_scratch(std::size_t max_batch) const;

  [[nodiscard]] std::size_t num_params() const noexcept { return num_params_; }
  [[nodiscard]] std::size_t in() const noexcept { return widths_.front(); }
  [[nodiscard]] std::size_t out() const noexcept { return widths_.back(); }
  [[nodiscard]] const std::vector<std::size_t>& widths() const noexcept { return widths_; }
  void append_layout(std::vector<ParamBlock>& blocks) const;
  // The kernels the products run on, as the run document's context.gemm records them: one name
  // ("own"), or several joined by '+' in the order openblas, own, eigen ("own+eigen") when some
  // products run on another kernel than the stack's.
  [[nodiscard]] const std::string& gemm_kernels() const noexcept { return gemm_kernels_; }

  // Runs x (in x n) forward; returns the logits (out x n), a view into scratch.
  MatrixMap<S> forward(const S* theta, const S* x, Index n, Scratch& s) const noexcept;
  // Backpropagates the logit gradient left in scratch by softmax_cross_entropy_gradient: writes
  // the stack's parameter gradient into grad (the whole theta-sized vector), and dLoss/dx
  // (in x n) into dx unless dx is null, which skips the first layer's input gradient.
  void backward(const S* theta, const S* x, Index n, S* grad, S* dx, Scratch& s) const noexcept;

 private:
  std::vector<std::size_t> widths_;
  std::vector<std::size_t> weight_offsets_;  // per layer
  std::vector<std::size_t> bias_offsets_;
  // Per layer, the kernel of each of its three products, fixed at construction.
  struct LayerKernels {
    GemmKernel forward;          // Z = W * X: W row-major (Trans), X column-major
    GemmKernel weight_gradient;  // dW^T = X * dZ^T: dZ read row-major (Trans)
    GemmKernel input_gradient;   // W^T * dZ: both column-major (NoTrans x NoTrans)
  };
  std::vector<LayerKernels> kernels_;
  std::string gemm_kernels_;
  Activation activation_;
  std::size_t num_params_ = 0;
  int first_index_;
};

}  // namespace detail

// Softmax regression (no hidden layers, spec "linear") or an MLP "mlp:W1x...xWk" of dense hidden
// layers with ReLU or sigmoid, softmax outputs and mean cross-entropy loss. Immutable and
// thread-safe; each worker needs its own Workspace.
template <class S>
class Mlp final : public BasicModel<S> {
 public:
  Mlp(std::size_t num_features, std::vector<std::size_t> hidden, int num_classes,
      Activation activation);

  [[nodiscard]] std::string spec() const override;
  [[nodiscard]] std::size_t num_params() const override { return stack_.num_params(); }
  [[nodiscard]] std::vector<ParamBlock> layout() const override;
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t max_batch) const override;
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace& ws) const noexcept override;
  EvalSums evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                    Workspace& ws) const noexcept override;
  // The kernels its products run on (model_gemm.hpp).
  [[nodiscard]] const std::string& gemm_kernels() const noexcept { return stack_.gemm_kernels(); }

 private:
  std::vector<std::size_t> hidden_;
  detail::DenseStack<S> stack_;
};

}  // namespace psgd
