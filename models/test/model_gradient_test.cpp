// models/test/model_gradient_test.cpp — every model's analytic gradient against central finite
// differences of its loss, on small random batches.
//
// Every case runs in both precisions (--precision). In float the loss is float, so steps cannot
// be tiny and the tolerance is loose; in double the steps are 100x smaller and the tolerance is
// 1000x (absolute) and 300x (relative) tighter, so a float-only path hiding in a double model
// (a float temporary, a float GEMM) fails it. ReLU and max-pool kinks
// make a coordinate's difference legitimately wrong when a step crosses one, and a conv weight
// touches thousands of units, so the non-smooth models may miss a share of coordinates per
// block; the smooth ones (linear, sigmoid MLP) must match everywhere. Coordinates are sampled per
// parameter block, so a bug in any one tensor (a bias, a transposed weight) fails the test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "models/batch_sampler.hpp"
#include "models/cnn.hpp"
#include "models/mlp.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace {

template <class S>
struct RandomBatch {
  std::vector<S> features;
  std::vector<std::int32_t> labels;
  BasicBatch<S> batch;
};

template <class S>
RandomBatch<S> random_batch(ImageShape shape, int num_classes, std::size_t size,
                            std::uint64_t seed) {
  RandomBatch<S> r;
  SplitMix64 rng(seed);
  r.features.resize(shape.size() * size);
  for (S& f : r.features) f = rng.uniform01();
  for (std::size_t i = 0; i < size; ++i) {
    r.labels.push_back(
        static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(num_classes))));
  }
  r.batch = {r.features.data(), r.labels.data(), size, shape.size()};
  return r;
}

// Every gradient above rests on detail::gemm, so it is checked on its own against a double
// reference: shapes around the own kernel's 32x8 and 16x6 register tiles and the 128x256x1536
// blocks, both storage orders of both operands, overwrite and accumulate, on every kernel the
// build has (Eigen's, the own one where built, OpenBLAS where linked).
template <class S>
void check_gemm_on(detail::GemmKernel kernel, double tolerance_per_term) {
  using detail::Index;
  detail::GemmScratch<S> scratch;
  SplitMix64 rng(5);
  const auto random = [&](std::size_t n) {
    std::vector<S> v(n);
    for (S& x : v) x = static_cast<S>(rng.uniform01() - 0.5);
    return v;
  };
  for (const Index m : {1, 7, 16, 17, 32, 33, 40, 130}) {
    for (const Index n : {1, 5, 6, 8, 9, 13, 32, 1545}) {  // 1545 > one 1536-column block
      for (const Index k : {1, 8, 9, 300, 520}) {
        if (n > 1000 && m * k > 200) continue;  // keeps the reference product quick
        for (int orders = 0; orders < 4; ++orders) {
          const bool a_rows = (orders & 1) != 0;
          const bool b_rows = (orders & 2) != 0;
          const Index lda = (a_rows ? k : m) + 3;  // padded leading dimensions
          const Index ldb = (b_rows ? n : k) + 1;
          const Index ldc = m + 2;
          const std::vector<S> a = random(static_cast<std::size_t>(lda * (a_rows ? m : k)));
          const std::vector<S> b = random(static_cast<std::size_t>(ldb * (b_rows ? k : n)));
          const detail::Operand<S> op_a =
              a_rows ? detail::row_major(a.data(), lda) : detail::col_major(a.data(), lda);
          const detail::Operand<S> op_b =
              b_rows ? detail::row_major(b.data(), ldb) : detail::col_major(b.data(), ldb);
          const std::vector<S> c0 = random(static_cast<std::size_t>(ldc * n));
          for (const bool accumulate : {false, true}) {
            std::vector<S> c = c0;
            detail::gemm(kernel, m, n, k, op_a, op_b, c.data(), ldc, accumulate, scratch);
            for (Index j = 0; j < n; ++j) {
              for (Index i = 0; i < ldc; ++i) {
                const S got = c[static_cast<std::size_t>(i + j * ldc)];
                const S before = c0[static_cast<std::size_t>(i + j * ldc)];
                if (i >= m) {  // padding rows of C are never touched
                  ASSERT_EQ(got, before);
                  continue;
                }
                double want = accumulate ? before : 0.0;
                for (Index p = 0; p < k; ++p) {
                  want +=
                      static_cast<double>(op_a.data[i * op_a.row_stride + p * op_a.col_stride]) *
                      op_b.data[p * op_b.row_stride + j * op_b.col_stride];
                }
                ASSERT_NEAR(got, want, tolerance_per_term * static_cast<double>(k + 1))
                    << m << "x" << n << "x" << k << " orders " << orders << " acc " << accumulate
                    << " at " << i << "," << j;
              }
            }
          }
        }
      }
    }
  }
}

template <class S>
void check_gemm(double tolerance_per_term) {
  std::vector<detail::GemmKernel> kernels{detail::GemmKernel::kEigen};
  if (detail::builtin_gemm_kernel() == detail::GemmKernel::kOwn && sizeof(S) == sizeof(float)) {
    kernels.push_back(detail::GemmKernel::kOwn);
  }
  if (detail::dense_gemm_kernel() == detail::GemmKernel::kOpenBlas) {
    kernels.push_back(detail::GemmKernel::kOpenBlas);
  }
  for (const detail::GemmKernel kernel : kernels) {
    SCOPED_TRACE(detail::gemm_kernel_name(kernel));
    check_gemm_on<S>(kernel, tolerance_per_term);
  }
}

TEST(Gemm, MatchesAReferenceProductOnEdgeShapes) { check_gemm<float>(1e-5); }
// Double runs Eigen's kernel (and OpenBLAS's dgemm where linked); its error is float's times about
// 2^-29.
TEST(Gemm, DoubleMatchesAReferenceProductOnEdgeShapes) { check_gemm<double>(1e-13); }

struct GradientCase {
  std::string name;
  std::string spec;
  Activation activation;
  ImageShape shape;
  std::size_t batch;
  std::size_t coords_per_block;
  bool smooth;  // no ReLU or max-pool kinks: every coordinate must match
};

void PrintTo(const GradientCase& c, std::ostream* os) { *os << c.name; }

// Finite-difference steps and tolerances of one precision: a coordinate matches when
// |numeric - analytic| <= absolute + relative * |analytic| at the first step, or (models with
// kinks only) at the smaller second step with its own absolute tolerance.
struct Tolerance {
  double step, absolute, fine_step, fine_absolute, relative;
};
constexpr Tolerance kFloatTolerance{1e-3, 1e-3, 2.5e-4, 4e-3, 3e-2};
constexpr Tolerance kDoubleTolerance{1e-5, 1e-6, 2.5e-6, 4e-6, 1e-4};

// "convnet-generic" is a ConvNet no spec names: 4x4 and 2x2 kernels (the kernels' generic
// weight-gradient path; cnn and lenet use the 3x3 and 5x5 tiles), 5 and 3 output channels (a
// partial group of 4), padding in both blocks (the second block's zero border inside the first
// one's pooled output), and odd maps.
template <class S>
std::unique_ptr<BasicModel<S>> make_case_model(const GradientCase& c, int classes) {
  if (c.spec == "convnet-generic") {
    return std::make_unique<ConvNet<S>>("convnet-generic", c.shape,
                                        std::vector<ConvBlockSpec>{{5, 4, 1}, {3, 2, 1}},
                                        std::vector<std::size_t>{7}, classes, c.activation);
  }
  return make_model<S>(c.spec, c.activation, c.shape, classes);
}

template <class S>
void check_gradient(const GradientCase& c, const Tolerance& tol) {
  constexpr int kClasses = 10;
  const auto model = make_case_model<S>(c, kClasses);
  std::vector<S> theta(model->num_params());
  // normal:0.1 also gives the biases values, so their gradients are not checked only at zero.
  initialize_params(*model, parse_init("he"), 7, theta);
  {
    std::vector<S> noise(theta.size());
    initialize_params(*model, parse_init("normal:0.05"), 8, noise);
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += noise[i];
  }
  const RandomBatch<S> data = random_batch<S>(c.shape, kClasses, c.batch, 11);
  const auto ws = model->make_workspace(c.batch);
  std::vector<S> grad(theta.size());
  const S loss = model->loss_and_gradient(theta, data.batch, grad, *ws);
  ASSERT_TRUE(std::isfinite(loss));

  const auto loss_at = [&](std::vector<S>& t) {
    const EvalSums sums = model->evaluate(t, data.batch, *ws);
    return sums.loss_sum / static_cast<double>(sums.count);
  };
  // Central differences at a small and a smaller step: a coordinate matches when either agrees
  // (a kink crossed at one step is usually not crossed at the other, while float round-off grows
  // as the step shrinks, hence the looser tolerance there).
  const auto matches = [&](std::size_t i, double step_size, double tolerance) {
    const auto step = static_cast<S>(step_size);
    const S saved = theta[i];
    theta[i] = saved + step;
    const double up = loss_at(theta);
    theta[i] = saved - step;
    const double down = loss_at(theta);
    theta[i] = saved;
    const double numeric = (up - down) / (2.0 * static_cast<double>(step));
    return std::abs(numeric - static_cast<double>(grad[i])) <=
           tolerance + tol.relative * std::abs(static_cast<double>(grad[i]));
  };
  SplitMix64 pick(3);
  std::size_t checked = 0;
  std::size_t failed = 0;
  for (const ParamBlock& block : model->layout()) {
    std::size_t block_failed = 0;
    const std::size_t n = std::min(c.coords_per_block, block.size());
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = block.offset + (n == block.size() ? k : pick.below(block.size()));
      if (matches(i, tol.step, tol.absolute) ||
          (!c.smooth && matches(i, tol.fine_step, tol.fine_absolute))) {
        continue;
      }
      ++block_failed;
      if (c.smooth || std::getenv("PSGD_VERBOSE") != nullptr) {
        ADD_FAILURE() << block.name << "[" << i - block.offset << "]: analytic " << grad[i];
      }
    }
    // A block with most coordinates off is a bug, not a kink.
    EXPECT_LE(block_failed * 5, n) << block.name << ": " << block_failed << " of " << n;
    checked += n;
    failed += block_failed;
  }
  EXPECT_LE(failed * 20, checked) << failed << " of " << checked << " coordinates off";
}

class ModelGradient : public ::testing::TestWithParam<GradientCase> {};

TEST_P(ModelGradient, MatchesCentralDifferences) {
  check_gradient<float>(GetParam(), kFloatTolerance);
}
TEST_P(ModelGradient, MatchesCentralDifferencesInDouble) {
  check_gradient<double>(GetParam(), kDoubleTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, ModelGradient,
    ::testing::Values(
        GradientCase{"Linear", "linear", Activation::kRelu, {1, 6, 6}, 5, 40, true},
        GradientCase{"MlpRelu", "mlp:16x12", Activation::kRelu, {1, 6, 6}, 5, 30, false},
        GradientCase{"MlpSigmoid", "mlp:16x12", Activation::kSigmoid, {1, 6, 6}, 5, 30, true},
        GradientCase{"Cnn28x28x1", "cnn", Activation::kRelu, {1, 28, 28}, 3, 20, false},
        // 17 samples: the pooling kernels' packets over samples (16, 8 or 4 lanes) and a tail.
        GradientCase{"Cnn28x28x1Batch17", "cnn", Activation::kRelu, {1, 28, 28}, 17, 20, false},
        GradientCase{"ConvNetGeneric13x12x2",
                     "convnet-generic",
                     Activation::kRelu,
                     {2, 13, 12},
                     5,
                     30,
                     false},
        GradientCase{"ConvNetGenericSigmoid",
                     "convnet-generic",
                     Activation::kSigmoid,
                     {2, 13, 12},
                     17,
                     30,
                     false},
        GradientCase{"CnnSigmoid12x12x2", "cnn", Activation::kSigmoid, {2, 12, 11}, 3, 20, false},
        GradientCase{"Lenet28x28x1", "lenet", Activation::kRelu, {1, 28, 28}, 2, 12, false},
        GradientCase{"Lenet32x32x3", "lenet", Activation::kRelu, {3, 32, 32}, 2, 12, false}),
    [](const ::testing::TestParamInfo<GradientCase>& param) { return param.param.name; });

}  // namespace
}  // namespace psgd
