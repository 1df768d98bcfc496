// models/conv/conv_kernels.hpp — direct convolution kernels for the ConvNet engine
// (models/cnn.hpp): stride-1 convolution, activation and 2x2/2 max-pool fused in one forward
// pass; pool + activation backward, weight gradients and input gradients without im2col buffers.
//
// Layout ("planar, batch-minor"): a stack of feature maps of n samples is one plane per channel,
// each plane rows of (width * n) values, and within a row the n samples of one column side by
// side: element (c, y, x, s) at data[c * plane + y * row + x * n + s]. A convolution output row
// is then one contiguous run of out_w * n values, and the input a kernel tap (ky, kx) reads for
// it is the contiguous run kx * n further along input row oy + ky; so every kernel vectorises
// over output positions and samples at once, with no padding lanes and no gathers, whatever the
// (small) channel counts. Zero padding is stored: the input of a padded convolution is a plane
// stack with a zero border.
//
// Every kernel is a template over the scalar type (float, double: explicitly instantiated) and
// uses Eigen's packets, so the vector width is the build's -march (SSE, AVX2, AVX-512) and the
// arithmetic is the same code at every level. None allocates; all are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>

#include "models/model_factory.hpp"

namespace psgd::detail::conv {

// A stack of channel planes; element (c, y, f) at data[c * plane + y * row + f], f = x * n + s.
template <typename T>
struct Planes {
  T* data;
  std::size_t plane;
  std::size_t row;
};

// The shape of one stride-1 convolution over n samples: in_h/in_w include any stored padding,
// out_h = in_h - kernel + 1 and out_w = in_w - kernel + 1 (callers may ask for fewer rows).
struct ConvShape {
  int in_c, in_h, in_w, out_c, kernel;
  std::size_t n;
  [[nodiscard]] int out_h() const noexcept { return in_h - kernel + 1; }
  [[nodiscard]] int out_w() const noexcept { return in_w - kernel + 1; }
};

// Forward: for every output channel o and pooled position (py, px) < (pool_h, pool_w) (pool_h =
// out_h / 2, floor), pooled = f(max over the 2x2 window of (bias[o] + conv)), and argmax the
// window position 2*dy + dx of that maximum (the first on ties). f is monotone, so pooling before
// the activation gives f's value at the maximum. weights: {out_c, in_c, k, k} row-major.
// rows: scratch of at least out_c * 2 * out_w * n values (two convolution rows).
// argmax: out_c * pool_h * pool_w * n values (0..3, stored as T so that the pass stays in one
// packet type), laid out like pooled with plane pool_h * pool_w * n and row pool_w * n.
template <typename T>
void conv_pool_forward(const ConvShape& s, Planes<const T> in, const T* weights, const T* bias,
                       Activation activation, Planes<T> pooled, T* argmax, T* rows) noexcept;

// Backward through the activation and the pool: dz (out_c planes of out_h x out_w * n, possibly
// inside a larger zeroed buffer: its strides say) gets dLoss/dpooled * f'(pooled) at each
// window's argmax and zero at the window's other three positions; the rows and columns no window
// covers are left alone (callers zero them once). bias_grad[o] = the sum of channel o's dz.
template <typename T>
void pool_backward(const ConvShape& s, Planes<const T> pooled_grad, Planes<const T> pooled,
                   const T* argmax, Activation activation, Planes<T> dz, T* bias_grad) noexcept;

// weight_grad[o][c][ky][kx] = sum over output rows y < rows and columns x < cols of
// dz[o][y][x * n + s] * in[c][y + ky][(x + kx) * n + s]; overwrites weight_grad
// ({out_c, in_c, k, k}). rows/cols: the part of the output dz can be non-zero in.
template <typename T>
void conv_weight_grad(const ConvShape& s, int rows, int cols, Planes<const T> in,
                      Planes<const T> dz, T* weight_grad) noexcept;

// dLoss/dinput of the convolution, for input rows [y0, y0 + rows) and columns [x0, x0 + cols):
// dx[c][y - y0][(x - x0) * n + s] = sum over o, ky, kx of w[o][c][ky][kx] * dz[o][y-ky][x-kx][s],
// read from dz_padded, the output gradient stored with a zero border of kernel - 1 on every side
// (dz_padded's shape: out_c planes of (out_h + 2k - 2) rows of (out_w + 2k - 2) * n). flipped:
// scratch of out_c * in_c * k * k values. Overwrites dx.
template <typename T>
void conv_input_grad(const ConvShape& s, Planes<const T> dz_padded, const T* weights, int y0,
                     int rows, int x0, int cols, Planes<T> dx, T* flipped) noexcept;

}  // namespace psgd::detail::conv
