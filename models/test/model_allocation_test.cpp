// models/test/model_allocation_test.cpp — a training step allocates nothing: once a Workspace
// exists, loss_and_gradient() and evaluate() of every model make no heap allocation, through
// Eigen (its product expressions would allocate packing buffers, hence detail::gemm) or
// otherwise. Like EIGEN_RUNTIME_NO_MALLOC, but it needs no special build of the library and also
// catches std containers: this binary replaces malloc and its relatives (glibc allows a program
// to) with versions that count the calls made on a thread while it is armed. Sanitizer builds
// intercept malloc themselves, so there the test is skipped.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "models/batch_sampler.hpp"
#include "models/gemm.hpp"
#include "models/model_factory.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PSGD_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PSGD_COUNT_MALLOC 0
#endif
#endif
#if !defined(PSGD_COUNT_MALLOC) && defined(__GLIBC__)
#define PSGD_COUNT_MALLOC 1
#endif
#if !defined(PSGD_COUNT_MALLOC)
#define PSGD_COUNT_MALLOC 0
#endif

#if PSGD_COUNT_MALLOC
namespace {
thread_local bool g_armed = false;
thread_local std::size_t g_allocations = 0;
void note_allocation() noexcept {
  if (g_armed) ++g_allocations;
}
}  // namespace

// glibc's own entry points; free() stays glibc's and releases what these return.
// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): glibc's names.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* ptr, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

void* malloc(std::size_t size) noexcept {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* ptr, std::size_t size) noexcept {
  note_allocation();
  return __libc_realloc(ptr, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}  // extern "C"
#endif

namespace psgd {
namespace {

struct AllocationCase {
  std::string spec;
  Activation activation;
  ImageShape shape;
};

#if PSGD_COUNT_MALLOC
// One training step and one evaluation of every model in precision S, at several batch sizes,
// after the workspace is made: no allocation.
template <class S>
void expect_steps_allocate_nothing() {
  const AllocationCase cases[] = {{"linear", Activation::kRelu, {1, 28, 28}},
                                  {"mlp:128x128x128", Activation::kRelu, {1, 28, 28}},
                                  {"mlp:40x20", Activation::kSigmoid, {1, 28, 28}},
                                  // 200 -> 120's input gradient is a product OpenBLAS's AVX-512
                                  // kernel would allocate on: it must fall back (models/gemm.hpp).
                                  {"mlp:200x120", Activation::kRelu, {1, 28, 28}},
                                  {"cnn", Activation::kRelu, {1, 28, 28}},
                                  {"lenet", Activation::kRelu, {3, 32, 32}}};
  constexpr int kClasses = 10;
  constexpr std::size_t kMaxBatch = 130;  // more than one 128-row block, not a tile multiple
  for (const AllocationCase& c : cases) {
    const auto model = make_model<S>(c.spec, c.activation, c.shape, kClasses);
    std::vector<S> theta(model->num_params());
    initialize_params(*model, parse_init("he"), 3, theta);
    std::vector<S> grad(theta.size());
    std::vector<S> features(c.shape.size() * kMaxBatch);
    std::vector<std::int32_t> labels(kMaxBatch);
    SplitMix64 rng(4);
    for (S& f : features) f = rng.uniform01();
    for (std::int32_t& y : labels) y = static_cast<std::int32_t>(rng.below(kClasses));
    const auto ws = model->make_workspace(kMaxBatch);

    for (const std::size_t size : {kMaxBatch, std::size_t{1}, std::size_t{33}}) {
      const BasicBatch<S> batch{features.data(), labels.data(), size, c.shape.size()};
      g_allocations = 0;
      g_armed = true;
      const S loss = model->loss_and_gradient(theta, batch, grad, *ws);
      const EvalSums sums = model->evaluate(theta, batch, *ws);
      g_armed = false;
      EXPECT_EQ(g_allocations, 0U) << c.spec << " at batch " << size;
      EXPECT_GT(loss, S{0});
      EXPECT_EQ(sums.count, static_cast<std::int64_t>(size));
    }
  }
}
#endif

TEST(ModelAllocation, TrainingStepAndEvaluationAllocateNothing) {
#if !PSGD_COUNT_MALLOC
  GTEST_SKIP() << "malloc is the sanitizer's in this build";
#else
  // The counter itself must see allocations, or the test below proves nothing.
  g_armed = true;
  {
    std::vector<float> probe(1000);
    probe[0] = 1.0F;
    EXPECT_FLOAT_EQ(probe[0], 1.0F);
  }
  g_armed = false;
  ASSERT_GT(g_allocations, 0U);
  expect_steps_allocate_nothing<float>();
#endif
}

TEST(ModelAllocation, DoubleTrainingStepAndEvaluationAllocateNothing) {
#if !PSGD_COUNT_MALLOC
  GTEST_SKIP() << "malloc is the sanitizer's in this build";
#else
  expect_steps_allocate_nothing<double>();
#endif
}

#if PSGD_COUNT_MALLOC
// Calls of gemm() on `kernel` over shapes around OpenBLAS's 16-row (8 in double) tiles, its
// depth threshold and its small-matrix limit (m n k <= 1e6), every storage order: counts the
// calls that allocated, and of them those the per-product rule (gemm_kernel_for) leaves on
// `kernel`.
struct GemmAllocationCount {
  int calls = 0;
  int allocating = 0;
  int admitted_allocating = 0;
};
template <class S>
GemmAllocationCount count_gemm_allocations(detail::GemmKernel kernel) {
  using detail::Index;
  GemmAllocationCount out;
  detail::GemmScratch<S> scratch;
  std::vector<S> a(256 * 256, S{0.5});
  std::vector<S> b(256 * 256, S{0.25});
  std::vector<S> c(256 * 256);
  for (const Index m : {1, 4, 8, 9, 10, 16, 24, 25, 84, 120, 128, 200}) {
    for (const Index k : {10, 15, 16, 31, 32, 84, 128, 200}) {
      for (const Index n : {1, 33, 128}) {
        for (int orders = 0; orders < 4; ++orders) {
          const bool a_col = (orders & 1) == 0;
          const bool b_col = (orders & 2) == 0;
          const auto op_a = a_col ? detail::col_major(a.data(), m) : detail::row_major(a.data(), k);
          const auto op_b = b_col ? detail::col_major(b.data(), k) : detail::row_major(b.data(), n);
          g_allocations = 0;
          g_armed = true;
          detail::gemm(kernel, m, n, k, op_a, op_b, c.data(), m, false, scratch);
          g_armed = false;
          ++out.calls;
          const bool allocated = g_allocations > 0;
          out.allocating += allocated ? 1 : 0;
          const bool admitted = detail::gemm_kernel_for(kernel, m, k, op_a, op_b) == kernel;
          out.admitted_allocating += admitted && allocated ? 1 : 0;
        }
      }
    }
  }
  return out;
}

template <class S>
void expect_rule_admits_no_allocating_product() {
  if (detail::dense_gemm_kernel() != detail::GemmKernel::kOpenBlas) {
    GTEST_SKIP() << "this build does not link OpenBLAS";
  }
  const auto count = count_gemm_allocations<S>(detail::GemmKernel::kOpenBlas);
  ASSERT_GT(count.calls, 1000);
  // The direction that matters: no product the rule leaves on OpenBLAS allocates.
  EXPECT_EQ(count.admitted_allocating, 0) << "of " << count.allocating << " allocating calls";
  // And the rule guards against something real: on the AVX-512 cores OpenBLAS 0.3.21 does
  // allocate on the shapes it names (elsewhere it may allocate on none).
  const char* core = detail::openblas_core_name();
  for (const char* avx512 : {"SkylakeX", "Cooperlake", "SapphireRapids"}) {
    if (core != nullptr && std::strcmp(core, avx512) == 0) {
      EXPECT_GT(count.allocating, 0) << core;
    }
  }
  // The builtin kernel never allocates, whatever the shape.
  EXPECT_EQ(count_gemm_allocations<S>(detail::builtin_gemm_kernel()).allocating, 0);
}
#endif

TEST(ModelAllocation, NoOpenBlasProductTheRuleAdmitsAllocates) {
#if !PSGD_COUNT_MALLOC
  GTEST_SKIP() << "malloc is the sanitizer's in this build";
#else
  expect_rule_admits_no_allocating_product<float>();
#endif
}

TEST(ModelAllocation, NoDoubleOpenBlasProductTheRuleAdmitsAllocates) {
#if !PSGD_COUNT_MALLOC
  GTEST_SKIP() << "malloc is the sanitizer's in this build";
#else
  expect_rule_admits_no_allocating_product<double>();
#endif
}

}  // namespace
}  // namespace psgd
