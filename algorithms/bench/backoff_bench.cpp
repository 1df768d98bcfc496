// algorithms/bench/backoff_bench.cpp — the costs the backoff defaults rest on: one pause
// instruction, one steady_clock read, one sched_yield, and the shortest and default waits.
#include <benchmark/benchmark.h>

#include <chrono>
#include <thread>

#include "algorithms/backoff.hpp"

namespace psgd {
namespace {

void BM_Pause(benchmark::State& state) {
  for (auto _ : state) cpu_relax();
}

void BM_SteadyClockNow(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}

void BM_Yield(benchmark::State& state) {
  for (auto _ : state) std::this_thread::yield();
}

void BM_Wait(benchmark::State& state) {
  const auto ns = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(detail::wait_ns(ns));
}

BENCHMARK(BM_Pause);
BENCHMARK(BM_SteadyClockNow);
BENCHMARK(BM_Yield);
BENCHMARK(BM_Wait)->Arg(0)->Arg(256)->Arg(4096)->Arg(65536);

}  // namespace
}  // namespace psgd
