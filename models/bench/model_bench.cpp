// models/bench/model_bench.cpp — one full SGD training step (loss_and_gradient, then
// theta -= step * grad) per iteration, on random data, reported as samples per second.
//
// Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true and read the
// medians; the rates (samples_per_second, and gflops: the step's GEMM work per second) are per
// CPU second of the benchmark thread. gemm_bench.cpp's BM_ReferenceGemm in the same binary is
// the machine's GEMM rate these are a fraction of (the nightly job reports that fraction), and
// mlp_gemm_bench.cpp's BM_MlpStepGemmsOpenBLAS the best sgemm on the MLP's own shapes. A
// 784-128-128-128-10 MLP step is ~606 kFLOP per sample (forward 269k, weight gradients 269k, input
// gradients of the upper layers 68k). Each model's label names the GEMM kernels it ran on
// (models/gemm.hpp); -DPSGD_OWN_GEMM=OFF builds the Eigen-only comparison.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/batch_sampler.hpp"
#include "models/model_factory.hpp"
#include "models/model_flops.hpp"
#include "models/model_gemm.hpp"

namespace psgd {
namespace {

constexpr ImageShape kMnist{1, 28, 28};
constexpr ImageShape kCifar{3, 32, 32};
constexpr int kClasses = 10;
// A typical step size; its value does not change the cost of the step.
constexpr float kStepSize = 0.01F;

void training_step_on(benchmark::State& state, const std::string& spec, ImageShape shape) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const auto model = make_model(spec, Activation::kRelu, shape, kClasses);
  std::vector<float> theta(model->num_params());
  initialize_params(*model, parse_init("he"), 1, theta);
  std::vector<float> grad(theta.size());

  std::vector<float> features(shape.size() * batch_size);
  std::vector<std::int32_t> labels(batch_size);
  SplitMix64 rng(2);
  for (float& f : features) f = rng.uniform01();
  for (std::int32_t& y : labels) y = static_cast<std::int32_t>(rng.below(kClasses));
  const Batch batch{features.data(), labels.data(), batch_size, shape.size()};
  const auto ws = model->make_workspace(batch_size);

  for (auto _ : state) {
    const float loss = model->loss_and_gradient(theta, batch, grad, *ws);
    benchmark::DoNotOptimize(loss);
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] -= kStepSize * grad[i];
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(batch_size),
                         benchmark::Counter::kIsRate);
  state.counters["gflops"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(batch_size) *
                             training_flops_per_sample(*model) / 1e9,
                         benchmark::Counter::kIsRate);
  state.SetLabel(spec + ", gemm " + gemm_kernels(*model));  // which kernel ran (models/gemm.hpp)
}

void training_step(benchmark::State& state, const std::string& spec) {
  training_step_on(state, spec, kMnist);
}

BENCHMARK_CAPTURE(training_step, mlp_128x128x128, std::string("mlp:128x128x128"))
    ->Arg(512)
    ->Arg(128)
    ->Arg(32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(training_step, linear, std::string("linear"))
    ->Arg(128)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(training_step, cnn, std::string("cnn"))
    ->Arg(512)
    ->Arg(128)
    ->Arg(32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(training_step, lenet, std::string("lenet"))
    ->Arg(128)
    ->Arg(32)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(training_step_on, lenet_32x32x3, std::string("lenet"), kCifar)
    ->Arg(128)
    ->Arg(32)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace psgd
