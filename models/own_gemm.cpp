// models/own_gemm.cpp — psgd's own float GEMM kernel (own_gemm.hpp): packing and a register-tile
// micro-kernel, written once over a vector type, Vec (AVX-512 or AVX2 below), that the build's
// target selects.
#include "models/own_gemm.hpp"

#if defined(PSGD_OWN_GEMM_TARGET)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace psgd::detail {

#if defined(PSGD_OWN_GEMM_TARGET)

namespace {

// The vector each register tile is made of. A tile is two vectors tall (kMr rows) and kCols wide
// (kNr): 2 * kCols accumulators, two registers for A's column and one for B's broadcast element.
#if defined(__AVX512F__)
struct Vec {
  using Reg = __m512;
  static constexpr Index kWidth = 16;
  static constexpr Index kCols = 8;  // 16 accumulators of 32 zmm: enough to hide the FMA latency
  static constexpr const char* kName = "32x8 avx512";
  static Reg zero() noexcept { return _mm512_setzero_ps(); }
  static Reg load(const float* p) noexcept { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) noexcept { _mm512_storeu_ps(p, v); }
  static Reg add(Reg a, Reg b) noexcept { return _mm512_add_ps(a, b); }
  static Reg broadcast(const float* p) noexcept { return _mm512_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) noexcept { return _mm512_fmadd_ps(a, b, c); }
  // The first `lanes` floats at p (the rest of the register zero), and their store.
  static Reg load_first(const float* p, Index lanes) noexcept {
    return _mm512_maskz_loadu_ps(mask(lanes), p);
  }
  static void store_first(float* p, Reg v, Index lanes) noexcept {
    _mm512_mask_storeu_ps(p, mask(lanes), v);
  }
  static __mmask16 mask(Index lanes) noexcept {
    return static_cast<__mmask16>((std::uint32_t{1} << std::clamp<Index>(lanes, 0, kWidth)) - 1U);
  }
};
#else
struct Vec {
  using Reg = __m256;
  static constexpr Index kWidth = 8;
  static constexpr Index kCols = 6;  // 12 accumulators of 16 ymm, + 2 for A + 1 for B
  static constexpr const char* kName = "16x6 avx2";
  static Reg zero() noexcept { return _mm256_setzero_ps(); }
  static Reg load(const float* p) noexcept { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) noexcept { _mm256_storeu_ps(p, v); }
  static Reg add(Reg a, Reg b) noexcept { return _mm256_add_ps(a, b); }
  static Reg broadcast(const float* p) noexcept { return _mm256_broadcast_ss(p); }
  static Reg fma(Reg a, Reg b, Reg c) noexcept { return _mm256_fmadd_ps(a, b, c); }
  static Reg load_first(const float* p, Index lanes) noexcept {
    return _mm256_maskload_ps(p, mask(lanes));
  }
  static void store_first(float* p, Reg v, Index lanes) noexcept {
    _mm256_maskstore_ps(p, mask(lanes), v);
  }
  static __m256i mask(Index lanes) noexcept {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::clamp<Index>(lanes, 0, 8))),
                              lane);
  }
};
#endif

constexpr Index kMr = 2 * Vec::kWidth;  // the tile's rows
constexpr Index kNr = Vec::kCols;       // and columns
static_assert(kGemmMc % kMr == 0 && kGemmNc % kNr == 0);

// Transposes the 8x8 block held in r[0..7] (row i in r[i]) in place: the packers' way to turn
// eight contiguous runs of 8 floats into eight strided ones (AVX2 instructions, which every
// AVX-512F target has too).
inline void transpose8(__m256 r[8]) noexcept {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// Stores the first `count` floats of v at p (count <= 8): 8 for every group of a 32- or 8-wide
// panel, 6 for the AVX2 tile's 6-wide B panels (4 + 2, without a trip through memory).
inline void store8_first(float* p, __m256 v, Index count) noexcept {
  if (count == 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  if (count == 6) {
    _mm_storeu_ps(p, _mm256_castps256_ps128(v));
    _mm_storel_pi(reinterpret_cast<__m64*>(p + 4), _mm256_extractf128_ps(v, 1));
    return;
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  std::copy_n(lanes, count, p);
}

// Packs the `rows` x kc block at x (element (i, p) at x[i * rs + p * cs]) into `width`-row
// panel layout: for each p, the `width` rows' elements in a row, rows past `rows` zero.
// Transposes 8x8 blocks where the rows are contiguous (cs == 1) and copies runs of 8 where the
// columns are (rs == 1).
void pack_panel(Index rows, Index width, Index kc, const float* x, Index rs, Index cs,
                float* out) noexcept {
  Index p = 0;
  if (cs == 1) {  // groups of 8 rows (the last one partial where width is 6), rows past `rows` zero
    for (; p + 8 <= kc; p += 8) {
      for (Index i0 = 0; i0 < width; i0 += 8) {
        __m256 r[8];
        for (Index i = 0; i < 8; ++i) {
          r[i] = i0 + i < rows ? _mm256_loadu_ps(x + (i0 + i) * rs + p) : _mm256_setzero_ps();
        }
        transpose8(r);
        const Index group = std::min<Index>(8, width - i0);
        for (Index q = 0; q < 8; ++q) store8_first(out + (p + q) * width + i0, r[q], group);
      }
    }
  } else if (rs == 1) {
    for (; p < kc; ++p) {
      const float* column = x + p * cs;
      float* dst = out + p * width;
      Index i = 0;
      for (; i + 8 <= rows; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(column + i));
      for (; i < rows; ++i) dst[i] = column[i];
      for (; i < width; ++i) dst[i] = 0.0F;
    }
  }
  for (; p < kc; ++p) {
    for (Index i = 0; i < width; ++i) out[p * width + i] = i < rows ? x[i * rs + p * cs] : 0.0F;
  }
}

// Packs A (mc x kc) into kMr-row panels, B (kc x nc) into kNr-column panels (B's column j is
// B^T's row j, so the same packer serves both).
void pack_a(Index mc, Index kc, Operand<float> a, float* out) noexcept {
  for (Index i0 = 0; i0 < mc; i0 += kMr, out += kMr * kc) {
    pack_panel(std::min(kMr, mc - i0), kMr, kc, a.data + i0 * a.row_stride, a.row_stride,
               a.col_stride, out);
  }
}
void pack_b(Index kc, Index nc, Operand<float> b, float* out) noexcept {
  for (Index j0 = 0; j0 < nc; j0 += kNr, out += kNr * kc) {
    pack_panel(std::min(kNr, nc - j0), kNr, kc, b.data + j0 * b.col_stride, b.col_stride,
               b.row_stride, out);
  }
}

// The tile c (rows x Cols of C, column-major, ldc) = or += one packed A panel times the first
// Cols columns of one packed B panel, on the first Vecs (1 or 2) of the panel's two row vectors.
// Cols < kNr serves B's last columns and Vecs = 1 a panel of at most kWidth rows (half the FMAs
// of a full tile: A's last rows, e.g. 784 = 24 x 32 + 16); rows < Vecs * kWidth are masked in the
// loads and stores of C (the panel's zero rows cost FMAs but no branches).
// The loops over the tile's vectors and columns have constant bounds and must unroll completely
// so the accumulators live in registers: GCC 12 left the AVX2 tile's on the stack without the
// pragmas (2.3x slower at -O3, found in review), though it unrolled the AVX-512 one.
template <Index Vecs, Index Cols>
void tile(Index kc, const float* pa, const float* pb, float* c, Index ldc, Index rows,
          bool add) noexcept {
  typename Vec::Reg acc[Vecs * Cols];
#pragma GCC unroll 32
  for (auto& v : acc) v = Vec::zero();
  for (Index p = 0; p < kc; ++p, pa += kMr, pb += kNr) {
    typename Vec::Reg a[Vecs];
#pragma GCC unroll 2
    for (Index v = 0; v < Vecs; ++v) a[v] = Vec::load(pa + v * Vec::kWidth);
#pragma GCC unroll 16
    for (Index j = 0; j < Cols; ++j) {
      const auto bj = Vec::broadcast(pb + j);
#pragma GCC unroll 2
      for (Index v = 0; v < Vecs; ++v) acc[Vecs * j + v] = Vec::fma(a[v], bj, acc[Vecs * j + v]);
    }
  }
#pragma GCC unroll 16
  for (Index j = 0; j < Cols; ++j) {
#pragma GCC unroll 2
    for (Index v = 0; v < Vecs; ++v) {
      float* column = c + j * ldc + v * Vec::kWidth;
      const Index lanes = std::clamp<Index>(rows - v * Vec::kWidth, 0, Vec::kWidth);
      typename Vec::Reg sum = acc[Vecs * j + v];
      // Full vectors (every tile but A's last rows) without masks: AVX2's masked store
      // (vmaskmovps) is slow on AMD cores.
      if (lanes == Vec::kWidth) {
        if (add) sum = Vec::add(Vec::load(column), sum);
        Vec::store(column, sum);
      } else {
        if (add) sum = Vec::add(Vec::load_first(column, lanes), sum);
        Vec::store_first(column, sum, lanes);
      }
    }
  }
}

using TileFn = void (*)(Index, const float*, const float*, float*, Index, Index, bool) noexcept;

// tile<Vecs, 1> ... tile<Vecs, kNr>, indexed by the number of columns - 1.
template <Index Vecs, std::size_t... I>
constexpr std::array<TileFn, sizeof...(I)> tile_table(std::index_sequence<I...> /*unused*/) {
  return {&tile<Vecs, static_cast<Index>(I) + 1>...};
}
constexpr auto kFullTiles =
    tile_table<2>(std::make_index_sequence<static_cast<std::size_t>(kNr)>{});
constexpr auto kHalfTiles =
    tile_table<1>(std::make_index_sequence<static_cast<std::size_t>(kNr)>{});

}  // namespace

const char* own_gemm_tile() noexcept { return Vec::kName; }
Index own_gemm_min_rows() noexcept { return 17; }

void own_gemm(Index m, Index n, Index k, Operand<float> a, Operand<float> b, float* c, Index ldc,
              bool accumulate, GemmScratch<float>& scratch) noexcept {
  // Equal depth blocks (784 = 4 x 196, not 3 x 256 + 16): a thin last block would pay a full pass
  // over C for few FMAs. Rounded to 8 for the packers' 8x8 transposes.
  const Index k_blocks = (k + kGemmKc - 1) / kGemmKc;
  const Index k_step = std::min(kGemmKc, ((k + k_blocks - 1) / k_blocks + 7) / 8 * 8);
  for (Index jc = 0; jc < n; jc += kGemmNc) {
    const Index nc = std::min(kGemmNc, n - jc);
    for (Index pc = 0; pc < k; pc += k_step) {
      const Index kc = std::min(k_step, k - pc);
      const bool add = accumulate || pc > 0;
      pack_b(kc, nc, {b.data + pc * b.row_stride + jc * b.col_stride, b.row_stride, b.col_stride},
             scratch.b());
      for (Index ic = 0; ic < m; ic += kGemmMc) {
        const Index mc = std::min(kGemmMc, m - ic);
        pack_a(mc, kc, {a.data + ic * a.row_stride + pc * a.col_stride, a.row_stride, a.col_stride},
               scratch.a());
        for (Index jr = 0; jr < nc; jr += kNr) {
          const auto cols = static_cast<std::size_t>(std::min(kNr, nc - jr) - 1);
          const float* pb = scratch.b() + jr * kc;
          for (Index ir = 0; ir < mc; ir += kMr) {
            const Index rows = std::min(kMr, mc - ir);
            const TileFn run = rows > Vec::kWidth ? kFullTiles[cols] : kHalfTiles[cols];
            run(kc, scratch.a() + ir * kc, pb, c + (ic + ir) + (jc + jr) * ldc, ldc, rows, add);
          }
        }
      }
    }
  }
}

#else  // neither AVX2 + FMA nor AVX-512F: no own kernel (kOwnGemmBuilt is false)

const char* own_gemm_tile() noexcept { return ""; }
Index own_gemm_min_rows() noexcept { return 0; }

#endif

}  // namespace psgd::detail
