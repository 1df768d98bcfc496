// algorithms/bench/primitives_bench.cpp — the read and publish primitives the algorithms are
// built from, one thread each unless stated, on the default model's 134,794 parameters
// (mlp:128x128x128 on 28x28 inputs), so a nightly run sees a slower primitive before it blurs
// into whole-run throughput:
//   BM_CopyUnderLock<L>    mutex/rwlock read: lock, copy theta, unlock (spin lock and std::mutex)
//   BM_ApplyUnderLock<L>   mutex/rwlock publish: lock, theta -= step * grad, unlock
//   BM_RacyCopy            hogwild read: the racy vectorised copy (algorithms/hogwild_kernel.hpp)
//   BM_RacyApply           hogwild publish: the racy vectorised apply (the same kernel file)
//   BM_AtomicApply         hogwild-atomic publish: a CAS per coordinate (never fails here)
//   BM_Barrier             sync: one std::barrier phase of two threads (wall time)
//   BM_BackoffPolicy<P>    one failure streak of 4 waits and the reset, default parameters
// (The Leashed CAS publish is leashed_publish_bench.cpp.) The loops mirror the algorithms' own
// (algorithms/locked_sgd.hpp, hogwild.hpp, sync.hpp) with the same memory orders.
//
// Also registers "cpu_model" in the JSON context: `psgd compare` refuses to compare different CPUs.
#include <benchmark/benchmark.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/hogwild_kernel.hpp"
#include "algorithms/locks.hpp"
#include "common/cpu_model.hpp"

namespace psgd {
namespace {

const bool kContextRegistered = [] {
  benchmark::AddCustomContext("cpu_model", cpu_model_name());
  return true;
}();

constexpr std::size_t kParams = 134794;  // mlp:128x128x128 on 28x28x1, 10 classes
constexpr float kStep = 0.01F;

// One try at a lock: psgd's spin lock answers an Attempt, std::mutex a bool.
template <class Lock>
bool took(Lock& lock) noexcept {
  if constexpr (std::is_same_v<decltype(lock.try_lock()), Attempt>) {
    return lock.try_lock() == Attempt::kAcquired;
  } else {
    return lock.try_lock();
  }
}

template <class Lock, class S = float>
void BM_CopyUnderLock(benchmark::State& state) {
  Lock lock;
  std::vector<S> theta(kParams, S{1});
  std::vector<S> local(kParams);
  for (auto _ : state) {
    while (!took(lock)) {
    }
    std::memcpy(local.data(), theta.data(), kParams * sizeof(S));
    lock.unlock();
    benchmark::DoNotOptimize(local.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kParams * sizeof(S)));
}

template <class Lock, class S = float>
void BM_ApplyUnderLock(benchmark::State& state) {
  Lock lock;
  std::vector<S> theta(kParams, S{1});
  const std::vector<S> grad(kParams, S{0.001F});
  for (auto _ : state) {
    while (!took(lock)) {
    }
    sgd_apply<S>(theta, grad, static_cast<S>(kStep));
    lock.unlock();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kParams * sizeof(S)));
}

template <class S>
void BM_RacyCopy(benchmark::State& state) {
  std::vector<S> theta(kParams, S{1});
  std::vector<S> local(kParams);
  for (auto _ : state) {
    hogwild_racy_copy(local.data(), theta.data(), kParams);
    benchmark::DoNotOptimize(local.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kParams * sizeof(S)));
}

// hogwild's apply is the racy kernel; hogwild-atomic's a CAS per coordinate.
template <bool kAtomicUpdate, class S>
void apply_per_coordinate(std::vector<S>& theta, const std::vector<S>& grad) noexcept {
  if constexpr (!kAtomicUpdate) {
    hogwild_racy_apply(theta.data(), grad.data(), static_cast<S>(kStep), theta.size());
  } else {
    for (std::size_t i = 0; i < theta.size(); ++i) {
      std::atomic_ref<S> x(theta[i]);
      // relaxed: as HogwildSgd's CAS apply; coordinates are independent.
      S seen = x.load(std::memory_order_relaxed);
      while (!x.compare_exchange_strong(seen, seen - static_cast<S>(kStep) * grad[i],
                                        std::memory_order_relaxed)) {
      }
    }
  }
}

template <bool kAtomicUpdate, class S>
void BM_PerCoordinateApply(benchmark::State& state) {
  std::vector<S> theta(kParams, S{1});
  const std::vector<S> grad(kParams, S{0.001F});
  for (auto _ : state) {
    apply_per_coordinate<kAtomicUpdate, S>(theta, grad);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kParams * sizeof(S)));
}

void BM_Barrier(benchmark::State& state) {
  // Shared by the benchmark's threads; Google Benchmark runs the same iteration count on each,
  // so every phase completes.
  static std::barrier<> barrier(2);
  for (auto _ : state) barrier.arrive_and_wait();
}

template <BackoffPolicy Policy>
void BM_BackoffPolicy(benchmark::State& state) {
  Policy backoff{BackoffParams{}};
  for (auto _ : state) {
    for (int failure = 0; failure < 4; ++failure) backoff.pause();
    backoff.reset();
  }
  state.counters["waited_ns_per_streak"] =
      benchmark::Counter(backoff.waited_seconds() * 1e9 / static_cast<double>(state.iterations()));
}

BENCHMARK_TEMPLATE(BM_CopyUnderLock, SpinMutex)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_CopyUnderLock, std::mutex)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_ApplyUnderLock, SpinMutex)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_ApplyUnderLock, std::mutex)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_RacyCopy, float)->Name("BM_RacyCopy")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_PerCoordinateApply, false, float)
    ->Name("BM_RacyApply")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_PerCoordinateApply, true, float)
    ->Name("BM_AtomicApply")
    ->Unit(benchmark::kMicrosecond);
// --precision double: the same vector (same coordinate count) in 8-byte values, so the copy,
// the locked apply and the CAS sweep move twice the bytes (docs/running.md, "Precision").
BENCHMARK_TEMPLATE(BM_CopyUnderLock, SpinMutex, double)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_ApplyUnderLock, SpinMutex, double)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_RacyCopy, double)->Name("BM_RacyCopy<double>")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_PerCoordinateApply, false, double)
    ->Name("BM_RacyApply<double>")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_PerCoordinateApply, true, double)
    ->Name("BM_AtomicApply<double>")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Barrier)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(BM_BackoffPolicy, NoBackoff);
BENCHMARK_TEMPLATE(BM_BackoffPolicy, ConstantBackoff)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_BackoffPolicy, LinearBackoff)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_BackoffPolicy, ExponentialBackoff)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace psgd
