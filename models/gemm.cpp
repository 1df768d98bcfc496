// models/gemm.cpp — gemm(): BLIS-style blocking and packing into GemmScratch around Eigen's
// gebp kernel or, with PSGD_OWN_GEMM, psgd's own 16x6 AVX2/FMA kernel; or OpenBLAS's sgemm/dgemm
// where it is linked; and the per-product choice among them.
#include "models/gemm.hpp"

#if defined(PSGD_OWN_GEMM) && !(defined(__AVX2__) && defined(__FMA__))
#error \
    "PSGD_OWN_GEMM=ON needs AVX2 and FMA: build with PSGD_NATIVE=ON on an AVX2+FMA CPU (or add -mavx2 -mfma to CMAKE_CXX_FLAGS), or configure with -DPSGD_OWN_GEMM=OFF to use Eigen's kernel"
#endif

#if defined(PSGD_OWN_GEMM) && defined(PSGD_OPENBLAS)
#error \
    "PSGD_OWN_GEMM and PSGD_OPENBLAS both select the GEMM under the models: configure one of them"
#endif

#if defined(PSGD_OWN_GEMM) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#if defined(PSGD_OPENBLAS)
#include <cblas.h>
#endif

#include <algorithm>
#include <cassert>
#include <type_traits>
#include <utility>

namespace psgd::detail {

namespace {

// Blocking (BLIS-style): C is computed in kMr x kNr register tiles from A packed in kMr-row
// panels (kMc x kKc, 128 KiB: stays in the 512 KiB L2) and B packed in kNr-column panels
// (kKc x kNc); one kKc x kNr B panel (6 KiB) stays in the 32 KiB L1 while the A panels stream
// past it. 16x6 uses 12 of the 16 ymm registers as accumulators, two for A and one for B.
// (kMr and kNr are the own kernel's tile; a default build, on Eigen's kernel, does not use them.)
[[maybe_unused]] constexpr Index kMr = 16;
[[maybe_unused]] constexpr Index kNr = 6;
constexpr Index kKc = 256;
constexpr Index kMc = 128;
constexpr Index kNc = 1536;  // a multiple of kNr
// The B packer stores 8 floats per 6-float row (the next row overwrites the 2 extra): slack.
constexpr Index kPackSlack = 8;

#if defined(PSGD_OWN_GEMM) && defined(__AVX2__) && defined(__FMA__)  // psgd's own kernel

// Transposes the 8x8 block held in r[0..7] (row i in r[i]) in place.
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

// Packs A (mc x kc) into kMr-row panels: panel-major, then p, then the kMr rows; rows past mc
// are zero.
__attribute__((noinline)) void pack_a(Index mc, Index kc, const float* a, Index rs, Index cs,
                                      float* out) noexcept {
  for (Index i0 = 0; i0 < mc; i0 += kMr, out += kMr * kc) {
    const Index mr = std::min(kMr, mc - i0);
    const float* panel = a + i0 * rs;
    Index p = 0;
    if (mr == kMr && rs == 1) {  // columns contiguous: copy 16 floats per p
      for (; p < kc; ++p) {
        _mm256_store_ps(out + p * kMr, _mm256_loadu_ps(panel + p * cs));
        _mm256_store_ps(out + p * kMr + 8, _mm256_loadu_ps(panel + p * cs + 8));
      }
    } else if (mr == kMr && cs == 1) {  // rows contiguous: transpose 8x8 blocks
      for (; p + 8 <= kc; p += 8) {
        for (Index half = 0; half < 2; ++half) {
          __m256 r[8];
          for (Index i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(panel + (half * 8 + i) * rs + p);
          transpose8(r);
          for (Index j = 0; j < 8; ++j) _mm256_store_ps(out + (p + j) * kMr + half * 8, r[j]);
        }
      }
    }
    for (; p < kc; ++p) {
      for (Index i = 0; i < kMr; ++i) out[p * kMr + i] = i < mr ? panel[i * rs + p * cs] : 0.0F;
    }
  }
}

// Packs B (kc x nc) into kNr-column panels: panel-major, then p, then the kNr columns; columns
// past nc are zero. out must have kPackSlack floats of slack after the packed data.
__attribute__((noinline)) void pack_b(Index kc, Index nc, const float* b, Index rs, Index cs,
                                      float* out) noexcept {
  for (Index j0 = 0; j0 < nc; j0 += kNr, out += kNr * kc) {
    const Index nr = std::min(kNr, nc - j0);
    const float* panel = b + j0 * cs;
    Index p = 0;
    if (nr == kNr && rs == 1) {  // columns contiguous: transpose 8 x (6 + 2 zero) blocks
      for (; p + 8 <= kc; p += 8) {
        __m256 r[8];
        for (Index j = 0; j < kNr; ++j) r[j] = _mm256_loadu_ps(panel + j * cs + p);
        r[6] = _mm256_setzero_ps();
        r[7] = _mm256_setzero_ps();
        transpose8(r);
        // Each store writes 2 floats past its row; the next row's store overwrites them.
        for (Index q = 0; q < 8; ++q) _mm256_storeu_ps(out + (p + q) * kNr, r[q]);
      }
    } else if (nr == kNr && cs == 1) {  // rows contiguous: a masked 6-float load per p
      const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
      for (; p < kc; ++p) _mm256_storeu_ps(out + p * kNr, _mm256_maskload_ps(panel + p * rs, six));
    }
    for (; p < kc; ++p) {
      for (Index j = 0; j < kNr; ++j) out[p * kNr + j] = j < nr ? panel[p * rs + j * cs] : 0.0F;
    }
  }
}

// c (kMr x Nr, column-major, ldc) = or += the product of one packed A panel and the first Nr
// columns of one packed B panel. Nr < kNr serves the last columns, so they cost no wasted FMAs.
template <int Nr>
void kernel(Index kc, const float* pa, const float* pb, float* c, Index ldc, bool add) noexcept {
  __m256 acc[2 * Nr];
  for (__m256& v : acc) v = _mm256_setzero_ps();
  for (Index p = 0; p < kc; ++p, pa += kMr, pb += kNr) {
    const __m256 a0 = _mm256_load_ps(pa);
    const __m256 a1 = _mm256_load_ps(pa + 8);
    for (int j = 0; j < Nr; ++j) {
      const __m256 bj = _mm256_broadcast_ss(pb + j);
      acc[2 * j] = _mm256_fmadd_ps(a0, bj, acc[2 * j]);
      acc[2 * j + 1] = _mm256_fmadd_ps(a1, bj, acc[2 * j + 1]);
    }
  }
  for (int j = 0; j < Nr; ++j) {
    float* col = c + j * ldc;
    if (add) {
      acc[2 * j] = _mm256_add_ps(_mm256_loadu_ps(col), acc[2 * j]);
      acc[2 * j + 1] = _mm256_add_ps(_mm256_loadu_ps(col + 8), acc[2 * j + 1]);
    }
    _mm256_storeu_ps(col, acc[2 * j]);
    _mm256_storeu_ps(col + 8, acc[2 * j + 1]);
  }
}

void kernel_columns(Index nr, Index kc, const float* pa, const float* pb, float* c, Index ldc,
                    bool add) noexcept {
  switch (nr) {
    case 1:
      return kernel<1>(kc, pa, pb, c, ldc, add);
    case 2:
      return kernel<2>(kc, pa, pb, c, ldc, add);
    case 3:
      return kernel<3>(kc, pa, pb, c, ldc, add);
    case 4:
      return kernel<4>(kc, pa, pb, c, ldc, add);
    case 5:
      return kernel<5>(kc, pa, pb, c, ldc, add);
    default:
      return kernel<kNr>(kc, pa, pb, c, ldc, add);
  }
}

void own_gemm_kernel(Index m, Index n, Index k, Operand<float> a, Operand<float> b, float* c,
                     Index ldc, bool accumulate, GemmScratch<float>& scratch) noexcept {
  alignas(32) float tile[kMr * kNr];
  // Equal depth blocks (784 = 4 x 196, not 3 x 256 + 16): a thin last block would pay a full
  // pass over C for few FMAs. Rounded to 8 for the 8x8 packing transposes.
  const Index k_blocks = (k + kKc - 1) / kKc;
  const Index k_step = std::min(kKc, ((k + k_blocks - 1) / k_blocks + 7) / 8 * 8);
  for (Index jc = 0; jc < n; jc += kNc) {
    const Index nc = std::min(kNc, n - jc);
    for (Index pc = 0; pc < k; pc += k_step) {
      const Index kc = std::min(k_step, k - pc);
      const bool add = accumulate || pc > 0;
      pack_b(kc, nc, b.data + pc * b.row_stride + jc * b.col_stride, b.row_stride, b.col_stride,
             scratch.b());
      for (Index ic = 0; ic < m; ic += kMc) {
        const Index mc = std::min(kMc, m - ic);
        pack_a(mc, kc, a.data + ic * a.row_stride + pc * a.col_stride, a.row_stride, a.col_stride,
               scratch.a());
        for (Index jr = 0; jr < nc; jr += kNr) {
          const Index nr = std::min(kNr, nc - jr);
          const float* pb = scratch.b() + jr * kc;
          for (Index ir = 0; ir < mc; ir += kMr) {
            const Index mr = std::min(kMr, mc - ir);
            const float* pa = scratch.a() + ir * kc;
            float* tile_c = c + (ic + ir) + (jc + jr) * ldc;
            if (mr == kMr) {
              kernel_columns(nr, kc, pa, pb, tile_c, ldc, add);
              continue;
            }
            // Fewer than kMr rows left: compute the tile aside, then add or copy its valid part.
            kernel_columns(nr, kc, pa, pb, tile, kMr, false);
            for (Index j = 0; j < nr; ++j) {
              for (Index i = 0; i < mr; ++i) {
                float& dst = tile_c[i + j * ldc];
                dst = add ? dst + tile[i + j * kMr] : tile[i + j * kMr];
              }
            }
          }
        }
      }
    }
  }
}

#endif  // PSGD_OWN_GEMM

// The default (and double's without OpenBLAS): Eigen's, with our fixed block sizes and buffers.
template <class S>
class FixedBlocking : public Eigen::internal::level3_blocking<S, S> {
 public:
  FixedBlocking(S* a, S* b) noexcept {
    using Base = Eigen::internal::level3_blocking<S, S>;
    Base::m_mc = kMc;
    Base::m_nc = kNc;
    Base::m_kc = kKc;
    Base::m_blockA = a;
    Base::m_blockB = b;
  }
};

template <int LhsOrder, int RhsOrder, class S>
void eigen_gemm(Index m, Index n, Index k, Operand<S> a, Operand<S> b, S* c, Index ldc,
                GemmScratch<S>& scratch) noexcept {
  FixedBlocking<S> blocking(scratch.a(), scratch.b());
  const Index lda = LhsOrder == Eigen::ColMajor ? a.col_stride : a.row_stride;
  const Index ldb = RhsOrder == Eigen::ColMajor ? b.col_stride : b.row_stride;
  Eigen::internal::general_matrix_matrix_product<Index, S, LhsOrder, false, S, RhsOrder, false,
                                                 Eigen::ColMajor, 1>::run(m, n, k, a.data, lda,
                                                                          b.data, ldb, c, 1, ldc,
                                                                          S{1}, blocking);
}

template <class S>
void eigen_gemm_kernel(Index m, Index n, Index k, Operand<S> a, Operand<S> b, S* c, Index ldc,
                       bool accumulate, GemmScratch<S>& scratch) noexcept {
  if (!accumulate) {
    for (Index j = 0; j < n; ++j) std::fill_n(c + j * ldc, m, S{0});
  }
  const bool a_col = a.row_stride == 1;
  const bool b_col = b.row_stride == 1;
  if (a_col && b_col) {
    eigen_gemm<Eigen::ColMajor, Eigen::ColMajor>(m, n, k, a, b, c, ldc, scratch);
  } else if (a_col) {
    eigen_gemm<Eigen::ColMajor, Eigen::RowMajor>(m, n, k, a, b, c, ldc, scratch);
  } else if (b_col) {
    eigen_gemm<Eigen::RowMajor, Eigen::ColMajor>(m, n, k, a, b, c, ldc, scratch);
  } else {
    eigen_gemm<Eigen::RowMajor, Eigen::RowMajor>(m, n, k, a, b, c, ldc, scratch);
  }
}

#if defined(PSGD_OPENBLAS)  // OpenBLAS's cblas_?gemm on the operands in place

// One BLAS thread: psgd's workers are the threads, and a pool of OpenBLAS's own under each would
// oversubscribe the cores and make a product's summation order depend on the pool. Set before
// main(), so before any worker calls gemm(): with one thread, OpenBLAS (the pthread variant,
// which Debian's libopenblas-dev installs) computes every call on the calling thread, with the
// blocking of the kernel it picked for this CPU at load (openblas_get_corename()).
const bool kOpenBlasSingleThreaded = [] {
  openblas_set_num_threads(1);
  return true;
}();

// The operand as a column-major BLAS matrix: stored column-major (NoTrans) or row-major, i.e.
// the transpose of a column-major one (Trans), with its leading dimension. BLAS insists on
// ld >= the stored rows even where it never steps by it (one column), hence the max.
template <class S>
std::pair<CBLAS_TRANSPOSE, blasint> blas_operand(Operand<S> x, Index rows, Index cols) noexcept {
  if (x.row_stride == 1) {
    return {CblasNoTrans, static_cast<blasint>(std::max(x.col_stride, std::max<Index>(rows, 1)))};
  }
  return {CblasTrans, static_cast<blasint>(std::max(x.row_stride, std::max<Index>(cols, 1)))};
}

template <class S>
void openblas_gemm(Index m, Index n, Index k, Operand<S> a, Operand<S> b, S* c, Index ldc,
                   bool accumulate) noexcept {
  const auto [ta, lda] = blas_operand(a, m, k);
  const auto [tb, ldb] = blas_operand(b, k, n);
  const S beta = accumulate ? S{1} : S{0};  // beta 0: C is written, never read
  const auto bm = static_cast<blasint>(m);
  const auto bn = static_cast<blasint>(n);
  const auto bk = static_cast<blasint>(k);
  const auto bldc = static_cast<blasint>(ldc);
  if constexpr (std::is_same_v<S, float>) {
    cblas_sgemm(CblasColMajor, ta, tb, bm, bn, bk, 1.0F, a.data, lda, b.data, ldb, beta, c, bldc);
  } else {
    cblas_dgemm(CblasColMajor, ta, tb, bm, bn, bk, 1.0, a.data, lda, b.data, ldb, beta, c, bldc);
  }
}

#endif  // PSGD_OPENBLAS

}  // namespace

GemmKernel builtin_gemm_kernel() noexcept {
#if defined(PSGD_OWN_GEMM)
  return GemmKernel::kOwn;
#else
  return GemmKernel::kEigen;
#endif
}

GemmKernel dense_gemm_kernel() noexcept {
#if defined(PSGD_OPENBLAS)
  return GemmKernel::kOpenBlas;
#else
  return builtin_gemm_kernel();
#endif
}

const char* gemm_kernel_name(GemmKernel kernel) noexcept {
  switch (kernel) {
    case GemmKernel::kOwn:
      return "own";
    case GemmKernel::kOpenBlas:
      return "openblas";
    case GemmKernel::kEigen:
      break;
  }
  return "eigen";
}

template <class S>
bool openblas_allocates(Index m, Index k, Operand<S> a, Operand<S> b) noexcept {
  // NoTrans exactly as openblas_gemm() passes the operand (blas_operand()).
  if (a.row_stride != 1 || b.row_stride != 1) return false;
  // The AVX-512 kernel's row tile (16 floats, 8 doubles) and the depth from which it copies.
  constexpr Index kTile = std::is_same_v<S, float> ? 16 : 8;
  constexpr Index kMinDepth = std::is_same_v<S, float> ? 32 : 16;
  const Index left = m % kTile;
  return left >= 1 && left <= kTile / 2 && k >= kMinDepth;
}

template <class S>
GemmKernel gemm_kernel_for(GemmKernel wanted, Index m, Index k, Operand<S> a,
                           Operand<S> b) noexcept {
  if (wanted == GemmKernel::kOpenBlas && openblas_allocates(m, k, a, b)) {
    return builtin_gemm_kernel();
  }
  return wanted;
}

const char* openblas_core_name() noexcept {
#if defined(PSGD_OPENBLAS)
  return openblas_get_corename();
#else
  return nullptr;
#endif
}

template <class S>
GemmScratch<S>::GemmScratch() : a_(kMc * kKc), b_(kKc * kNc + kPackSlack) {}

template <class S>
void gemm([[maybe_unused]] GemmKernel kernel, Index m, Index n, Index k, Operand<S> a, Operand<S> b,
          S* c, Index ldc, bool accumulate, GemmScratch<S>& scratch) noexcept {
  assert(a.row_stride == 1 || a.col_stride == 1);
  assert(b.row_stride == 1 || b.col_stride == 1);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) {
      for (Index j = 0; j < n; ++j) std::fill_n(c + j * ldc, m, S{0});
    }
    return;
  }
  // One test per call on a value fixed since the model was built: always predicted, and a call
  // is at least a few thousand FMAs. A kernel this build lacks is never asked for (the functions
  // above never return it); it would run Eigen's.
#if defined(PSGD_OPENBLAS)
  if (kernel == GemmKernel::kOpenBlas) {
    // OpenBLAS packs into its own buffers, allocated once when it loads.
    openblas_gemm(m, n, k, a, b, c, ldc, accumulate);
    return;
  }
#endif
#if defined(PSGD_OWN_GEMM) && defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<S, float>) {
    if (kernel == GemmKernel::kOwn) {
      own_gemm_kernel(m, n, k, a, b, c, ldc, accumulate, scratch);
      return;
    }
  }
#endif
  eigen_gemm_kernel(m, n, k, a, b, c, ldc, accumulate, scratch);
}

template class GemmScratch<float>;
template class GemmScratch<double>;
template void gemm(GemmKernel, Index, Index, Index, Operand<float>, Operand<float>, float*, Index,
                   bool, GemmScratch<float>&) noexcept;
template void gemm(GemmKernel, Index, Index, Index, Operand<double>, Operand<double>, double*,
                   Index, bool, GemmScratch<double>&) noexcept;
template bool openblas_allocates(Index, Index, Operand<float>, Operand<float>) noexcept;
template bool openblas_allocates(Index, Index, Operand<double>, Operand<double>) noexcept;
template GemmKernel gemm_kernel_for(GemmKernel, Index, Index, Operand<float>,
                                    Operand<float>) noexcept;
template GemmKernel gemm_kernel_for(GemmKernel, Index, Index, Operand<double>,
                                    Operand<double>) noexcept;

}  // namespace psgd::detail
