// models/mlp.cpp — dense layers as batched GEMMs, softmax cross-entropy, and the Mlp model.
#include "models/mlp.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "models/test_slowdown.hpp"

namespace psgd {
namespace detail {

namespace {
template <class S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
}  // namespace

template <class S>
void add_bias_and_activate(Activation activation, MatrixMap<S> z, const S* bias) noexcept {
  const Eigen::Map<const Vector<S>> b(bias, z.rows());
  if (activation == Activation::kRelu) {
    z = (z.colwise() + b).cwiseMax(S{0});
  } else {
    z = (S{1} + (-(z.colwise() + b).array()).exp()).inverse().matrix();
  }
}

template <class S>
void add_bias(MatrixMap<S> z, const S* bias) noexcept {
  z.colwise() += Eigen::Map<const Vector<S>>(bias, z.rows());
}

template <class S>
void row_sums(const ConstMatrixMap<S>& m, S* out) noexcept {
  Eigen::Map<Vector<S>> sum(out, m.rows());
  sum = m.col(0);
  for (Index j = 1; j < m.cols(); ++j) sum += m.col(j);
}

template <class S>
void backprop_activation(Activation activation, MatrixMap<S> a,
                         const ConstMatrixMap<S>& d) noexcept {
  if (activation == Activation::kRelu) {
    // Where the ReLU output is 0 the unit was off (or exactly at the kink, where we take 0).
    a.array() = (a.array() > S{0}).select(d.array(), S{0});
  } else {
    a.array() = d.array() * a.array() * (S{1} - a.array());
  }
}

template <class S>
double softmax_cross_entropy_gradient(MatrixMap<S> logits, const std::int32_t* labels) noexcept {
  const Index classes = logits.rows();
  const Index n = logits.cols();
  const S inv_n = S{1} / static_cast<S>(n);
  double loss_sum = 0.0;
  for (Index j = 0; j < n; ++j) {
    S* z = logits.col(j).data();
    const S max = *std::max_element(z, z + classes);
    const Index y = labels[j];
    assert(y >= 0 && y < classes);
    const S shifted_label_logit = z[y] - max;
    S sum = 0;
    for (Index c = 0; c < classes; ++c) {
      z[c] = std::exp(z[c] - max);
      sum += z[c];
    }
    // loss = log(sum_c exp(z_c - max)) - (z_y - max); never log of an underflowed exp.
    loss_sum += static_cast<double>(std::log(sum) - shifted_label_logit);
    const S scale = inv_n / sum;
    for (Index c = 0; c < classes; ++c) z[c] *= scale;
    z[y] -= inv_n;
  }
  return loss_sum;
}

template <class S>
EvalSums softmax_cross_entropy_eval(const ConstMatrixMap<S>& logits,
                                    const std::int32_t* labels) noexcept {
  const Index classes = logits.rows();
  EvalSums sums;
  for (Index j = 0; j < logits.cols(); ++j) {
    const S* z = logits.col(j).data();
    const Index best = std::max_element(z, z + classes) - z;  // the first maximum on ties
    const S max = z[best];
    S sum = 0;
    for (Index c = 0; c < classes; ++c) sum += std::exp(z[c] - max);
    const Index y = labels[j];
    assert(y >= 0 && y < classes);
    sums.loss_sum += static_cast<double>(std::log(sum) - (z[y] - max));
    sums.correct += best == y ? 1 : 0;
  }
  sums.count = logits.cols();
  return sums;
}

template <class S>
DenseStack<S>::DenseStack(std::vector<std::size_t> widths, Activation activation,
                          std::size_t first_param, int first_index, GemmKernel kernel,
                          bool input_gradient)
    : widths_(std::move(widths)), activation_(activation), first_index_(first_index) {
  assert(widths_.size() >= 2);
  std::size_t offset = first_param;
  GemmKernelsUsed used;
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    weight_offsets_.push_back(offset);
    offset += widths_[l + 1] * widths_[l];
    bias_offsets_.push_back(offset);
    offset += widths_[l + 1];
    // The shapes and operands (strides only) of the three gemm() calls in forward() and
    // backward(); the weight gradient's depth is the batch, not known here.
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    const S* none = nullptr;
    const LayerKernels k{
        gemm_kernel_for(kernel, out, in, row_major(none, in), col_major(none, in)),
        gemm_kernel_for(kernel, in, kAnyDepth, col_major(none, in), row_major(none, out)),
        gemm_kernel_for(kernel, in, out, col_major(none, in), col_major(none, out))};
    used.add(k.forward);
    used.add(k.weight_gradient);
    if (l > 0 || input_gradient) used.add(k.input_gradient);
    kernels_.push_back(k);
  }
  num_params_ = offset - first_param;
  gemm_kernels_ = used.names();
}

template <class S>
void DenseStack<S>::append_layout(std::vector<ParamBlock>& blocks) const {
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    const std::string name = "dense" + std::to_string(first_index_ + static_cast<int>(l));
    const auto in = static_cast<std::int64_t>(widths_[l]);
    const auto out = static_cast<std::int64_t>(widths_[l + 1]);
    blocks.push_back(
        {name + ".weight", {out, in}, weight_offsets_[l], widths_[l], widths_[l + 1], false});
    blocks.push_back({name + ".bias", {out}, bias_offsets_[l], widths_[l], widths_[l + 1], true});
  }
}

template <class S>
typename DenseStack<S>::Scratch DenseStack<S>::make_scratch(std::size_t max_batch) const {
  Scratch s;
  const auto batch = static_cast<Index>(max_batch);
  Index widest = 0;
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    widest = std::max(widest, in);
    s.out.emplace_back(out, batch);
  }
  s.delta.resize(widest, batch);
  return s;
}

template <class S>
MatrixMap<S> DenseStack<S>::forward(const S* theta, const S* x, Index n,
                                    Scratch& s) const noexcept {
  const S* input = x;
  const std::size_t layers = widths_.size() - 1;
  for (std::size_t l = 0; l < layers; ++l) {
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    MatrixMap<S> z(s.out[l].data(), out, n);
    gemm(kernels_[l].forward, out, n, in, row_major(theta + weight_offsets_[l], in),
         col_major(input, in), z.data(), out, false, s.gemm);
    if (l + 1 < layers) {
      add_bias_and_activate(activation_, z, theta + bias_offsets_[l]);
    } else {
      add_bias(z, theta + bias_offsets_[l]);
    }
    input = z.data();
  }
  return {s.out[layers - 1].data(), static_cast<Index>(out()), n};
}

template <class S>
void DenseStack<S>::backward(const S* theta, const S* x, Index n, S* grad, S* dx,
                             Scratch& s) const noexcept {
  for (std::size_t l = widths_.size() - 1; l-- > 0;) {
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    const MatrixMap<S> dz(s.out[l].data(), out, n);  // dLoss/dZ of this layer
    const S* input = l == 0 ? x : s.out[l - 1].data();

    // dW = dZ * X^T, written as its transpose X * dZ^T: a column-major in x out matrix is the
    // row-major {out, in} layout of theta. dZ^T is dZ read row-major.
    gemm(kernels_[l].weight_gradient, in, out, n, col_major(input, in), row_major(dz.data(), out),
         grad + weight_offsets_[l], in, false, s.gemm);
    row_sums(ConstMatrixMap<S>(dz.data(), out, n), grad + bias_offsets_[l]);

    S* target = l == 0 ? dx : s.delta.data();
    if (target == nullptr) continue;  // the data needs no gradient
    MatrixMap<S> d(target, in, n);
    // W^T, with W row-major {out, in}, is a column-major in x out matrix.
    gemm(kernels_[l].input_gradient, in, n, out, col_major(theta + weight_offsets_[l], in),
         col_major(dz.data(), out), d.data(), in, false, s.gemm);
    if (l > 0) {
      // dZ of the layer below replaces its activation output, which is no longer needed.
      backprop_activation(activation_, MatrixMap<S>(s.out[l - 1].data(), in, n),
                          ConstMatrixMap<S>(d.data(), in, n));
    }
  }
}

template void add_bias_and_activate(Activation, MatrixMap<float>, const float*) noexcept;
template void add_bias(MatrixMap<float>, const float*) noexcept;
template void row_sums(const ConstMatrixMap<float>&, float*) noexcept;
template void backprop_activation(Activation, MatrixMap<float>,
                                  const ConstMatrixMap<float>&) noexcept;
template double softmax_cross_entropy_gradient(MatrixMap<float>, const std::int32_t*) noexcept;
template EvalSums softmax_cross_entropy_eval(const ConstMatrixMap<float>&,
                                             const std::int32_t*) noexcept;
template class DenseStack<float>;
template void add_bias_and_activate(Activation, MatrixMap<double>, const double*) noexcept;
template void add_bias(MatrixMap<double>, const double*) noexcept;
template void row_sums(const ConstMatrixMap<double>&, double*) noexcept;
template void backprop_activation(Activation, MatrixMap<double>,
                                  const ConstMatrixMap<double>&) noexcept;
template double softmax_cross_entropy_gradient(MatrixMap<double>, const std::int32_t*) noexcept;
template EvalSums softmax_cross_entropy_eval(const ConstMatrixMap<double>&,
                                             const std::int32_t*) noexcept;
template class DenseStack<double>;

}  // namespace detail

namespace {

template <class S>
class MlpWorkspace final : public Workspace {
 public:
  MlpWorkspace(const detail::DenseStack<S>& stack, std::size_t batch)
      : max_batch(batch), scratch(stack.make_scratch(batch)) {}
  std::size_t max_batch;
  typename detail::DenseStack<S>::Scratch scratch;
};

std::vector<std::size_t> mlp_widths(std::size_t num_features,
                                    const std::vector<std::size_t>& hidden, int num_classes) {
  std::vector<std::size_t> widths{num_features};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(static_cast<std::size_t>(num_classes));
  return widths;
}

}  // namespace

template <class S>
Mlp<S>::Mlp(std::size_t num_features, std::vector<std::size_t> hidden, int num_classes,
            Activation activation)
    : hidden_(std::move(hidden)),
      stack_(mlp_widths(num_features, hidden_, num_classes), activation, 0, 0,
             detail::dense_gemm_kernel(), /*input_gradient=*/false) {}

template <class S>
std::string Mlp<S>::spec() const {
  if (hidden_.empty()) return "linear";
  std::string s = "mlp:";
  for (std::size_t i = 0; i < hidden_.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(hidden_[i]);
  }
  return s;
}

template <class S>
std::vector<ParamBlock> Mlp<S>::layout() const {
  std::vector<ParamBlock> blocks;
  stack_.append_layout(blocks);
  return blocks;
}

template <class S>
std::unique_ptr<Workspace> Mlp<S>::make_workspace(std::size_t max_batch) const {
  return std::make_unique<MlpWorkspace<S>>(stack_, max_batch);
}

template <class S>
S Mlp<S>::loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                            Workspace& ws) const noexcept {
  [[maybe_unused]] const detail::TestSlowdown slowdown;  // empty unless PSGD_TEST_SLOWDOWN_PERCENT
  auto& w = static_cast<MlpWorkspace<S>&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  assert(batch.num_features == stack_.in() && theta.size() == num_params() &&
         grad.size() == num_params());
  const auto n = static_cast<detail::Index>(batch.size);
  const detail::MatrixMap<S> logits = stack_.forward(theta.data(), batch.features, n, w.scratch);
  const double loss_sum = detail::softmax_cross_entropy_gradient(logits, batch.labels);
  stack_.backward(theta.data(), batch.features, n, grad.data(), nullptr, w.scratch);
  return static_cast<S>(loss_sum / static_cast<double>(n));
}

template <class S>
EvalSums Mlp<S>::evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                          Workspace& ws) const noexcept {
  auto& w = static_cast<MlpWorkspace<S>&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  const auto n = static_cast<detail::Index>(batch.size);
  const detail::MatrixMap<S> logits = stack_.forward(theta.data(), batch.features, n, w.scratch);
  return detail::softmax_cross_entropy_eval(
      detail::ConstMatrixMap<S>(logits.data(), logits.rows(), logits.cols()), batch.labels);
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace psgd
