// models/conv/conv_forward.cpp — convolution + bias + activation + 2x2 max-pool in one pass.
//
// Two convolution rows at a time go into a small row buffer (it stays in L1/L2) and are pooled
// and activated at once, so the full-resolution activation map is never stored: the backward
// pass needs only the pooled values and the argmax bytes. Only the rows and columns some pooling
// window covers are convolved (an odd last row/column is dropped by the floor anyway).
#include <algorithm>
#include <cmath>

#include "models/conv/conv_kernels.hpp"
#include "models/conv/conv_rows.hpp"

namespace psgd::detail::conv {
namespace {

template <typename T>
T activate(Activation activation, T z) noexcept {
  if (activation == Activation::kRelu) return z > T{0} ? z : T{0};
  return T{1} / (T{1} + std::exp(-z));
}

// Pools one pair of convolution rows (row0, row1: 2 * pool_w * n values each) of one channel.
template <typename T>
void pool_pair(const T* row0, const T* row1, int pool_w, std::size_t n, Activation activation,
               T* pooled, std::uint8_t* argmax) noexcept {
  for (int px = 0; px < pool_w; ++px) {
    const std::size_t f = static_cast<std::size_t>(2 * px) * n;
    const T* a = row0 + f;
    const T* b = row0 + f + n;
    const T* c = row1 + f;
    const T* d = row1 + f + n;
    T* out = pooled + static_cast<std::size_t>(px) * n;
    std::uint8_t* arg = argmax + static_cast<std::size_t>(px) * n;
    for (std::size_t s = 0; s < n; ++s) {  // strict '>' keeps the first maximum
      const T top = b[s] > a[s] ? b[s] : a[s];
      const std::uint8_t top_arg = b[s] > a[s] ? 1 : 0;
      const T bottom = d[s] > c[s] ? d[s] : c[s];
      const std::uint8_t bottom_arg = d[s] > c[s] ? 3 : 2;
      const bool lower = bottom > top;
      out[s] = lower ? bottom : top;
      arg[s] = lower ? bottom_arg : top_arg;
    }
    if (activation == Activation::kRelu) {
      for (std::size_t s = 0; s < n; ++s) out[s] = out[s] > T{0} ? out[s] : T{0};
    } else {
      for (std::size_t s = 0; s < n; ++s) out[s] = activate(activation, out[s]);
    }
  }
}

}  // namespace

template <typename T>
void conv_pool_forward(const ConvShape& s, Planes<const T> in, const T* weights, const T* bias,
                       Activation activation, Planes<T> pooled, std::uint8_t* argmax,
                       T* rows) noexcept {
  const int pool_h = s.out_h() / 2;
  const int pool_w = s.out_w() / 2;
  const std::size_t len = static_cast<std::size_t>(2 * pool_w) * s.n;  // columns pooled
  const std::size_t arg_plane = static_cast<std::size_t>(pool_h * pool_w) * s.n;
  const std::size_t arg_row = static_cast<std::size_t>(pool_w) * s.n;
  for (int py = 0; py < pool_h; ++py) {
    // rows: channel o's two convolution rows at o * 2 * len and o * 2 * len + len.
    conv_rows_all<T>(in.data + static_cast<std::size_t>(2 * py) * in.row, in.plane, in.row,
                     s.in_c, s.kernel, s.n, weights, bias, s.out_c, len, 2, rows, 2 * len, len);
    for (int o = 0; o < s.out_c; ++o) {
      const T* r0 = rows + static_cast<std::size_t>(o) * 2 * len;
      pool_pair(r0, r0 + len, pool_w, s.n, activation,
                pooled.data + static_cast<std::size_t>(o) * pooled.plane +
                    static_cast<std::size_t>(py) * pooled.row,
                argmax + static_cast<std::size_t>(o) * arg_plane +
                    static_cast<std::size_t>(py) * arg_row);
    }
  }
}

template void conv_pool_forward<float>(const ConvShape&, Planes<const float>, const float*,
                                       const float*, Activation, Planes<float>, std::uint8_t*,
                                       float*) noexcept;
template void conv_pool_forward<double>(const ConvShape&, Planes<const double>, const double*,
                                        const double*, Activation, Planes<double>,
                                        std::uint8_t*, double*) noexcept;

}  // namespace psgd::detail::conv
