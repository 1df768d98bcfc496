// models/conv/conv_rows.hpp — the register-blocked inner loops the convolution kernels share
// (internal to models/conv/*.cpp).
//
// Both loops keep a tile of Eigen packets in registers and stream the planar, batch-minor rows
// (models/conv/conv_kernels.hpp) through it, so each value loaded feeds several FMAs: with the
// small channel counts of these networks an im2col + GEMM spends more time building and packing
// the patch matrix than multiplying it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "common/eigen.hpp"

namespace psgd::detail::conv {

template <typename T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <typename T>
inline constexpr std::size_t kLanes = Eigen::internal::unpacket_traits<Packet<T>>::size;

// Valid convolution of G output channels over `rows` output rows of len = out_w * n values:
// out[g][r][f] = bias[g] + sum over c < in_c, ky, kx < k of w[g * wstride + (c*k + ky)*k + kx]
// * in[c][r + ky][f + kx * n] (bias null: 0). Two packets of every output row at a time: per tap
// 2 loads and G broadcasts feed 2G FMAs.
template <typename T, int G>
void conv_rows(const T* in, std::size_t in_plane, std::size_t in_row, int in_c, int k,
               std::size_t n, const T* w, const T* bias, std::size_t len, int rows, T* out,
               std::size_t out_plane, std::size_t out_row) noexcept {
  using Eigen::internal::ploadu;
  using Eigen::internal::pmadd;
  using Eigen::internal::pset1;
  using Eigen::internal::pstoreu;
  using P = Packet<T>;
  constexpr std::size_t kP = kLanes<T>;
  const std::size_t wstride =
      static_cast<std::size_t>(in_c) * static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  for (int r = 0; r < rows; ++r) {
    const T* in_r = in + static_cast<std::size_t>(r) * in_row;
    T* out_r = out + static_cast<std::size_t>(r) * out_row;
    std::size_t j = 0;
    for (; j + 2 * kP <= len; j += 2 * kP) {
      P a0[G];
      P a1[G];
      for (int g = 0; g < G; ++g) a0[g] = a1[g] = pset1<P>(bias ? bias[g] : T{0});
      const T* wt = w;
      for (int c = 0; c < in_c; ++c) {
        for (int ky = 0; ky < k; ++ky) {
          const T* src = in_r + static_cast<std::size_t>(c) * in_plane +
                         static_cast<std::size_t>(ky) * in_row + j;
          for (int kx = 0; kx < k; ++kx, ++wt, src += n) {
            const P v0 = ploadu<P>(src);
            const P v1 = ploadu<P>(src + kP);
            for (int g = 0; g < G; ++g) {
              const P wv = pset1<P>(wt[static_cast<std::size_t>(g) * wstride]);
              a0[g] = pmadd(wv, v0, a0[g]);
              a1[g] = pmadd(wv, v1, a1[g]);
            }
          }
        }
      }
      for (int g = 0; g < G; ++g) {
        pstoreu(out_r + static_cast<std::size_t>(g) * out_plane + j, a0[g]);
        pstoreu(out_r + static_cast<std::size_t>(g) * out_plane + j + kP, a1[g]);
      }
    }
    for (; j < len; ++j) {  // the tail, one value at a time
      T a[G];
      for (int g = 0; g < G; ++g) a[g] = bias ? bias[g] : T{0};
      const T* wt = w;
      for (int c = 0; c < in_c; ++c) {
        for (int ky = 0; ky < k; ++ky) {
          const T* src = in_r + static_cast<std::size_t>(c) * in_plane +
                         static_cast<std::size_t>(ky) * in_row + j;
          for (int kx = 0; kx < k; ++kx, ++wt, src += n) {
            for (int g = 0; g < G; ++g) a[g] += wt[static_cast<std::size_t>(g) * wstride] * *src;
          }
        }
      }
      for (int g = 0; g < G; ++g) out_r[static_cast<std::size_t>(g) * out_plane + j] = a[g];
    }
  }
}

// The most output channels conv_rows keeps in registers: 2G accumulators + 2 loaded packets + a
// broadcast weight must fit 32 registers with AVX-512 (G = 8), 16 below (G = 4).
#ifdef EIGEN_VECTORIZE_AVX512
inline constexpr int kMaxGroup = 8;
#else
inline constexpr int kMaxGroup = 4;
#endif

// Calls conv_rows for all out_c channels, in groups of equal size (6 channels: one group of 6,
// not 4 + 2) of at most kMaxGroup; weights, bias and out advance per group.
template <typename T>
void conv_rows_all(const T* in, std::size_t in_plane, std::size_t in_row, int in_c, int k,
                   std::size_t n, const T* w, const T* bias, int out_c, std::size_t len, int rows,
                   T* out, std::size_t out_plane, std::size_t out_row) noexcept {
  const std::size_t wstride =
      static_cast<std::size_t>(in_c) * static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
  const int groups = (out_c + kMaxGroup - 1) / kMaxGroup;
  const int size = (out_c + groups - 1) / groups;
  for (int o = 0; o < out_c; o += size) {
    const T* wo = w + static_cast<std::size_t>(o) * wstride;
    const T* bo = bias ? bias + o : nullptr;
    T* oo = out + static_cast<std::size_t>(o) * out_plane;
    const auto call = [&](auto group) {
      conv_rows<T, decltype(group)::value>(in, in_plane, in_row, in_c, k, n, wo, bo, len, rows, oo,
                                           out_plane, out_row);
    };
    switch (std::min(size, out_c - o)) {
      case 1:
        call(std::integral_constant<int, 1>{});
        break;
      case 2:
        call(std::integral_constant<int, 2>{});
        break;
      case 3:
        call(std::integral_constant<int, 3>{});
        break;
#ifdef EIGEN_VECTORIZE_AVX512
      case 4:
        call(std::integral_constant<int, 4>{});
        break;
      case 5:
        call(std::integral_constant<int, 5>{});
        break;
      case 6:
        call(std::integral_constant<int, 6>{});
        break;
      case 7:
        call(std::integral_constant<int, 7>{});
        break;
      default:
        call(std::integral_constant<int, 8>{});
#else
      default:
        call(std::integral_constant<int, 4>{});
#endif
    }
  }
}

}  // namespace psgd::detail::conv
