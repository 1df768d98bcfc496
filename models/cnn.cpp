// models/cnn.cpp — the ConvNet engine (direct convolution kernels, max-pooling, dense layers)
// and "cnn".
#include "models/cnn.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <string>
#include <utility>

#include "common/errors.hpp"
#include "models/conv/conv_kernels.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using detail::ColMatrix;
using detail::ConstMatrixMap;
using detail::Index;
using detail::MatrixMap;
namespace conv = detail::conv;
template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::size_t as_size(int v) noexcept { return static_cast<std::size_t>(v); }

// Zeroes every value of `channels` planes (rows x row_len each) outside the window of rows
// [y0, y0 + h) and row offsets [f0, f0 + len): the borders and the odd last row/column that the
// kernels never write but read or reduce over.
template <class S>
void zero_outside(S* data, int channels, std::size_t plane, std::size_t row, int rows,
                  std::size_t row_len, int y0, int h, std::size_t f0, std::size_t len) noexcept {
  for (int c = 0; c < channels; ++c) {
    S* p = data + as_size(c) * plane;
    for (int y = 0; y < rows; ++y) {
      S* r = p + as_size(y) * row;
      if (y < y0 || y >= y0 + h) {
        std::fill(r, r + row_len, S{0});
      } else {
        std::fill(r, r + f0, S{0});
        std::fill(r + f0 + len, r + row_len, S{0});
      }
    }
  }
}

}  // namespace

template <class S>
std::size_t ConvNet<S>::Geometry::patch() const noexcept {
  return static_cast<std::size_t>(in_c) * static_cast<std::size_t>(kernel * kernel);
}
template <class S>
std::size_t ConvNet<S>::Geometry::conv_area() const noexcept {
  return static_cast<std::size_t>(conv_h) * static_cast<std::size_t>(conv_w);
}
template <class S>
std::size_t ConvNet<S>::Geometry::pool_area() const noexcept {
  return static_cast<std::size_t>(pool_h) * static_cast<std::size_t>(pool_w);
}

// Per-worker buffers, all sized for max_batch samples when the workspace is made; a step with
// n samples uses the planar layouts (models/conv/conv_kernels.hpp) for n.
template <class S>
class ConvNet<S>::ConvWorkspace final : public Workspace {
 public:
  struct Block {
    std::vector<S> x;            // the block's input planes, with the zero border
    std::vector<S> argmax;       // per pooled value: window position 2*dy + dx
    std::vector<S> rows;         // two convolution rows of every output channel
    std::vector<S> dz;           // dLoss/dconv; with a kernel-1 zero border if i > 0
    std::vector<S> pooled_grad;  // dLoss/d(pooled output)
    std::vector<S> flipped;      // the input gradient's flipped weights
  };
  std::size_t max_batch = 0;
  std::vector<Block> blocks;
  std::vector<S> last_pooled;  // the last block's pooled output (no next block to hold it)
  ColMatrix<S> dense_in;       // the last pooled map flattened CHW: features x max_batch
  ColMatrix<S> dense_in_grad;  // dLoss/d(dense_in)
  typename detail::DenseStack<S>::Scratch dense;
};

template <class S>
ConvNet<S>::ConvNet(std::string spec, ImageShape input, std::vector<ConvBlockSpec> blocks,
                    std::vector<std::size_t> dense_hidden, int num_classes, Activation activation)
    : spec_(std::move(spec)), input_(input), activation_(activation) {
  int c = input.channels;
  int h = input.height;
  int w = input.width;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const ConvBlockSpec& b = blocks[i];
    Geometry g{};
    g.in_c = c;
    g.in_h = h;
    g.in_w = w;
    g.out_c = b.out_channels;
    g.kernel = b.kernel;
    g.pad = b.pad;
    g.conv_h = h + 2 * b.pad - b.kernel + 1;
    g.conv_w = w + 2 * b.pad - b.kernel + 1;
    if (g.conv_h < 2 || g.conv_w < 2) {
      throw ConfigError("model '" + spec_ + "' does not fit " + std::to_string(input.channels) +
                        "x" + std::to_string(input.height) + "x" + std::to_string(input.width) +
                        " inputs: conv" + std::to_string(i) + " would get a " + std::to_string(h) +
                        "x" + std::to_string(w) + " map");
    }
    g.pool_h = g.conv_h / 2;
    g.pool_w = g.conv_w / 2;
    g.weight_offset = offset;
    offset += static_cast<std::size_t>(g.out_c) * g.patch();
    g.bias_offset = offset;
    offset += static_cast<std::size_t>(g.out_c);
    blocks_.push_back(g);
    c = g.out_c;
    h = g.pool_h;
    w = g.pool_w;
  }
  std::vector<std::size_t> widths{static_cast<std::size_t>(c) * static_cast<std::size_t>(h) *
                                  static_cast<std::size_t>(w)};
  widths.insert(widths.end(), dense_hidden.begin(), dense_hidden.end());
  widths.push_back(static_cast<std::size_t>(num_classes));
  // The dense head on the builtin kernel, not OpenBLAS: measured no faster for these models, whose
  // step is mostly convolution (docs/performance.md, "The GEMM under the models").
  dense_ = std::make_unique<detail::DenseStack<S>>(std::move(widths), activation, offset, 0,
                                                   detail::builtin_gemm_kernel(),
                                                   /*input_gradient=*/true);
  num_params_ = offset + dense_->num_params();
}

template <class S>
ImageShape ConvNet<S>::pooled_shape(std::size_t i) const {
  const Geometry& g = blocks_.at(i);
  return {g.out_c, g.pool_h, g.pool_w};
}

template <class S>
std::vector<ParamBlock> ConvNet<S>::layout() const {
  std::vector<ParamBlock> out;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Geometry& g = blocks_[i];
    const std::string name = "conv" + std::to_string(i);
    const std::size_t window =
        static_cast<std::size_t>(g.kernel) * static_cast<std::size_t>(g.kernel);
    const std::size_t fan_in = g.patch();
    const std::size_t fan_out = static_cast<std::size_t>(g.out_c) * window;
    out.push_back({name + ".weight",
                   {g.out_c, g.in_c, g.kernel, g.kernel},
                   g.weight_offset,
                   fan_in,
                   fan_out,
                   false});
    out.push_back({name + ".bias", {g.out_c}, g.bias_offset, fan_in, fan_out, true});
  }
  dense_->append_layout(out);
  return out;
}

template <class S>
std::unique_ptr<Workspace> ConvNet<S>::make_workspace(std::size_t max_batch) const {
  auto w = std::make_unique<ConvWorkspace>();
  w->max_batch = max_batch;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Geometry& g = blocks_[i];
    const auto oc = as_size(g.out_c);
    const std::size_t pooled = oc * g.pool_area() * max_batch;
    const int border = i == 0 ? 0 : g.kernel - 1;
    typename ConvWorkspace::Block b;
    b.x.resize(as_size(g.in_c) * as_size(g.in_h + 2 * g.pad) * as_size(g.in_w + 2 * g.pad) *
               max_batch);
    b.argmax.resize(pooled);
    b.rows.resize(oc * 2 * as_size(2 * g.pool_w) * max_batch);
    b.dz.resize(oc * as_size(g.conv_h + 2 * border) * as_size(g.conv_w + 2 * border) * max_batch);
    b.pooled_grad.resize(pooled);
    b.flipped.resize(oc * g.patch());
    w->blocks.push_back(std::move(b));
  }
  const Geometry& last = blocks_.back();
  w->last_pooled.resize(as_size(last.out_c) * last.pool_area() * max_batch);
  w->dense_in.resize(static_cast<Index>(dense_->in()), static_cast<Index>(max_batch));
  w->dense_in_grad.resize(static_cast<Index>(dense_->in()), static_cast<Index>(max_batch));
  w->dense = dense_->make_scratch(max_batch);
  return w;
}

template <class S>
conv::ConvShape ConvNet<S>::shape(std::size_t i, std::size_t n) const noexcept {
  const Geometry& g = blocks_[i];
  return {g.in_c, g.in_h + 2 * g.pad, g.in_w + 2 * g.pad, g.out_c, g.kernel, n};
}

template <class S>
conv::Planes<S> ConvNet<S>::input_planes(std::size_t i, ConvWorkspace& w,
                                         std::size_t n) const noexcept {
  const conv::ConvShape s = shape(i, n);
  const std::size_t row = as_size(s.in_w) * n;
  return {w.blocks[i].x.data(), as_size(s.in_h) * row, row};
}

template <class S>
conv::Planes<S> ConvNet<S>::pooled_planes(std::size_t i, ConvWorkspace& w,
                                          std::size_t n) const noexcept {
  if (i + 1 == blocks_.size()) {
    const Geometry& g = blocks_[i];
    return {w.last_pooled.data(), g.pool_area() * n, as_size(g.pool_w) * n};
  }
  // The next block's input, inside its zero border.
  const conv::Planes<S> next = input_planes(i + 1, w, n);
  const auto pad = as_size(blocks_[i + 1].pad);
  return {next.data + pad * next.row + pad * n, next.plane, next.row};
}

template <class S>
void ConvNet<S>::scatter_input(const BasicBatch<S>& batch, conv::Planes<S> x0) const noexcept {
  // The batch holds one CHW sample per column; block 0 wants (c, y + pad, (x + pad) * n + s).
  // Sixteen samples at a time: their 16 source lines stay in L1 while a row is gathered.
  constexpr std::size_t kTile = 16;
  const std::size_t n = batch.size;
  const auto pad = as_size(blocks_.front().pad);
  const auto width = as_size(input_.width);
  for (std::size_t s0 = 0; s0 < n; s0 += kTile) {
    const std::size_t m = std::min(kTile, n - s0);
    const S* src = batch.features + s0 * batch.num_features;
    for (int c = 0; c < input_.channels; ++c) {
      for (int y = 0; y < input_.height; ++y) {
        const std::size_t from = (as_size(c) * as_size(input_.height) + as_size(y)) * width;
        S* dst = x0.data + as_size(c) * x0.plane + (as_size(y) + pad) * x0.row + pad * n + s0;
        for (std::size_t x = 0; x < width; ++x) {
          for (std::size_t s = 0; s < m; ++s) {
            dst[x * n + s] = src[s * batch.num_features + from + x];
          }
        }
      }
    }
  }
}

template <class S>
void ConvNet<S>::forward(const S* theta, const BasicBatch<S>& batch,
                         ConvWorkspace& w) const noexcept {
  const std::size_t n = batch.size;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {  // zero borders, for this n's layout
    if (blocks_[i].pad > 0) {
      std::fill_n(w.blocks[i].x.begin(), input_planes(i, w, n).plane * as_size(blocks_[i].in_c),
                  S{0});
    }
  }
  scatter_input(batch, input_planes(0, w, n));
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Geometry& g = blocks_[i];
    const conv::Planes<S> in = input_planes(i, w, n);
    conv::conv_pool_forward<S>(shape(i, n), {in.data, in.plane, in.row}, theta + g.weight_offset,
                               theta + g.bias_offset, activation_, pooled_planes(i, w, n),
                               w.blocks[i].argmax.data(), w.blocks[i].rows.data());
  }
  // The last pooled planes are features x n row-major, features in CHW order: dense0's input.
  const auto features = static_cast<Index>(dense_->in());
  MatrixMap<S>(w.dense_in.data(), features, static_cast<Index>(n)) =
      Eigen::Map<const RowMatrix<S>>(w.last_pooled.data(), features, static_cast<Index>(n));
}

template <class S>
S ConvNet<S>::loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch,
                                std::span<S> grad, Workspace& ws) const noexcept {
  auto& w = static_cast<ConvWorkspace&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  assert(batch.num_features == input_.size() && theta.size() == num_params_ &&
         grad.size() == num_params_);
  const std::size_t n = batch.size;
  forward(theta.data(), batch, w);
  const MatrixMap<S> logits =
      dense_->forward(theta.data(), w.dense_in.data(), static_cast<Index>(n), w.dense);
  const double loss_sum = detail::softmax_cross_entropy_gradient(logits, batch.labels);
  dense_->backward(theta.data(), w.dense_in.data(), static_cast<Index>(n), grad.data(),
                   w.dense_in_grad.data(), w.dense);
  const auto features = static_cast<Index>(dense_->in());
  Eigen::Map<RowMatrix<S>>(w.blocks.back().pooled_grad.data(), features, static_cast<Index>(n)) =
      ConstMatrixMap<S>(w.dense_in_grad.data(), features, static_cast<Index>(n));
  for (std::size_t i = blocks_.size(); i-- > 0;) backward_block(i, theta.data(), grad.data(), w, n);
  return static_cast<S>(loss_sum / static_cast<double>(n));
}

template <class S>
void ConvNet<S>::backward_block(std::size_t i, const S* theta, S* grad, ConvWorkspace& w,
                                std::size_t n) const noexcept {
  const Geometry& g = blocks_[i];
  typename ConvWorkspace::Block& b = w.blocks[i];
  const conv::ConvShape s = shape(i, n);
  // dZ inside its border (kernel - 1 for the input gradient's full convolution, none in block 0).
  const int border = i == 0 ? 0 : g.kernel - 1;
  const std::size_t dz_row = as_size(g.conv_w + 2 * border) * n;
  const std::size_t dz_plane = as_size(g.conv_h + 2 * border) * dz_row;
  zero_outside(b.dz.data(), g.out_c, dz_plane, dz_row, g.conv_h + 2 * border, dz_row, border,
               2 * g.pool_h, as_size(border) * n, as_size(2 * g.pool_w) * n);
  S* dz_origin = b.dz.data() + as_size(border) * dz_row + as_size(border) * n;
  const conv::Planes<const S> dz{dz_origin, dz_plane, dz_row};
  const std::size_t pooled_row = as_size(g.pool_w) * n;
  const conv::Planes<const S> pooled_grad{b.pooled_grad.data(), g.pool_area() * n, pooled_row};
  const conv::Planes<S> pooled = pooled_planes(i, w, n);
  conv::pool_backward<S>(s, pooled_grad, {pooled.data, pooled.plane, pooled.row}, b.argmax.data(),
                         activation_, {dz_origin, dz_plane, dz_row}, grad + g.bias_offset);
  const conv::Planes<S> in = input_planes(i, w, n);
  conv::conv_weight_grad<S>(s, 2 * g.pool_h, 2 * g.pool_w, {in.data, in.plane, in.row}, dz,
                            grad + g.weight_offset);
  if (i == 0) return;  // the data needs no gradient
  const Geometry& below = blocks_[i - 1];
  conv::conv_input_grad<S>(
      s, {b.dz.data(), dz_plane, dz_row}, theta + g.weight_offset, g.pad, g.in_h, g.pad, g.in_w,
      {w.blocks[i - 1].pooled_grad.data(), below.pool_area() * n, as_size(below.pool_w) * n},
      b.flipped.data());
}

template <class S>
EvalSums ConvNet<S>::evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                              Workspace& ws) const noexcept {
  auto& w = static_cast<ConvWorkspace&>(ws);
  assert(batch.size >= 1 && batch.size <= w.max_batch);
  forward(theta.data(), batch, w);
  const MatrixMap<S> logits =
      dense_->forward(theta.data(), w.dense_in.data(), static_cast<Index>(batch.size), w.dense);
  return detail::softmax_cross_entropy_eval(
      ConstMatrixMap<S>(logits.data(), logits.rows(), logits.cols()), batch.labels);
}

template <class S>
std::unique_ptr<BasicModel<S>> make_cnn(ImageShape input, int num_classes, Activation activation) {
  return std::make_unique<ConvNet<S>>("cnn", input,
                                      std::vector<ConvBlockSpec>{{4, 3, 0}, {8, 3, 0}},
                                      std::vector<std::size_t>{128}, num_classes, activation);
}

template class ConvNet<float>;
template class ConvNet<double>;
template std::unique_ptr<BasicModel<float>> make_cnn(ImageShape, int, Activation);
template std::unique_ptr<BasicModel<double>> make_cnn(ImageShape, int, Activation);

}  // namespace psgd
