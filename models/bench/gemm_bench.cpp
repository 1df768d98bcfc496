// models/bench/gemm_bench.cpp — the machine's reference GEMM (Eigen's general float product on
// square 512 matrices, one thread) and the gathering of mini-batches, in the same binary as the
// training steps (model_bench.cpp), so the nightly job can report each model's kernel rate as a
// fraction of what this machine's GEMM does in the same run: a fraction that a slower or busier
// night leaves unchanged and a slower kernel does not.
//
// With OpenBLAS installed (Debian's libopenblas-dev), BM_ReferenceGemmOpenBLAS measures its
// cblas_sgemm on the same matrices, one thread, and registers "openblas_core" (the kernel set
// OpenBLAS chose at load: OPENBLAS_CORETYPE changes it) in the context, so the nightly job reports
// both and each model's step can be read against the faster of the two.
//
// Also registers "cpu_model" in the JSON context: Google Benchmark records the CPU count and
// clock but not the model, and `psgd compare` refuses to compare different CPUs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#if defined(PSGD_BENCH_OPENBLAS)
#include <cblas.h>
#endif

#include "common/cpu_model.hpp"
#include "common/eigen.hpp"
#include "common/random.hpp"
#include "models/batch_sampler.hpp"
#include "models/dataset.hpp"

namespace psgd {
namespace {

// Runs before main() (benchmark_main): AddCustomContext only fills a map the reporter reads.
const bool kContextRegistered = [] {
  benchmark::AddCustomContext("cpu_model", cpu_model_name());
#if defined(PSGD_BENCH_OPENBLAS)
  openblas_set_num_threads(1);  // one thread, as under the models (models/gemm.cpp)
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
  return true;
}();

// The rate of square n x n products, 2n^3 FLOPs each, as the `gflops` counter.
void count_square_gemm_gflops(benchmark::State& state, Eigen::Index n) {
  const double flops =
      2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  state.counters["gflops"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
}

// C = A * B with Eigen's blocked GEMM, the library the models were specified with. 512: large
// enough for the packed kernel to dominate (268 MFLOP per product, ~3-5 ms here), small enough
// for ten repetitions in a second.
void BM_ReferenceGemm(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  count_square_gemm_gflops(state, n);
}

#if defined(PSGD_BENCH_OPENBLAS)
// The same product with OpenBLAS's cblas_sgemm, one thread.
void BM_ReferenceGemmOpenBLAS(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  const auto bn = static_cast<blasint>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, bn, bn, bn, 1.0F, a.data(), bn, b.data(),
                bn, 0.0F, c.data(), bn);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  count_square_gemm_gflops(state, n);
}
BENCHMARK(BM_ReferenceGemmOpenBLAS)->Arg(512)->Unit(benchmark::kMillisecond);
#endif

// One worker's batch stream over 28x28 byte images (Fashion-MNIST's shape and storage): a random
// permutation walked b samples at a time, bytes scaled to floats into column-major features.
void BM_BatchAssembly(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  constexpr ImageShape kShape{1, 28, 28};
  constexpr std::size_t kSamples = 8192;
  SplitMix64 rng(3);
  std::vector<std::uint8_t> pixels(kSamples * kShape.size());
  for (std::uint8_t& p : pixels) p = static_cast<std::uint8_t>(rng.below(256));
  std::vector<std::int32_t> labels(kSamples);
  for (std::int32_t& y : labels) y = static_cast<std::int32_t>(rng.below(10));
  const Dataset data =
      Dataset::from_bytes(kShape, std::move(pixels), std::move(labels), 10, 1.0F / 255.0F);
  BatchSampler sampler(data, batch_size, 1);
  for (auto _ : state) {
    const Batch batch = sampler.next();
    benchmark::DoNotOptimize(batch.features);
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(batch_size),
                         benchmark::Counter::kIsRate);
}

BENCHMARK(BM_ReferenceGemm)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BatchAssembly)->Arg(32)->Arg(512)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace psgd
