// models/gemm.cpp — gemm(): psgd's own kernel (own_gemm.cpp), or BLIS-style blocking and packing
// into GemmScratch around Eigen's gebp kernel, or OpenBLAS's sgemm/dgemm where it is linked; and
// the per-product choice among them.
#include "models/gemm.hpp"

#include "models/own_gemm.hpp"

#if defined(PSGD_OPENBLAS)
#include <cblas.h>
#endif

#include <algorithm>
#include <cassert>
#include <type_traits>
#include <utility>

namespace psgd::detail {

namespace {

// Eigen's kernel (double's without OpenBLAS, thin products', and every product of a build without
// the own kernel), with our fixed block sizes and buffers.
template <class S>
class FixedBlocking : public Eigen::internal::level3_blocking<S, S> {
 public:
  FixedBlocking(S* a, S* b) noexcept {
    using Base = Eigen::internal::level3_blocking<S, S>;
    Base::m_mc = kGemmMc;
    Base::m_nc = kGemmNc;
    Base::m_kc = kGemmKc;
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
  if constexpr (kOwnGemmBuilt) return GemmKernel::kOwn;
#endif
  return GemmKernel::kEigen;
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

std::string GemmKernelsUsed::names() const {
  std::string names;
  for (const GemmKernel kernel : {GemmKernel::kOpenBlas, GemmKernel::kOwn, GemmKernel::kEigen}) {
    if (!used_[static_cast<std::size_t>(kernel)]) continue;
    // Appended piecewise: `"+" + std::string(name)` trips GCC 12's false -Wrestrict at -O3.
    if (!names.empty()) names += '+';
    names += gemm_kernel_name(kernel);
  }
  return names;
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
  GemmKernel kernel = wanted;
  if (kernel == GemmKernel::kOpenBlas && openblas_allocates(m, k, a, b)) {
    kernel = builtin_gemm_kernel();
  }
  if (kernel == GemmKernel::kOwn && (!std::is_same_v<S, float> || m < own_gemm_min_rows())) {
    kernel = GemmKernel::kEigen;
  }
  return kernel;
}

const char* openblas_core_name() noexcept {
#if defined(PSGD_OPENBLAS)
  return openblas_get_corename();
#else
  return nullptr;
#endif
}

template <class S>
GemmScratch<S>::GemmScratch() : a_(kGemmMc * kGemmKc), b_(kGemmKc * kGemmNc) {}

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
#if defined(PSGD_OWN_GEMM_TARGET)
  if constexpr (std::is_same_v<S, float>) {
    if (kernel == GemmKernel::kOwn) {
      own_gemm(m, n, k, a, b, c, ldc, accumulate, scratch);
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
