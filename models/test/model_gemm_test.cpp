// models/test/model_gemm_test.cpp — which GEMM kernel each model's products run on, chosen once
// when the model is built (models/gemm.hpp): the dense models (linear, mlp) on the build's
// fastest kernel, OpenBLAS where the build links it; the convolutional models' dense heads on the
// builtin kernel (psgd's own where built, else Eigen's); single products OpenBLAS would allocate
// on, on the builtin kernel too; and products too thin for the own kernel, on Eigen's. The run
// document's context.gemm is gemm_kernels(model).
#include "models/model_gemm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "models/gemm.hpp"
#include "models/model_factory.hpp"
#include "models/own_gemm.hpp"

namespace psgd {
namespace {

template <class S>
std::string kernels_of(const std::string& spec, ImageShape shape) {
  return gemm_kernels(*make_model<S>(spec, Activation::kRelu, shape, 10));
}

template <class S>
void expect_kernels_per_model() {
  const bool openblas = detail::dense_gemm_kernel() == detail::GemmKernel::kOpenBlas;
  const bool in_float = sizeof(S) == sizeof(float);
  const bool own = in_float && detail::builtin_gemm_kernel() == detail::GemmKernel::kOwn;
  // A model on the builtin kernel: the own one where built, except its 10-class output layer's
  // forward product (10 rows: too thin for the own kernel), which runs on Eigen's.
  const std::string builtin = own ? "own+eigen" : "eigen";
  // Where OpenBLAS would allocate, the builtin kernel (the own one, or Eigen's).
  const std::string fallback = own ? "openblas+own" : "openblas+eigen";
  EXPECT_EQ(kernels_of<S>("linear", {1, 28, 28}), openblas ? "openblas" : builtin);
  EXPECT_EQ(kernels_of<S>("mlp:128x128x128", {1, 28, 28}), openblas ? "openblas" : builtin);
  EXPECT_EQ(kernels_of<S>("cnn", {1, 28, 28}), builtin);
  EXPECT_EQ(kernels_of<S>("lenet", {3, 32, 32}), builtin);
  // 200 -> 120: that layer's input gradient (200 x batch x 120, both operands column-major) is a
  // product OpenBLAS's AVX-512 float kernel allocates on (200 = 12 x 16 + 8), its double kernel
  // not (200 = 25 x 8).
  EXPECT_EQ(kernels_of<S>("mlp:200x120", {1, 28, 28}),
            !openblas ? builtin : (in_float ? fallback : "openblas"));
  // 40 = 2 x 16 + 8: the first layer's input gradient would be a product OpenBLAS allocates on,
  // but the Mlp never computes it, so it names no fallback kernel.
  EXPECT_EQ(kernels_of<S>("mlp:128", {1, 5, 8}), openblas ? "openblas" : builtin);
  // 196 = 12 x 16 + 4 = 24 x 8 + 4: a tail in both precisions.
  EXPECT_EQ(kernels_of<S>("mlp:196x120", {1, 28, 28}), openblas ? fallback : builtin);
}

TEST(ModelGemm, TheOwnKernelIsTheBuiltinOneWhereverTheTargetHasIt) {
#if defined(PSGD_OWN_GEMM)
  const bool wanted = true;
#else
  const bool wanted = false;
#endif
  EXPECT_EQ(detail::builtin_gemm_kernel() == detail::GemmKernel::kOwn,
            wanted && detail::kOwnGemmBuilt);
  EXPECT_EQ(std::string(detail::own_gemm_tile()).empty(), !detail::kOwnGemmBuilt);
}

TEST(ModelGemm, TheOwnKernelLeavesThinAndDoubleProductsToEigen) {
  using detail::GemmKernel;
  const float* none = nullptr;
  const double* none_d = nullptr;
  EXPECT_EQ(detail::own_gemm_min_rows(), detail::kOwnGemmBuilt ? 17 : 0);
  const detail::Index thin = detail::own_gemm_min_rows() - 1;
  const detail::Index rows = std::max<detail::Index>(detail::own_gemm_min_rows(), 1);
  EXPECT_EQ(detail::gemm_kernel_for(GemmKernel::kOwn, rows, 64, detail::col_major(none, rows),
                                    detail::col_major(none, 64)),
            GemmKernel::kOwn);
  if (thin >= 1) {
    EXPECT_EQ(detail::gemm_kernel_for(GemmKernel::kOwn, thin, 64, detail::col_major(none, thin),
                                      detail::col_major(none, 64)),
              GemmKernel::kEigen);
  }
  EXPECT_EQ(detail::gemm_kernel_for(GemmKernel::kOwn, 128, 64, detail::col_major(none_d, 128),
                                    detail::col_major(none_d, 64)),
            GemmKernel::kEigen);
}

TEST(ModelGemm, DenseModelsOnTheBuildsFastestKernelConvNetsOnTheBuiltinOne) {
  expect_kernels_per_model<float>();
  expect_kernels_per_model<double>();
}

TEST(ModelGemm, ABuildThatLinksOpenBlasRunsTheMlpOnItAndTheConvNetsOnEigen) {
#if defined(PSGD_TEST_EXPECT_OPENBLAS)
  EXPECT_EQ(detail::dense_gemm_kernel(), detail::GemmKernel::kOpenBlas);
  EXPECT_EQ(kernels_of<float>("mlp:128x128x128", {1, 28, 28}), "openblas");
  EXPECT_EQ(kernels_of<float>("linear", {1, 28, 28}), "openblas");
  const bool own = detail::builtin_gemm_kernel() == detail::GemmKernel::kOwn;
  const std::string builtin = own ? "own+eigen" : "eigen";
  EXPECT_EQ(kernels_of<float>("cnn", {1, 28, 28}), builtin);
  EXPECT_EQ(kernels_of<float>("lenet", {1, 28, 28}), builtin);
  EXPECT_NE(detail::openblas_core_name(), nullptr);
#else
  EXPECT_NE(detail::dense_gemm_kernel(), detail::GemmKernel::kOpenBlas);
  GTEST_SKIP() << "this build does not link OpenBLAS (PSGD_OPENBLAS=OFF, or none installed)";
#endif
}

// Operands by their strides alone (the rule never reads data): m x k A, k x n B.
template <class S>
bool allocates(detail::Index m, detail::Index k, bool a_col, bool b_col, detail::Index n = 64) {
  const S* none = nullptr;
  return detail::openblas_allocates(
      m, k, a_col ? detail::col_major(none, m) : detail::row_major(none, k),
      b_col ? detail::col_major(none, k) : detail::row_major(none, n));
}

TEST(ModelGemm, TheAllocationRuleNamesOnlyNoTransNoTransTails) {
  // float: 1-8 rows past a multiple of 16, depth >= 32, both operands NoTrans.
  EXPECT_TRUE(allocates<float>(200, 128, true, true));   // cnn's head: 200 = 12 x 16 + 8
  EXPECT_TRUE(allocates<float>(120, 84, true, true));    // lenet's: 120 = 7 x 16 + 8
  EXPECT_FALSE(allocates<float>(84, 10, true, true));    // depth 10 < 32
  EXPECT_FALSE(allocates<float>(128, 128, true, true));  // the MLP's: no tail
  EXPECT_FALSE(allocates<float>(137, 128, true, true));  // a tail of 9 rows
  EXPECT_FALSE(allocates<float>(200, 128, false, true));
  EXPECT_FALSE(allocates<float>(200, 128, true, false));
  // A row-major B of one column has row stride 1: gemm() passes it as NoTrans, so it counts.
  EXPECT_TRUE(allocates<float>(200, 128, true, false, 1));
  // double: 1-4 rows past a multiple of 8, depth >= 16.
  EXPECT_TRUE(allocates<double>(12, 16, true, true));
  EXPECT_FALSE(allocates<double>(13, 16, true, true));
  EXPECT_FALSE(allocates<double>(12, 15, true, true));
  // The fallback only ever replaces OpenBLAS.
  const float* none = nullptr;
  const auto a = detail::col_major(none, 200);
  const auto b = detail::col_major(none, 128);
  EXPECT_EQ(detail::gemm_kernel_for(detail::GemmKernel::kEigen, 200, 128, a, b),
            detail::GemmKernel::kEigen);
  EXPECT_EQ(detail::gemm_kernel_for(detail::GemmKernel::kOpenBlas, 200, 128, a, b),
            detail::builtin_gemm_kernel());
  EXPECT_EQ(detail::gemm_kernel_for(detail::GemmKernel::kOpenBlas, 128, 128,
                                    detail::col_major(none, 128), b),
            detail::GemmKernel::kOpenBlas);
}

}  // namespace
}  // namespace psgd
