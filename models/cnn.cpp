// models/cnn.cpp — the ConvNet engine (im2col + GEMM convolutions, max-pooling) and "cnn".
#include "models/cnn.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <string>
#include <utility>

#include "common/errors.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using detail::ColMatrix;
using detail::ConstMatrixMap;
using detail::Index;
using detail::MatrixMap;

// Upper bound on one im2col patch matrix, in floats (4 MiB): large enough that the "cnn" at
// batch 128 and LeNet's second block do one GEMM per batch, small enough that a worker's
// workspace stays modest when evaluation uses big batches (LeNet on 32x32x3 needs 58,800
// floats of patches per sample in its first block).
constexpr std::size_t kPatchBudgetFloats = std::size_t{1} << 20;

// Where a feature map's element (c, y, x) of one sample lies, relative to the sample's start.
struct MapStrides {
  std::size_t channel, row, col;
};

// Writes the patches of m consecutive samples of `in` as the columns of cols (patch x m*area,
// column-major); row (c*k + ky)*k + kx of a column matches the {out_c, in_c, kh, kw} weights.
template <class S>
void im2col(const typename ConvNet<S>::Geometry& g, const S* in, std::size_t sample_stride,
            MapStrides st, std::size_t m, S* cols) noexcept {
  const int k = g.kernel;
  for (std::size_t s = 0; s < m; ++s) {
    const S* sample = in + s * sample_stride;
    for (int oy = 0; oy < g.conv_h; ++oy) {
      for (int ox = 0; ox < g.conv_w; ++ox) {
        for (int c = 0; c < g.in_c; ++c) {
          for (int ky = 0; ky < k; ++ky) {
            const int iy = oy + ky - g.pad;
            const bool row_inside = iy >= 0 && iy < g.in_h;
            for (int kx = 0; kx < k; ++kx) {
              const int ix = ox + kx - g.pad;
              *cols++ = row_inside && ix >= 0 && ix < g.in_w
                            ? sample[c * st.channel + static_cast<std::size_t>(iy) * st.row +
                                     static_cast<std::size_t>(ix) * st.col]
                            : S{0};
            }
          }
        }
      }
    }
  }
}

// The adjoint of im2col: adds every patch entry back onto the input element it was read from.
template <class S>
void col2im_add(const typename ConvNet<S>::Geometry& g, const S* cols, std::size_t sample_stride,
                MapStrides st, std::size_t m, S* in) noexcept {
  const int k = g.kernel;
  for (std::size_t s = 0; s < m; ++s) {
    S* sample = in + s * sample_stride;
    for (int oy = 0; oy < g.conv_h; ++oy) {
      for (int ox = 0; ox < g.conv_w; ++ox) {
        for (int c = 0; c < g.in_c; ++c) {
          for (int ky = 0; ky < k; ++ky) {
            const int iy = oy + ky - g.pad;
            const bool row_inside = iy >= 0 && iy < g.in_h;
            for (int kx = 0; kx < k; ++kx, ++cols) {
              const int ix = ox + kx - g.pad;
              if (row_inside && ix >= 0 && ix < g.in_w) {
                sample[c * st.channel + static_cast<std::size_t>(iy) * st.row +
                       static_cast<std::size_t>(ix) * st.col] += *cols;
              }
            }
          }
        }
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

// Per-worker buffers, all sized for max_batch samples when the workspace is made.
template <class S>
class ConvNet<S>::ConvWorkspace final : public Workspace {
 public:
  struct Block {
    std::size_t chunk = 0;             // samples per im2col + GEMM
    ColMatrix<S> cols;                 // patch x (chunk * conv_area); reused for the patch gradient
    ColMatrix<S> act;                  // out_c x (max_batch * conv_area): f(conv), then dLoss/dconv
    ColMatrix<S> pooled;               // out_c x (max_batch * pool_area)
    ColMatrix<S> pooled_grad;          // dLoss/dpooled, same shape
    std::vector<std::uint8_t> argmax;  // per pooled element: window position 2*dy + dx
  };
  std::size_t max_batch = 0;
  std::vector<Block> blocks;
  ColMatrix<S> act_grad;       // dLoss/d(activation output) of the block being backpropagated
  ColMatrix<S> dense_in;       // the last pooled map flattened CHW: features x max_batch
  ColMatrix<S> dense_in_grad;  // dLoss/d(dense_in)
  detail::GemmScratch<S> gemm;
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
  dense_ = std::make_unique<detail::DenseStack<S>>(std::move(widths), activation, offset, 0);
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
  const auto batch = static_cast<Index>(max_batch);
  Index widest_act = 0;
  for (const Geometry& g : blocks_) {
    typename ConvWorkspace::Block b;
    const std::size_t per_sample = g.patch() * g.conv_area();
    b.chunk = std::clamp<std::size_t>(kPatchBudgetFloats / per_sample, 1, max_batch);
    const auto patch = static_cast<Index>(g.patch());
    const auto chunk_cols = static_cast<Index>(b.chunk * g.conv_area());
    const auto act_cols = static_cast<Index>(max_batch * g.conv_area());
    const auto pooled_cols = static_cast<Index>(max_batch * g.pool_area());
    b.cols.resize(patch, chunk_cols);
    b.act.resize(g.out_c, act_cols);
    b.pooled.resize(g.out_c, pooled_cols);
    b.pooled_grad.resize(g.out_c, pooled_cols);
    b.argmax.resize(static_cast<std::size_t>(g.out_c) * static_cast<std::size_t>(pooled_cols));
    widest_act = std::max(widest_act, b.act.size());
    w->blocks.push_back(std::move(b));
  }
  w->act_grad.resize(widest_act, 1);
  w->dense_in.resize(static_cast<Index>(dense_->in()), batch);
  w->dense_in_grad.resize(static_cast<Index>(dense_->in()), batch);
  w->dense = dense_->make_scratch(max_batch);
  return w;
}

template <class S>
void ConvNet<S>::forward(const S* theta, const BasicBatch<S>& batch,
                         ConvWorkspace& w) const noexcept {
  const std::size_t n = batch.size;
  const S* in = batch.features;
  MapStrides strides{static_cast<std::size_t>(input_.height * input_.width),
                     static_cast<std::size_t>(input_.width), 1};  // the batch is CHW
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Geometry& g = blocks_[i];
    typename ConvWorkspace::Block& b = w.blocks[i];
    const std::size_t sample_stride = static_cast<std::size_t>(g.in_c) *
                                      static_cast<std::size_t>(g.in_h) *
                                      static_cast<std::size_t>(g.in_w);
    const auto patch = static_cast<Index>(g.patch());
    for (std::size_t s0 = 0; s0 < n; s0 += b.chunk) {
      const std::size_t m = std::min(b.chunk, n - s0);
      im2col(g, in + s0 * sample_stride, sample_stride, strides, m, b.cols.data());
      const auto cols = static_cast<Index>(m * g.conv_area());
      MatrixMap<S> z(b.act.data() + s0 * g.conv_area() * static_cast<std::size_t>(g.out_c), g.out_c,
                     cols);
      detail::gemm(g.out_c, cols, patch, detail::row_major(theta + g.weight_offset, patch),
                   detail::col_major(b.cols.data(), patch), z.data(), g.out_c, false, w.gemm);
      detail::add_bias_and_activate(activation_, z, theta + g.bias_offset);
    }
    // 2x2 max-pool, stride 2; HWC, so the channels of one window position are contiguous.
    const auto oc = static_cast<std::size_t>(g.out_c);
    const std::size_t row = static_cast<std::size_t>(g.conv_w) * oc;
    std::size_t q = 0;
    for (std::size_t s = 0; s < n; ++s) {
      for (int py = 0; py < g.pool_h; ++py) {
        for (int px = 0; px < g.pool_w; ++px) {
          const S* a =
              b.act.data() +
              (s * g.conv_area() + static_cast<std::size_t>(2 * py * g.conv_w + 2 * px)) * oc;
          for (std::size_t c = 0; c < oc; ++c, ++q) {
            const S v[4] = {a[c], a[c + oc], a[c + row], a[c + row + oc]};
            std::uint8_t best = 0;
            for (std::uint8_t k = 1; k < 4; ++k) best = v[k] > v[best] ? k : best;
            b.pooled.data()[q] = v[best];
            b.argmax[q] = best;
          }
        }
      }
    }
    in = b.pooled.data();
    strides = {1, static_cast<std::size_t>(g.pool_w) * oc, oc};
  }
  // Flatten the last pooled map (HWC) into dense0's CHW-ordered input columns.
  const Geometry& last = blocks_.back();
  const std::size_t area = last.pool_area();
  const auto channels = static_cast<std::size_t>(last.out_c);
  const std::size_t features = area * channels;
  for (std::size_t s = 0; s < n; ++s) {
    const S* src = in + s * features;
    S* dst = w.dense_in.data() + s * features;
    for (std::size_t p = 0; p < area; ++p) {
      for (std::size_t c = 0; c < channels; ++c) dst[c * area + p] = src[p * channels + c];
    }
  }
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
  unflatten_dense_grad(w, n);
  for (std::size_t i = blocks_.size(); i-- > 0;) {
    pool_backward(i, w, n);
    conv_backward(i, theta.data(), batch, grad.data(), w, n);
  }
  return static_cast<S>(loss_sum / static_cast<double>(n));
}

template <class S>
void ConvNet<S>::unflatten_dense_grad(ConvWorkspace& w, std::size_t n) const noexcept {
  // dLoss/d(dense_in) (CHW) into the last block's pooled gradient (HWC).
  const Geometry& last = blocks_.back();
  const std::size_t area = last.pool_area();
  const auto channels = static_cast<std::size_t>(last.out_c);
  const std::size_t features = area * channels;
  for (std::size_t s = 0; s < n; ++s) {
    const S* src = w.dense_in_grad.data() + s * features;
    S* dst = w.blocks.back().pooled_grad.data() + s * features;
    for (std::size_t p = 0; p < area; ++p) {
      for (std::size_t c = 0; c < channels; ++c) dst[p * channels + c] = src[c * area + p];
    }
  }
}

template <class S>
void ConvNet<S>::pool_backward(std::size_t i, ConvWorkspace& w, std::size_t n) const noexcept {
  const Geometry& g = blocks_[i];
  typename ConvWorkspace::Block& b = w.blocks[i];
  const auto oc = static_cast<std::size_t>(g.out_c);
  const auto act_cols = static_cast<Index>(n * g.conv_area());
  // Max-pool backward: each pooled gradient goes to its window's arg-max; windows do not
  // overlap, and positions outside every window (an odd last row/column) get zero.
  MatrixMap<S> act_grad(w.act_grad.data(), g.out_c, act_cols);
  act_grad.setZero();
  const std::size_t row = static_cast<std::size_t>(g.conv_w) * oc;
  const std::size_t offsets[4] = {0, oc, row, row + oc};
  std::size_t q = 0;
  for (std::size_t s = 0; s < n; ++s) {
    for (int py = 0; py < g.pool_h; ++py) {
      for (int px = 0; px < g.pool_w; ++px) {
        S* d = act_grad.data() +
               (s * g.conv_area() + static_cast<std::size_t>(2 * py * g.conv_w + 2 * px)) * oc;
        for (std::size_t c = 0; c < oc; ++c, ++q) {
          d[c + offsets[b.argmax[q]]] = b.pooled_grad.data()[q];
        }
      }
    }
  }
  // dZ replaces the activation output in act.
  MatrixMap<S> dz(b.act.data(), g.out_c, act_cols);
  detail::backprop_activation(activation_, dz,
                              ConstMatrixMap<S>(act_grad.data(), g.out_c, act_cols));
}

template <class S>
void ConvNet<S>::conv_backward(std::size_t i, const S* theta, const BasicBatch<S>& batch, S* grad,
                               ConvWorkspace& w, std::size_t n) const noexcept {
  const Geometry& g = blocks_[i];
  typename ConvWorkspace::Block& b = w.blocks[i];
  const auto oc = static_cast<std::size_t>(g.out_c);
  const auto act_cols = static_cast<Index>(n * g.conv_area());
  const ConstMatrixMap<S> dz(b.act.data(), g.out_c, act_cols);  // pool_backward left dZ here
  detail::row_sums(dz, grad + g.bias_offset);

  const auto patch = static_cast<Index>(g.patch());
  // dW^T (patch x out_c, column-major) is the row-major {out_c, in_c, kh, kw} gradient; the
  // first chunk overwrites it, the others add to it.
  S* dw = grad + g.weight_offset;
  const std::size_t sample_stride = static_cast<std::size_t>(g.in_c) *
                                    static_cast<std::size_t>(g.in_h) *
                                    static_cast<std::size_t>(g.in_w);
  const S* in = i == 0 ? batch.features : w.blocks[i - 1].pooled.data();
  const MapStrides strides = i == 0 ? MapStrides{static_cast<std::size_t>(g.in_h * g.in_w),
                                                 static_cast<std::size_t>(g.in_w), 1}
                                    : MapStrides{1, static_cast<std::size_t>(g.in_w * g.in_c),
                                                 static_cast<std::size_t>(g.in_c)};
  if (i > 0) {
    const Geometry& below = blocks_[i - 1];
    MatrixMap<S>(w.blocks[i - 1].pooled_grad.data(), below.out_c,
                 static_cast<Index>(n * below.pool_area()))
        .setZero();
  }
  for (std::size_t s0 = 0; s0 < n; s0 += b.chunk) {
    const std::size_t m = std::min(b.chunk, n - s0);
    // With one chunk the patches from the forward pass are still in place.
    if (n > b.chunk) im2col(g, in + s0 * sample_stride, sample_stride, strides, m, b.cols.data());
    const auto cols = static_cast<Index>(m * g.conv_area());
    const S* dz_chunk = dz.data() + s0 * g.conv_area() * oc;
    detail::gemm(patch, g.out_c, cols, detail::col_major(b.cols.data(), patch),
                 detail::row_major(dz_chunk, g.out_c), dw, patch, s0 > 0, w.gemm);
    if (i == 0) continue;  // the data needs no gradient
    // The patch gradient W^T * dZ overwrites the patches, then folds back onto the input map.
    detail::gemm(patch, cols, g.out_c, detail::col_major(theta + g.weight_offset, patch),
                 detail::col_major(dz_chunk, g.out_c), b.cols.data(), patch, false, w.gemm);
    col2im_add(g, b.cols.data(), sample_stride, strides, m,
               w.blocks[i - 1].pooled_grad.data() + s0 * sample_stride);
  }
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
