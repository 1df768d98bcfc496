// algorithms/bench/throughput_bench.cpp — applied updates per second of every asynchronous
// algorithm with one and two workers, on the real MLP (mlp:128x128x128, 28x28 inputs, 10
// classes, synthetic data), at batch 512 and 32. The acceptance targets are ratios of two-worker
// to one-worker throughput (>= 1.85 at b = 512, >= 1.7 at b = 32); compute them from the medians:
//   psgd_algorithms_bench --benchmark_filter=Throughput --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Each iteration is one whole training run (workers started behind a barrier, clock started
// when all are ready) through algorithms/runner.hpp, the runner `psgd run` uses, without
// pinning: run it on an otherwise idle machine with at least two cores.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/toy_models.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace {

const Dataset& bench_data() {
  static const Dataset data = testing::random_floats(8192, 28 * 28, 10, 17);
  return data;
}

template <class S>
const BasicModel<S>& bench_model() {
  static const std::unique_ptr<BasicModel<S>> model =
      make_model<S>("mlp:128x128x128", Activation::kRelu, ImageShape{1, 28, 28}, 10);
  return *model;
}

// The algorithms compared, by registry name, each with its default options.
constexpr std::string_view kAlgorithms[] = {"mutex", "rwlock", "hogwild", "hogwild-atomic",
                                            "leashed"};

// S: the precision (--precision); BM_Throughput is float, BM_ThroughputDouble double.
template <class S>
void throughput(benchmark::State& state) {
  const auto which = static_cast<int>(state.range(0));
  const auto threads = static_cast<int>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const BasicModel<S>& model = bench_model<S>();
  std::vector<S> theta0(model.num_params());
  initialize_params(model, InitSpec{}, 1, theta0);
  RunnerOptions o;
  o.threads = threads;
  o.batch_size = batch;
  o.step = 0.01;
  // About 0.3 s of one-worker work per run at either batch size.
  o.total_updates = batch >= 256 ? 60 : 600;
  o.updates_per_epoch = o.total_updates;
  o.checkpoints_per_epoch = 1;
  const AlgorithmSettings defaults;
  const AlgorithmPtr<S> algo = builtin_algorithms().make<S>(
      kAlgorithms[which], AlgorithmSetup{defaults, /*seed=*/1, threads});
  state.SetLabel(std::string(algo->name()));
  double updates = 0.0;
  for (auto _ : state) {
    const BasicTrainingOutcome<S> r = run_training<S>(*algo, model, bench_data(), theta0, o);
    state.SetIterationTime(r.wall_seconds);
    updates += static_cast<double>(r.applied_updates);
  }
  state.counters["updates_per_s"] = benchmark::Counter(updates, benchmark::Counter::kIsRate);
}

void BM_Throughput(benchmark::State& state) { throughput<float>(state); }
void BM_ThroughputDouble(benchmark::State& state) { throughput<double>(state); }

void throughput_args(benchmark::internal::Benchmark* b) {
  for (int which = 0; which < 5; ++which) {
    for (int batch : {512, 32}) {
      for (int threads : {1, 2}) b->Args({which, threads, batch});
    }
  }
}

BENCHMARK(BM_Throughput)
    ->ArgNames({"algo", "threads", "batch"})
    ->Apply(throughput_args)
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// The float/double comparison (docs/running.md, "Precision"): mutex and leashed at batch 32, where
// the copy and publish weigh most against the gradient.
BENCHMARK(BM_ThroughputDouble)
    ->ArgNames({"algo", "threads", "batch"})
    ->Args({0, 1, 32})
    ->Args({0, 2, 32})
    ->Args({4, 1, 32})
    ->Args({4, 2, 32})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace psgd
