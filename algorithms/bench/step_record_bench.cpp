// algorithms/bench/step_record_bench.cpp — the cost of --step-rule's effective-step record
// (record_step in algorithms/step_rule.hpp: one Histogram::add and one double add on the
// worker's own WorkerStats) in a method's update, with and without it:
//   BM_UpdateBookkeeping<false>/P   the update's own work after its gradient, as
//                                   algorithms/locked_sgd.hpp does it under `constant`: the step
//                                   rule's step, theta -= step * grad over P parameters, and the
//                                   staleness and attempts histograms of note_applied
//   BM_UpdateBookkeeping<true>/P    the same and record_step
// at P = 16 (a toy model: the smallest update, where the record weighs most) and P = 134,794
// (mlp:128x128x128 on 28x28 inputs, the studies' model). No gradient and no lock: the ratio
// true / false is an upper bound of the record's share of a real update, which adds both.
// Interleave the two and take medians:
//   psgd_algorithms_bench --benchmark_filter=UpdateBookkeeping --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/step_rule.hpp"

namespace psgd {
namespace {

template <bool kRecord>
void BM_UpdateBookkeeping(benchmark::State& state) {
  const auto params = static_cast<std::size_t>(state.range(0));
  std::vector<float> theta(params, 0.5F);
  std::vector<float> grad(params, 1e-6F);
  StepRule<float> rule;  // constant
  rule.init(0.01F, 2);
  WorkerStats stats;
  stats.staleness = Histogram(256);
  stats.attempts = Histogram(256);
  stats.step_factor = Histogram(kStepFactorBins);
  std::int64_t tau = 0;
  for (auto _ : state) {
    const StepRule<float>::Step step = rule.step(tau);
    for (std::size_t i = 0; i < params; ++i) theta[i] -= step.step * grad[i];
    benchmark::DoNotOptimize(theta.data());
    if constexpr (kRecord) record_step(stats, step.factor);
    stats.staleness.add(tau);
    stats.attempts.add(0);
    benchmark::ClobberMemory();
    tau = (tau + 1) & 3;  // staleness 0..3, as two to four workers see
  }
  benchmark::DoNotOptimize(stats.step_factor_sum);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_TEMPLATE(BM_UpdateBookkeeping, false)->Arg(16)->Arg(134794);
BENCHMARK_TEMPLATE(BM_UpdateBookkeeping, true)->Arg(16)->Arg(134794);

}  // namespace
}  // namespace psgd
