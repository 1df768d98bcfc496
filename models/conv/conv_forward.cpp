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

// Pools one pair of convolution rows (row0, row1: 2 * pool_w * n values each) of one channel.
// The window position of the maximum is stored as a value of T (0..3) so that the whole pass
// stays in one packet type: compare masks select both the maximum and its position.
template <typename T>
void pool_pair(const T* row0, const T* row1, int pool_w, std::size_t n, Activation activation,
               T* pooled, T* argmax) noexcept {
  using Eigen::internal::pcmp_lt;
  using Eigen::internal::ploadu;
  using Eigen::internal::pmax;
  using Eigen::internal::pselect;
  using Eigen::internal::pset1;
  using Eigen::internal::pstoreu;
  using P = Packet<T>;
  constexpr std::size_t kP = kLanes<T>;
  const P pos[4] = {pset1<P>(T{0}), pset1<P>(T{1}), pset1<P>(T{2}), pset1<P>(T{3})};
  for (int px = 0; px < pool_w; ++px) {
    const std::size_t f = static_cast<std::size_t>(2 * px) * n;
    const T* a = row0 + f;
    const T* b = row0 + f + n;
    const T* c = row1 + f;
    const T* d = row1 + f + n;
    T* out = pooled + static_cast<std::size_t>(px) * n;
    T* arg = argmax + static_cast<std::size_t>(px) * n;
    std::size_t s = 0;
    for (; s + kP <= n; s += kP) {  // strict '<' keeps the first maximum
      const P va = ploadu<P>(a + s);
      const P vb = ploadu<P>(b + s);
      const P vc = ploadu<P>(c + s);
      const P vd = ploadu<P>(d + s);
      const P right_top = pcmp_lt(va, vb);
      const P top = pselect(right_top, vb, va);
      const P right_bottom = pcmp_lt(vc, vd);
      const P bottom = pselect(right_bottom, vd, vc);
      const P lower = pcmp_lt(top, bottom);
      pstoreu(out + s, pselect(lower, bottom, top));
      pstoreu(arg + s, pselect(lower, pselect(right_bottom, pos[3], pos[2]),
                               pselect(right_top, pos[1], pos[0])));
    }
    for (; s < n; ++s) {
      const T top = a[s] < b[s] ? b[s] : a[s];
      const T top_arg = a[s] < b[s] ? T{1} : T{0};
      const T bottom = c[s] < d[s] ? d[s] : c[s];
      const T bottom_arg = c[s] < d[s] ? T{3} : T{2};
      out[s] = top < bottom ? bottom : top;
      arg[s] = top < bottom ? bottom_arg : top_arg;
    }
  }
  const std::size_t len = static_cast<std::size_t>(pool_w) * n;
  if (activation == Activation::kRelu) {
    std::size_t s = 0;
    for (; s + kP <= len; s += kP) pstoreu(pooled + s, pmax(ploadu<P>(pooled + s), pset1<P>(T{0})));
    for (; s < len; ++s) pooled[s] = pooled[s] > T{0} ? pooled[s] : T{0};
  } else {
    for (std::size_t s = 0; s < len; ++s) pooled[s] = T{1} / (T{1} + std::exp(-pooled[s]));
  }
}

}  // namespace

template <typename T>
void conv_pool_forward(const ConvShape& s, Planes<const T> in, const T* weights, const T* bias,
                       Activation activation, Planes<T> pooled, T* argmax, T* rows) noexcept {
  const int pool_h = s.out_h() / 2;
  const int pool_w = s.out_w() / 2;
  const std::size_t len = static_cast<std::size_t>(2 * pool_w) * s.n;  // columns pooled
  const std::size_t arg_plane = static_cast<std::size_t>(pool_h * pool_w) * s.n;
  const std::size_t arg_row = static_cast<std::size_t>(pool_w) * s.n;
  for (int py = 0; py < pool_h; ++py) {
    // rows: channel o's two convolution rows at o * 2 * len and o * 2 * len + len.
    conv_rows_all<T>(in.data + static_cast<std::size_t>(2 * py) * in.row, in.plane, in.row, s.in_c,
                     s.kernel, s.n, weights, bias, s.out_c, len, 2, rows, 2 * len, len);
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
                                       const float*, Activation, Planes<float>, float*,
                                       float*) noexcept;
template void conv_pool_forward<double>(const ConvShape&, Planes<const double>, const double*,
                                        const double*, Activation, Planes<double>, double*,
                                        double*) noexcept;

}  // namespace psgd::detail::conv
