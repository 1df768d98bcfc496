// models/bench/mlp_gemm_bench.cpp — the products of one 784-128-128-128-10 MLP training step,
// exactly as models/mlp.cpp issues them (same shapes, storage orders and strides), run through
// this build's gemm() on its builtin kernel (BM_MlpStepGemmsPsgd: psgd's own where the target has
// it, else Eigen's; the MLP itself runs on OpenBLAS where the build links it), on Eigen's
// (BM_MlpStepGemmsEigen) and, with OpenBLAS installed, through cblas_sgemm directly, one thread
// (BM_MlpStepGemmsOpenBLAS). All in one binary, so the GEMMs are compared on the models' own
// shapes within one run
// (docs/performance.md, "The GEMM under the models"), and the MLP step's GFLOP/s (model_bench.cpp)
// can be read against the best of them.
//
// Per step, per layer l (in -> out, batch n): forward Z = W X (out x n x in), the weight
// gradient dW^T = X dZ^T (in x out x n), and the input gradient dX = W^T dZ (in x n x out) for
// every layer but the first. The counter gflops counts 2 m n k per product.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#if defined(PSGD_BENCH_OPENBLAS)
#include <cblas.h>
#endif

#include "common/random.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using detail::col_major;
using detail::Index;
using detail::Operand;
using detail::row_major;

constexpr std::array<Index, 5> kWidths{784, 128, 128, 128, 10};

// The step's operands, filled with uniform noise once (values do not change the cost).
struct MlpOperands {
  std::vector<std::vector<float>> weights;      // layer l: out x in, row-major (as mlp.cpp)
  std::vector<std::vector<float>> activations;  // layer l's input: in x n, column-major
  std::vector<std::vector<float>> deltas;       // layer l's output gradient: out x n
  std::vector<std::vector<float>> results;      // room for each product's output
  explicit MlpOperands(Index n) {
    SplitMix64 rng(5);
    auto noise = [&rng](Index size) {
      std::vector<float> v(static_cast<std::size_t>(size));
      for (float& x : v) x = rng.uniform01() - 0.5F;
      return v;
    };
    for (std::size_t l = 0; l + 1 < kWidths.size(); ++l) {
      weights.push_back(noise(kWidths[l] * kWidths[l + 1]));
      activations.push_back(noise(kWidths[l] * n));
      deltas.push_back(noise(kWidths[l + 1] * n));
      results.push_back(noise(kWidths[l] * std::max(n, kWidths[l + 1])));
    }
  }
};

// Calls product(m, n, k, a, b, c, ldc) for every product of one step; returns their FLOPs.
template <class Product>
double mlp_step_products(MlpOperands& ops, Index n, Product&& product) {
  double flops = 0.0;
  for (std::size_t l = 0; l + 1 < kWidths.size(); ++l) {
    const Index in = kWidths[l];
    const Index out = kWidths[l + 1];
    const float* w = ops.weights[l].data();
    const float* x = ops.activations[l].data();
    const float* dz = ops.deltas[l].data();
    float* c = ops.results[l].data();
    product(out, n, in, row_major(w, in), col_major(x, in), c, out);   // forward
    product(in, out, n, col_major(x, in), row_major(dz, out), c, in);  // weight gradient
    flops += 4.0 * static_cast<double>(out * n * in);
    if (l > 0) {
      product(in, n, out, col_major(w, in), col_major(dz, out), c, in);  // input gradient
      flops += 2.0 * static_cast<double>(out * n * in);
    }
  }
  return flops;
}

template <class Product>
void run_mlp_products(benchmark::State& state, Product product) {
  const Index n = state.range(0);
  MlpOperands ops(n);
  double flops = 0.0;
  for (auto _ : state) {
    flops = mlp_step_products(ops, n, product);
    benchmark::ClobberMemory();
  }
  state.counters["gflops"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                         benchmark::Counter::kIsRate);
}

// The builtin kernel per product as the model chooses it (gemm_kernel_for(): the own kernel, and
// Eigen's for the 10-row output layer's forward product where it is too thin for the own tile).
void BM_MlpStepGemmsPsgd(benchmark::State& state) {
  detail::GemmScratch<float> scratch;
  const detail::GemmKernel kernel = detail::builtin_gemm_kernel();
  detail::GemmKernelsUsed used;  // for the label
  run_mlp_products(state, [&scratch, &used, kernel](Index m, Index n, Index k, Operand<float> a,
                                                    Operand<float> b, float* c, Index ldc) {
    const detail::GemmKernel chosen = detail::gemm_kernel_for(kernel, m, k, a, b);
    used.add(chosen);
    detail::gemm(chosen, m, n, k, a, b, c, ldc, false, scratch);
  });
  state.SetLabel(used.names());
}
BENCHMARK(BM_MlpStepGemmsPsgd)->Arg(512)->Arg(128)->Arg(32)->Unit(benchmark::kMicrosecond);

// Every product on Eigen's kernel (the -DPSGD_OWN_GEMM=OFF build's), for the ratio in one binary.
void BM_MlpStepGemmsEigen(benchmark::State& state) {
  detail::GemmScratch<float> scratch;
  run_mlp_products(state, [&scratch](Index m, Index n, Index k, Operand<float> a, Operand<float> b,
                                     float* c, Index ldc) {
    detail::gemm(detail::GemmKernel::kEigen, m, n, k, a, b, c, ldc, false, scratch);
  });
}
BENCHMARK(BM_MlpStepGemmsEigen)->Arg(512)->Arg(128)->Arg(32)->Unit(benchmark::kMicrosecond);

#if defined(PSGD_BENCH_OPENBLAS)
// An operand as column-major BLAS sees it (as models/gemm.cpp passes it).
std::pair<CBLAS_TRANSPOSE, blasint> blas_view(Operand<float> x) {
  return x.row_stride == 1 ? std::pair{CblasNoTrans, static_cast<blasint>(x.col_stride)}
                           : std::pair{CblasTrans, static_cast<blasint>(x.row_stride)};
}

void BM_MlpStepGemmsOpenBLAS(benchmark::State& state) {
  run_mlp_products(state, [](Index m, Index n, Index k, Operand<float> a, Operand<float> b,
                             float* c, Index ldc) {
    const auto [ta, lda] = blas_view(a);
    const auto [tb, ldb] = blas_view(b);
    cblas_sgemm(CblasColMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.0F, a.data, lda, b.data, ldb, 0.0F, c,
                static_cast<blasint>(ldc));
  });
}
BENCHMARK(BM_MlpStepGemmsOpenBLAS)->Arg(512)->Arg(128)->Arg(32)->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace psgd
