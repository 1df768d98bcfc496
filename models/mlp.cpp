// models/mlp.cpp — dense layers as batched GEMMs, softmax cross-entropy, and the Mlp model.
#include "models/mlp.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace psgd {
namespace detail {

void add_bias_and_activate(Activation activation, MatrixMap z, const float* bias) noexcept {
  const Eigen::Map<const Eigen::VectorXf> b(bias, z.rows());
  if (activation == Activation::kRelu) {
    z = (z.colwise() + b).cwiseMax(0.0F);
  } else {
    z = (1.0F + (-(z.colwise() + b).array()).exp()).inverse().matrix();
  }
}

void add_bias(MatrixMap z, const float* bias) noexcept {
  z.colwise() += Eigen::Map<const Eigen::VectorXf>(bias, z.rows());
}

void row_sums(const ConstMatrixMap& m, float* out) noexcept {
  Eigen::Map<Eigen::VectorXf> sum(out, m.rows());
  sum = m.col(0);
  for (Index j = 1; j < m.cols(); ++j) sum += m.col(j);
}

void backprop_activation(Activation activation, MatrixMap a, const ConstMatrixMap& d) noexcept {
  if (activation == Activation::kRelu) {
    // Where the ReLU output is 0 the unit was off (or exactly at the kink, where we take 0).
    a.array() = (a.array() > 0.0F).select(d.array(), 0.0F);
  } else {
    a.array() = d.array() * a.array() * (1.0F - a.array());
  }
}

double softmax_cross_entropy_gradient(MatrixMap logits, const std::int32_t* labels) noexcept {
  const Index classes = logits.rows();
  const Index n = logits.cols();
  const float inv_n = 1.0F / static_cast<float>(n);
  double loss_sum = 0.0;
  for (Index j = 0; j < n; ++j) {
    float* z = logits.col(j).data();
    const float max = *std::max_element(z, z + classes);
    const Index y = labels[j];
    assert(y >= 0 && y < classes);
    const float shifted_label_logit = z[y] - max;
    float sum = 0.0F;
    for (Index c = 0; c < classes; ++c) {
      z[c] = std::exp(z[c] - max);
      sum += z[c];
    }
    // loss = log(sum_c exp(z_c - max)) - (z_y - max); never log of an underflowed exp.
    loss_sum += static_cast<double>(std::log(sum) - shifted_label_logit);
    const float scale = inv_n / sum;
    for (Index c = 0; c < classes; ++c) z[c] *= scale;
    z[y] -= inv_n;
  }
  return loss_sum;
}

EvalSums softmax_cross_entropy_eval(const ConstMatrixMap& logits,
                                    const std::int32_t* labels) noexcept {
  const Index classes = logits.rows();
  EvalSums sums;
  for (Index j = 0; j < logits.cols(); ++j) {
    const float* z = logits.col(j).data();
    const Index best = std::max_element(z, z + classes) - z;  // the first maximum on ties
    const float max = z[best];
    float sum = 0.0F;
    for (Index c = 0; c < classes; ++c) sum += std::exp(z[c] - max);
    const Index y = labels[j];
    assert(y >= 0 && y < classes);
    sums.loss_sum += static_cast<double>(std::log(sum) - (z[y] - max));
    sums.correct += best == y ? 1 : 0;
  }
  sums.count = logits.cols();
  return sums;
}

DenseStack::DenseStack(std::vector<std::size_t> widths, Activation activation,
                       std::size_t first_param, int first_index)
    : widths_(std::move(widths)), activation_(activation), first_index_(first_index) {
  assert(widths_.size() >= 2);
  std::size_t offset = first_param;
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    weight_offsets_.push_back(offset);
    offset += widths_[l + 1] * widths_[l];
    bias_offsets_.push_back(offset);
    offset += widths_[l + 1];
  }
  num_params_ = offset - first_param;
}

void DenseStack::append_layout(std::vector<ParamBlock>& blocks) const {
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    const std::string name = "dense" + std::to_string(first_index_ + static_cast<int>(l));
    const auto in = static_cast<std::int64_t>(widths_[l]);
    const auto out = static_cast<std::int64_t>(widths_[l + 1]);
    blocks.push_back(
        {name + ".weight", {out, in}, weight_offsets_[l], widths_[l], widths_[l + 1], false});
    blocks.push_back({name + ".bias", {out}, bias_offsets_[l], widths_[l], widths_[l + 1], true});
  }
}

DenseStack::Scratch DenseStack::make_scratch(std::size_t max_batch) const {
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

MatrixMap DenseStack::forward(const float* theta, const float* x, Index n,
                              Scratch& s) const noexcept {
  const float* input = x;
  const std::size_t layers = widths_.size() - 1;
  for (std::size_t l = 0; l < layers; ++l) {
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    MatrixMap z(s.out[l].data(), out, n);
    gemm(out, n, in, row_major(theta + weight_offsets_[l], in), col_major(input, in), z.data(), out,
         false, s.gemm);
    if (l + 1 < layers) {
      add_bias_and_activate(activation_, z, theta + bias_offsets_[l]);
    } else {
      add_bias(z, theta + bias_offsets_[l]);
    }
    input = z.data();
  }
  return {s.out[layers - 1].data(), static_cast<Index>(out()), n};
}

void DenseStack::backward(const float* theta, const float* x, Index n, float* grad, float* dx,
                          Scratch& s) const noexcept {
  for (std::size_t l = widths_.size() - 1; l-- > 0;) {
    const auto in = static_cast<Index>(widths_[l]);
    const auto out = static_cast<Index>(widths_[l + 1]);
    const MatrixMap dz(s.out[l].data(), out, n);  // dLoss/dZ of this layer
    const float* input = l == 0 ? x : s.out[l - 1].data();

    // dW = dZ * X^T, written as its transpose X * dZ^T: a column-major in x out matrix is the
    // row-major {out, in} layout of theta. dZ^T is dZ read row-major.
    gemm(in, out, n, col_major(input, in), row_major(dz.data(), out), grad + weight_offsets_[l], in,
         false, s.gemm);
    row_sums(ConstMatrixMap(dz.data(), out, n), grad + bias_offsets_[l]);

    float* target = l == 0 ? dx : s.delta.data();
    if (target == nullptr) continue;  // the data needs no gradient
    MatrixMap d(target, in, n);
    // W^T, with W row-major {out, in}, is a column-major in x out matrix.
    gemm(in, n, out, col_major(theta + weight_offsets_[l], in), col_major(dz.data(), out), d.data(),
         in, false, s.gemm);
    if (l > 0) {
      // dZ of the layer below replaces its activation output, which is no longer needed.
      backprop_activation(activation_, MatrixMap(s.out[l - 1].data(), in, n),
                          ConstMatrixMap(d.data(), in, n));
    }
  }
}

}  // namespace detail

namespace {

class MlpWorkspace final : public Workspace {
 public:
  MlpWorkspace(const detail::DenseStack& stack, std::size_t batch)
      : max_batch(batch), scratch(stack.make_scratch(batch)) {}
  std::size_t max_batch;
  detail::DenseStack::Scratch scratch;
};

std::vector<std::size_t> mlp_widths(std::size_t num_features,
                                    const std::vector<std::size_t>& hidden, int num_classes) {
  std::vector<std::size_t> widths{num_features};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(static_cast<std::size_t>(num_classes));
  return widths;
}

}  // namespace

Mlp::Mlp(std::size_t num_features, std::vector<std::size_t> hidden, int num_classes,
         Activation activation)
    : hidden_(std::move(hidden)),
      stack_(mlp_widths(num_features, hidden_, num_classes), activation, 0, 0) {}

std::string Mlp::spec() const {
  if (hidden_.empty()) return "linear";
  std::string s = "mlp:";
  for (std::size_t i = 0; i < hidden_.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(hidden_[i]);
  }
  return s;
}

std::vector<ParamBlock> Mlp::layout() const {
  std::vector<ParamBlock> blocks;
  stack_.append_layout(blocks);
  return blocks;
}

std::unique_ptr<Workspace> Mlp::make_workspace(std::size_t max_batch) const {
  return std::make_unique<MlpWorkspace>(stack_, max_batch);
}

float Mlp::loss_and_gradient(std::span<const float> theta, const Batch& batch,
                             std::span<float> grad, Workspace& ws) const noexcept {
  auto& w = static_cast<MlpWorkspace&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  assert(batch.num_features == stack_.in() && theta.size() == num_params() &&
         grad.size() == num_params());
  const auto n = static_cast<detail::Index>(batch.size);
  const detail::MatrixMap logits = stack_.forward(theta.data(), batch.features, n, w.scratch);
  const double loss_sum = detail::softmax_cross_entropy_gradient(logits, batch.labels);
  stack_.backward(theta.data(), batch.features, n, grad.data(), nullptr, w.scratch);
  return static_cast<float>(loss_sum / static_cast<double>(n));
}

EvalSums Mlp::evaluate(std::span<const float> theta, const Batch& batch,
                       Workspace& ws) const noexcept {
  auto& w = static_cast<MlpWorkspace&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  const auto n = static_cast<detail::Index>(batch.size);
  const detail::MatrixMap logits = stack_.forward(theta.data(), batch.features, n, w.scratch);
  return detail::softmax_cross_entropy_eval(
      detail::ConstMatrixMap(logits.data(), logits.rows(), logits.cols()), batch.labels);
}

}  // namespace psgd
