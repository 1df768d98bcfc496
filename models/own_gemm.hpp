// models/own_gemm.hpp — psgd's own single-precision GEMM kernel: one of the kernels gemm()
// (models/gemm.hpp) runs, inside the same BLIS-style blocking, on the caller's GemmScratch, so it
// never allocates and takes no lock.
//
// Built where the compiler targets AVX2 + FMA (a register tile of 16 x 6 floats in 12 of the 16
// ymm registers) or AVX-512F (32 x 8 in 16 of the 32 zmm registers: on a core with full-width
// 512-bit FMA units, twice the FLOPs per instruction of the AVX2 tile); elsewhere (x86-64-v2)
// kOwnGemmBuilt is false and gemm() runs Eigen's kernel. The tile is fixed by the build's target,
// so a product is bit-for-bit repeatable for a given build; it agrees with Eigen's and OpenBLAS's
// to float round-off, not bit for bit (they sum in other orders).
#pragma once

#include "models/gemm.hpp"

namespace psgd::detail {

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define PSGD_OWN_GEMM_TARGET 1
inline constexpr bool kOwnGemmBuilt = true;
#else
inline constexpr bool kOwnGemmBuilt = false;
#endif

// "32x8 avx512", "16x6 avx2", or "" where kOwnGemmBuilt is false.
const char* own_gemm_tile() noexcept;

// The fewest rows of C (m) for which the own kernel runs a product where it is built: 17. A
// thinner product (the forward product of a 10-class output layer) fills at most half an AVX-512
// tile or one AVX2 tile, partly with zero rows, and Eigen's kernel, which has narrower tiles, was
// measured faster on it with both tiles (docs/performance.md, "The GEMM under the models");
// gemm_kernel_for() sends it there. 0 where the own kernel is not built.
Index own_gemm_min_rows() noexcept;

#if defined(PSGD_OWN_GEMM_TARGET)
// C (m x n, column-major, ldc) = A (m x k) * B (k x n), or C += A * B when accumulate, with
// m, n, k > 0. Packs through `scratch` in the block sizes below.
void own_gemm(Index m, Index n, Index k, Operand<float> a, Operand<float> b, float* c, Index ldc,
              bool accumulate, GemmScratch<float>& scratch) noexcept;
#endif

// gemm()'s blocking, shared with its Eigen path: A is packed kMc x kKc at a time (128 KiB, held in
// the L2), B kKc x kNc (its kKc x tile-width column panels each held in the L1 while A's row
// panels stream past).
inline constexpr Index kGemmKc = 256;
inline constexpr Index kGemmMc = 128;
inline constexpr Index kGemmNc = 1536;  // a multiple of every tile width (6 and 8)

}  // namespace psgd::detail
