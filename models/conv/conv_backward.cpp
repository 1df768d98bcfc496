// models/conv/conv_backward.cpp — the backward kernels: pool + activation, weight gradients
// (a register tile of output channels x kernel columns, reduced over rows, columns and samples)
// and input gradients (the forward kernel over the zero-bordered output gradient with the
// flipped, transposed weights: a "full" convolution without col2im).
#include <algorithm>

#include "models/conv/conv_kernels.hpp"
#include "models/conv/conv_rows.hpp"

namespace psgd::detail::conv {
namespace {

using Eigen::internal::padd;
using Eigen::internal::ploadu;
using Eigen::internal::pmadd;
using Eigen::internal::predux;
using Eigen::internal::pset1;

// The sum of `rows` rows of len values (row stride `row`), four packets in flight.
template <typename T>
T plane_sum(const T* data, std::size_t row, int rows, std::size_t len) noexcept {
  using P = Packet<T>;
  constexpr std::size_t kP = kLanes<T>;
  P acc[4] = {pset1<P>(T{0}), pset1<P>(T{0}), pset1<P>(T{0}), pset1<P>(T{0})};
  T tail = 0;
  for (int y = 0; y < rows; ++y) {
    const T* r = data + static_cast<std::size_t>(y) * row;
    std::size_t j = 0;
    for (; j + 4 * kP <= len; j += 4 * kP) {
      for (std::size_t u = 0; u < 4; ++u) acc[u] = padd(acc[u], ploadu<P>(r + j + u * kP));
    }
    for (; j < len; ++j) tail += r[j];
  }
  return predux(padd(padd(acc[0], acc[1]), padd(acc[2], acc[3]))) + tail;
}

// weight_grad for G output channels (o0..), input channel c, kernel row ky, K kernel columns from
// kx0: acc[g][kx] += dz[o0+g][y][f] * in[c][y+ky][f + (kx0+kx)*n], G loads of dz and K of the
// input per G*K FMAs.
template <typename T, int G, int K>
void weight_tile(const T* in_c_ky, std::size_t in_row, const T* dz_o, std::size_t dz_plane,
                 std::size_t dz_row, std::size_t n, int rows, std::size_t len,
                 T* out[G][K]) noexcept {
  using P = Packet<T>;
  constexpr std::size_t kP = kLanes<T>;
  P acc[G][K];
  T tail[G][K];
  for (int g = 0; g < G; ++g) {
    for (int kx = 0; kx < K; ++kx) {
      acc[g][kx] = pset1<P>(T{0});
      tail[g][kx] = T{0};
    }
  }
  for (int y = 0; y < rows; ++y) {
    const T* src = in_c_ky + static_cast<std::size_t>(y) * in_row;
    const T* d = dz_o + static_cast<std::size_t>(y) * dz_row;
    std::size_t j = 0;
    for (; j + kP <= len; j += kP) {
      P dv[G];
      for (int g = 0; g < G; ++g) dv[g] = ploadu<P>(d + static_cast<std::size_t>(g) * dz_plane + j);
      for (int kx = 0; kx < K; ++kx) {
        const P v = ploadu<P>(src + static_cast<std::size_t>(kx) * n + j);
        for (int g = 0; g < G; ++g) acc[g][kx] = pmadd(dv[g], v, acc[g][kx]);
      }
    }
    for (; j < len; ++j) {
      for (int g = 0; g < G; ++g) {
        const T dg = d[static_cast<std::size_t>(g) * dz_plane + j];
        for (int kx = 0; kx < K; ++kx)
          tail[g][kx] += dg * src[static_cast<std::size_t>(kx) * n + j];
      }
    }
  }
  for (int g = 0; g < G; ++g) {
    for (int kx = 0; kx < K; ++kx) *out[g][kx] = predux(acc[g][kx]) + tail[g][kx];
  }
}

// All kernel columns of G output channels at (c, ky): one K-wide tile for the kernel sizes the
// networks use (3: cnn, 5: LeNet), one column at a time otherwise.
template <typename T, int G>
void weight_group(const ConvShape& s, int rows, std::size_t len, Planes<const T> in,
                  Planes<const T> dz, int o0, int c, int ky, T* weight_grad) noexcept {
  const int k = s.kernel;
  const T* src =
      in.data + static_cast<std::size_t>(c) * in.plane + static_cast<std::size_t>(ky) * in.row;
  const T* d = dz.data + static_cast<std::size_t>(o0) * dz.plane;
  auto at = [&](int g, int kx) {
    return weight_grad +
           ((static_cast<std::size_t>(o0 + g) * static_cast<std::size_t>(s.in_c) +
             static_cast<std::size_t>(c)) *
                static_cast<std::size_t>(k) +
            static_cast<std::size_t>(ky)) *
               static_cast<std::size_t>(k) +
           static_cast<std::size_t>(kx);
  };
  if (k == 3 || k == 5) {
    constexpr int kMax = 5;
    T* out[G][kMax];
    for (int g = 0; g < G; ++g) {
      for (int kx = 0; kx < k; ++kx) out[g][kx] = at(g, kx);
    }
    if (k == 3) {
      T* out3[G][3];
      for (int g = 0; g < G; ++g) std::copy(out[g], out[g] + 3, out3[g]);
      weight_tile<T, G, 3>(src, in.row, d, dz.plane, dz.row, s.n, rows, len, out3);
    } else {
      weight_tile<T, G, kMax>(src, in.row, d, dz.plane, dz.row, s.n, rows, len, out);
    }
    return;
  }
  for (int kx = 0; kx < k; ++kx) {
    T* out1[G][1];
    for (int g = 0; g < G; ++g) out1[g][0] = at(g, kx);
    weight_tile<T, G, 1>(src + static_cast<std::size_t>(kx) * s.n, in.row, d, dz.plane, dz.row, s.n,
                         rows, len, out1);
  }
}

// One pooled row back onto its two convolution rows: dz = dLoss/dpooled * f'(z) at each
// window's argmax, zero at its other three positions. f'(z) comes from the pooled output y = f(z):
// relu 1 where y > 0, sigmoid y (1 - y).
template <typename T>
void pool_backward_row(const T* pg, const T* pv, const T* arg, int pool_w, std::size_t n,
                       Activation activation, T* top, T* bottom) noexcept {
  using Eigen::internal::pcmp_eq;
  using Eigen::internal::pcmp_lt;
  using Eigen::internal::pmul;
  using Eigen::internal::pselect;
  using Eigen::internal::pstoreu;
  using Eigen::internal::psub;
  using P = Packet<T>;
  constexpr std::size_t kP = kLanes<T>;
  const P zero = pset1<P>(T{0});
  const P one = pset1<P>(T{1});
  const P pos[4] = {zero, one, pset1<P>(T{2}), pset1<P>(T{3})};
  const bool relu = activation == Activation::kRelu;
  for (int px = 0; px < pool_w; ++px) {
    const std::size_t f = static_cast<std::size_t>(px) * n;
    T* t = top + 2 * f;
    T* b = bottom + 2 * f;
    std::size_t i = 0;
    for (; i + kP <= n; i += kP) {
      const P y = ploadu<P>(pv + f + i);
      const P d = ploadu<P>(pg + f + i);
      const P g = relu ? pselect(pcmp_lt(zero, y), d, zero) : pmul(d, pmul(y, psub(one, y)));
      const P a = ploadu<P>(arg + f + i);
      pstoreu(t + i, pselect(pcmp_eq(a, pos[0]), g, zero));
      pstoreu(t + i + n, pselect(pcmp_eq(a, pos[1]), g, zero));
      pstoreu(b + i, pselect(pcmp_eq(a, pos[2]), g, zero));
      pstoreu(b + i + n, pselect(pcmp_eq(a, pos[3]), g, zero));
    }
    for (; i < n; ++i) {
      const T y = pv[f + i];
      const T g = relu ? (y > T{0} ? pg[f + i] : T{0}) : pg[f + i] * (y * (T{1} - y));
      const T a = arg[f + i];
      t[i] = a == T{0} ? g : T{0};
      t[i + n] = a == T{1} ? g : T{0};
      b[i] = a == T{2} ? g : T{0};
      b[i + n] = a == T{3} ? g : T{0};
    }
  }
}

}  // namespace

template <typename T>
void pool_backward(const ConvShape& s, Planes<const T> pooled_grad, Planes<const T> pooled,
                   const T* argmax, Activation activation, Planes<T> dz, T* bias_grad) noexcept {
  const int pool_h = s.out_h() / 2;
  const int pool_w = s.out_w() / 2;
  const std::size_t n = s.n;
  const std::size_t arg_row = static_cast<std::size_t>(pool_w) * n;
  const std::size_t arg_plane = static_cast<std::size_t>(pool_h) * arg_row;
  for (int o = 0; o < s.out_c; ++o) {
    T* dz_o = dz.data + static_cast<std::size_t>(o) * dz.plane;
    for (int py = 0; py < pool_h; ++py) {
      const std::size_t q =
          static_cast<std::size_t>(o) * arg_plane + static_cast<std::size_t>(py) * arg_row;
      const T* pg = pooled_grad.data + static_cast<std::size_t>(o) * pooled_grad.plane +
                    static_cast<std::size_t>(py) * pooled_grad.row;
      const T* pv = pooled.data + static_cast<std::size_t>(o) * pooled.plane +
                    static_cast<std::size_t>(py) * pooled.row;
      T* top = dz_o + static_cast<std::size_t>(2 * py) * dz.row;
      T* bottom = top + dz.row;
      pool_backward_row(pg, pv, argmax + q, pool_w, n, activation, top, bottom);
    }
    bias_grad[o] = plane_sum(dz_o, dz.row, 2 * pool_h, static_cast<std::size_t>(2 * pool_w) * n);
  }
}

template <typename T>
void conv_weight_grad(const ConvShape& s, int rows, int cols, Planes<const T> in,
                      Planes<const T> dz, T* weight_grad) noexcept {
  const std::size_t len = static_cast<std::size_t>(cols) * s.n;
  // G * K accumulators + G + 1 loaded packets must fit the registers: 32 with AVX-512, 16 below.
#ifdef EIGEN_VECTORIZE_AVX512
  const int group = 4;
#else
  const int group = s.kernel == 5 ? 2 : 4;
#endif
  for (int o0 = 0; o0 < s.out_c; o0 += group) {
    const int g = std::min(group, s.out_c - o0);
    for (int c = 0; c < s.in_c; ++c) {
      for (int ky = 0; ky < s.kernel; ++ky) {
        switch (g) {
          case 1:
            weight_group<T, 1>(s, rows, len, in, dz, o0, c, ky, weight_grad);
            break;
          case 2:
            weight_group<T, 2>(s, rows, len, in, dz, o0, c, ky, weight_grad);
            break;
          case 3:
            weight_group<T, 3>(s, rows, len, in, dz, o0, c, ky, weight_grad);
            break;
          default:
            weight_group<T, 4>(s, rows, len, in, dz, o0, c, ky, weight_grad);
        }
      }
    }
  }
}

template <typename T>
void conv_input_grad(const ConvShape& s, Planes<const T> dz_padded, const T* weights, int y0,
                     int rows, int x0, int cols, Planes<T> dx, T* flipped) noexcept {
  const auto k = static_cast<std::size_t>(s.kernel);
  const auto in_c = static_cast<std::size_t>(s.in_c);
  const auto out_c = static_cast<std::size_t>(s.out_c);
  // flipped[c][o][ky][kx] = w[o][c][k-1-ky][k-1-kx]: the full convolution's weights.
  for (std::size_t o = 0; o < out_c; ++o) {
    for (std::size_t c = 0; c < in_c; ++c) {
      for (std::size_t t = 0; t < k * k; ++t) {
        flipped[(c * out_c + o) * k * k + t] = weights[(o * in_c + c) * k * k + (k * k - 1 - t)];
      }
    }
  }
  const T* origin = dz_padded.data + static_cast<std::size_t>(y0) * dz_padded.row +
                    static_cast<std::size_t>(x0) * s.n;
  conv_rows_all<T>(origin, dz_padded.plane, dz_padded.row, s.out_c, s.kernel, s.n, flipped, nullptr,
                   s.in_c, static_cast<std::size_t>(cols) * s.n, rows, dx.data, dx.plane, dx.row);
}

template void pool_backward<float>(const ConvShape&, Planes<const float>, Planes<const float>,
                                   const float*, Activation, Planes<float>, float*) noexcept;
template void conv_weight_grad<float>(const ConvShape&, int, int, Planes<const float>,
                                      Planes<const float>, float*) noexcept;
template void conv_input_grad<float>(const ConvShape&, Planes<const float>, const float*, int, int,
                                     int, int, Planes<float>, float*) noexcept;
template void pool_backward<double>(const ConvShape&, Planes<const double>, Planes<const double>,
                                    const double*, Activation, Planes<double>, double*) noexcept;
template void conv_weight_grad<double>(const ConvShape&, int, int, Planes<const double>,
                                       Planes<const double>, double*) noexcept;
template void conv_input_grad<double>(const ConvShape&, Planes<const double>, const double*, int,
                                      int, int, int, Planes<double>, double*) noexcept;

}  // namespace psgd::detail::conv
