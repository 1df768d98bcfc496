// models/bench/mlp_parts_bench.cpp — one 784-128-128-128-10 MLP training step taken apart: each
// benchmark runs one part of the step, for every layer it is done on, with the shapes and the
// functions models/mlp.cpp runs (detail:: in models/mlp.hpp), so these parts plus the products
// (BM_MlpStepGemmsPsgd, mlp_gemm_bench.cpp) add up to about a step (training_step/
// mlp_128x128x128 in model_bench.cpp) and show where the time beyond the GEMMs goes:
//   BM_MlpPartBiasActivation/n      forward: bias + ReLU in one pass (3 layers), bias (logits)
//   BM_MlpPartSoftmax/n             softmax cross-entropy and its gradient on the 10 x n logits
//   BM_MlpPartBiasGradient/n        backward: dZ's row sums, 4 layers
//   BM_MlpPartActivationBackward/n  backward: dZ of the layer below from ReLU's mask, 3 layers
//   BM_MlpPartUpdate/n              theta -= step * grad over the 134,794 parameters (as the
//                                   benchmark's step does; independent of n)
// Results: docs/performance.md, "The MLP step, part by part".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/random.hpp"
#include "models/mlp.hpp"

namespace psgd {
namespace {

using detail::Index;

constexpr std::size_t kPartParams = 134794;

// A buffer of uniform noise in [-0.5, 0.5).
std::vector<float> part_noise(std::size_t size, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> v(size);
  for (float& x : v) x = rng.uniform01() - 0.5F;
  return v;
}

// Runs part(n) per iteration on batch n; reports samples/s of that part alone.
template <class Part>
void run_part(benchmark::State& state, Part&& part) {
  const Index n = state.range(0);
  for (auto _ : state) {
    part(n);
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                         benchmark::Counter::kIsRate);
}

void BM_MlpPartBiasActivation(benchmark::State& state) {
  const Index n = state.range(0);
  std::vector<float> z = part_noise(static_cast<std::size_t>(128 * n), 4);
  const std::vector<float> bias = part_noise(128, 5);
  run_part(state, [&](Index b) {
    for (int l = 0; l < 3; ++l) {
      detail::add_bias_and_activate(Activation::kRelu, detail::MatrixMap<float>(z.data(), 128, b),
                                    bias.data());
    }
    detail::add_bias(detail::MatrixMap<float>(z.data(), 10, b), bias.data());
  });
}

void BM_MlpPartSoftmax(benchmark::State& state) {
  const Index n = state.range(0);
  const std::vector<float> logits0 = part_noise(static_cast<std::size_t>(10 * n), 6);
  std::vector<float> logits = logits0;
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  run_part(state, [&](Index b) {
    // The gradient overwrites the logits: restore them (a 10 x n copy, a few percent of the part).
    std::copy(logits0.begin(), logits0.end(), logits.begin());
    benchmark::DoNotOptimize(detail::softmax_cross_entropy_gradient(
        detail::MatrixMap<float>(logits.data(), 10, b), labels.data()));
  });
}

void BM_MlpPartBiasGradient(benchmark::State& state) {
  const Index n = state.range(0);
  const std::vector<float> dz = part_noise(static_cast<std::size_t>(128 * n), 7);
  std::vector<float> out(128);
  run_part(state, [&](Index b) {
    for (int l = 0; l < 3; ++l) {
      detail::row_sums(detail::ConstMatrixMap<float>(dz.data(), 128, b), out.data());
    }
    detail::row_sums(detail::ConstMatrixMap<float>(dz.data(), 10, b), out.data());
  });
}

void BM_MlpPartActivationBackward(benchmark::State& state) {
  const Index n = state.range(0);
  const std::vector<float> a0 = part_noise(static_cast<std::size_t>(128 * n), 8);
  std::vector<float> a = a0;
  const std::vector<float> d = part_noise(static_cast<std::size_t>(128 * n), 9);
  run_part(state, [&](Index b) {
    for (int l = 0; l < 3; ++l) {
      detail::backprop_activation(Activation::kRelu, detail::MatrixMap<float>(a.data(), 128, b),
                                  detail::ConstMatrixMap<float>(d.data(), 128, b));
    }
  });
}

void BM_MlpPartUpdate(benchmark::State& state) {
  std::vector<float> theta = part_noise(kPartParams, 10);
  const std::vector<float> grad = part_noise(kPartParams, 11);
  run_part(state, [&](Index) {
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] -= 1e-6F * grad[i];
  });
}

void part_batches(benchmark::internal::Benchmark* b) {
  b->Arg(512)->Arg(128)->Arg(32)->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_MlpPartBiasActivation)->Apply(part_batches);
BENCHMARK(BM_MlpPartSoftmax)->Apply(part_batches);
BENCHMARK(BM_MlpPartBiasGradient)->Apply(part_batches);
BENCHMARK(BM_MlpPartActivationBackward)->Apply(part_batches);
BENCHMARK(BM_MlpPartUpdate)->Apply(part_batches);

}  // namespace
}  // namespace psgd
