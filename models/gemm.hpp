// models/gemm.hpp — the single-threaded, allocation-free GEMM every model's dense and
// convolution layers run on, in float or double (--precision).
//
// gemm() computes C = A * B (or C += A * B) for operands of either storage order, read in place
// through strides, with BLIS-style blocking: A packed in 128 x 256 panels (128 KiB, stays in the
// L2), B in 256 x 1536 panels, both into the caller's GemmScratch, so a call never allocates (an
// Eigen product expression would allocate its packing buffers on every call, since they exceed
// EIGEN_STACK_ALLOCATION_LIMIT for the 128x784x512 first MLP layer). Three kernels:
//
//   - psgd's own (float; the default wherever the build targets AVX2 + FMA or AVX-512F:
//     models/own_gemm.hpp): a 32x8 AVX-512 or 16x6 AVX2 register tile with its own packing,
//     which overwrites C instead of zero-filling it. -DPSGD_OWN_GEMM=OFF turns it off.
//   - Eigen's: Eigen 3.4's internal gebp kernel, driven through general_matrix_matrix_product with
//     our block sizes and buffers; it adds into C, so C is zero-filled first unless accumulating.
//     It runs double, every product of a build whose target has neither AVX2 + FMA nor AVX-512F
//     (x86-64-v2), and the products too thin for the own kernel's tile (own_gemm_min_rows()).
//   - OpenBLAS (opt-in: cmake -DPSGD_OPENBLAS=ON, or AUTO; Debian's libopenblas-dev): gemm()
//     calls cblas_sgemm / cblas_dgemm on the operands in place (no scratch), with OpenBLAS held to
//     one thread (the workers are psgd's threads; see gemm.cpp), so a call is deterministic for a
//     given build, machine and OpenBLAS core (openblas_core_name(), which OPENBLAS_CORETYPE can
//     change). Not the default because OpenBLAS 0.3.21 takes its packing buffer from a
//     process-wide pool under a mutex on every product above its small-matrix size
//     (blas_memory_alloc/free): every worker, of the lock-free methods too, would meet at a lock
//     that is not its method's.
//
// Measured on the models' shapes (docs/performance.md, "The GEMM under the models"): on the
// project's AVX-512 guest the own kernel runs the MLP step's products as fast as OpenBLAS
// (1.04-1.11x) and 1.28-1.32x Eigen's. The kernels agree to float round-off, not bit for bit; each
// is bit-for-bit repeatable for a given build and machine, and the run document's context.gemm
// names the ones a run's model used.
//
// The kernel is chosen per model and per product, once, when a model is built (never per worker
// or per step): the MLP's and `linear`'s products run on dense_gemm_kernel() (OpenBLAS where the
// build links it, else the builtin one), the convolutional models' dense heads on
// builtin_gemm_kernel() (the own kernel where built, else Eigen's); gemm_kernel_for() then moves a
// product OpenBLAS would allocate on (openblas_allocates(), below) to the builtin kernel, because
// a worker's loop must never allocate, and a product the own kernel does not suit to Eigen's
// (gemm_kernels(model): models/model_gemm.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/eigen.hpp"

namespace psgd::detail {

using Index = Eigen::Index;

// A read-only matrix operand: element (i, j) at data[i * row_stride + j * col_stride]; one of
// the strides is 1 (a column-major or a row-major matrix, or the transpose of one).
template <class S>
struct Operand {
  const S* data;
  Index row_stride;
  Index col_stride;
};
template <class S>
Operand<S> col_major(const S* data, Index ld) noexcept {
  return {data, 1, ld};
}
template <class S>
Operand<S> row_major(const S* data, Index ld) noexcept {
  return {data, ld, 1};
}

// Packing buffers for gemm(): one per worker, allocated once, so gemm() never allocates.
// S is float or double (instantiated in gemm.cpp).
template <class S>
class GemmScratch {
 public:
  GemmScratch();
  S* a() noexcept { return a_.data(); }
  S* b() noexcept { return b_.data(); }

 private:
  using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  Vector a_;  // Eigen-aligned: the kernels load packed panels with aligned loads
  Vector b_;
};

// The kernels gemm() can run. kOwn exists only in a build with PSGD_OWN_GEMM (the default) whose
// target has AVX2 + FMA or AVX-512F, and kOpenBlas only in one that links OpenBLAS; the functions
// below never return a kernel the build lacks.
enum class GemmKernel : std::uint8_t { kEigen, kOwn, kOpenBlas };

// The kernel that never allocates and is always built: psgd's own where built, else Eigen's.
GemmKernel builtin_gemm_kernel() noexcept;
// The fastest kernel this build has for the dense models' products: OpenBLAS where it is linked,
// else builtin_gemm_kernel().
GemmKernel dense_gemm_kernel() noexcept;
// "eigen", "own" or "openblas".
const char* gemm_kernel_name(GemmKernel kernel) noexcept;

// The kernels a model's (or a benchmark's) products ran on, named as the run document's
// context.gemm records them: joined by '+' in the order openblas, own, eigen ("own+eigen").
class GemmKernelsUsed {
 public:
  void add(GemmKernel kernel) noexcept { used_[static_cast<std::size_t>(kernel)] = true; }
  [[nodiscard]] std::string names() const;

 private:
  std::array<bool, 3> used_{};  // by GemmKernel
};

// Whether OpenBLAS 0.3.21's AVX-512 small-matrix kernel (SkylakeX, Cooperlake, SapphireRapids
// cores) may call malloc for C (m x n) = A (m x k) * B when gemm() hands it both operands as
// NoTrans (row_stride 1: column-major, or a row-major matrix with one column), for some n: it
// copies A's last m mod 16 rows (m mod 8 in double) aside into a buffer it mallocs per call when
// there are 1-8 of them (1-4 in double) and k >= 32 (16 in double), and takes that path when
// m*n*k <= 1e6. Found with gdb (the malloc comes from sgemm_small_kernel_b0_nn_COOPERLAKE) and
// checked against a malloc count over 39,520 shapes per precision (m 1..260, k 1..260, n 1..70),
// no mismatch; the other three storage orders, and the Haswell and Zen cores, allocated on none.
// Conservative: true whatever n and core. Only the operands' strides are read, never their data;
// pass kAnyDepth as k when the depth is not known in advance (a batch).
inline constexpr Index kAnyDepth = Index{1} << 40;
template <class S>
bool openblas_allocates(Index m, Index k, Operand<S> a, Operand<S> b) noexcept;

// The kernel for one product of a model that asks for `wanted`: `wanted`, except OpenBLAS on a
// product it may allocate on (then builtin_gemm_kernel()), and the own kernel on a double product
// or one of fewer than own_gemm_min_rows() rows (then Eigen's).
template <class S>
GemmKernel gemm_kernel_for(GemmKernel wanted, Index m, Index k, Operand<S> a,
                           Operand<S> b) noexcept;

// C (m x n, column-major, leading dimension ldc) = A (m x k) * B (k x n), or C += A * B when
// accumulate, on `kernel` (chosen once, before the workers start: gemm_kernel_for()).
// Single-threaded and allocation-free for every kernel gemm_kernel_for() returns; reentrant given
// one scratch per thread. gemm<double> runs Eigen's kernel where kOwn is asked (gemm_kernel_for()
// never asks it).
template <class S>
void gemm(GemmKernel kernel, Index m, Index n, Index k, Operand<S> a, Operand<S> b, S* c, Index ldc,
          bool accumulate, GemmScratch<S>& scratch) noexcept;
// OpenBLAS's name for the kernel set it chose at load (e.g. "Zen", "SkylakeX", "Haswell"), or
// nullptr in a build without OpenBLAS.
const char* openblas_core_name() noexcept;

}  // namespace psgd::detail
