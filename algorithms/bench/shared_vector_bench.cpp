// algorithms/bench/shared_vector_bench.cpp — what two cores pay for reading and applying one
// parameter vector at once (HOGWILD!) against taking turns (the mutex method), without the
// gradient: each iteration of each thread is one update's memory traffic, the read (a copy of
// the shared vector into the thread's own) and the apply (shared -= step * grad).
//   BM_SharedVectorAtOnce/n    hogwild's racy vectorised copy and apply (hogwild_kernel.hpp),
//                              both threads at once, no synchronisation
//   BM_SharedVectorInTurns/n   the same two kernels, each under one std::mutex, as
//                              algorithms/locked_sgd.hpp takes it for the read and the apply
// Each at 1 thread (the kernels' own cost) and 2 threads (Google Benchmark's ->Threads(2)). The
// reported real time divides the wall time by the iterations of both threads: it is the wall
// time per update the pair applies, so 2 threads at half the 1-thread time would be perfect
// overlap, and at the 1-thread time no gain. Sizes: 16,384 floats (64 KiB, inside L2),
// 134,794 (the studies' MLP, 527 KiB: inside a 1 MiB L2, past a 512 KiB one), 1,048,576 (4 MiB:
// past L2, inside L3) and 8,388,608 (32 MiB: at or past L3). Results and their cause:
// docs/performance.md, "HOGWILD!'s cost on two cores".
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "algorithms/hogwild_kernel.hpp"

namespace psgd {
namespace {

constexpr float kSharedStep = 1e-7F;  // small: the vector stays finite over any run length

// The vector both threads of one benchmark share, one per size, made before the timed loop
// (Google Benchmark starts every thread's loop together, after this call returns in each).
std::vector<float>& shared_vector(std::size_t n) {
  static std::mutex made;
  static std::map<std::size_t, std::vector<float>> vectors;
  const std::lock_guard<std::mutex> hold(made);
  std::vector<float>& v = vectors[n];
  if (v.size() != n) v.assign(n, 1.0F);
  return v;
}

std::mutex& turns_lock() {
  static std::mutex lock;
  return lock;
}

template <bool kInTurns>
void shared_vector_updates(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float>& shared = shared_vector(n);
  std::vector<float> local(n);
  const std::vector<float> grad(n, 1.0F);
  for (auto _ : state) {
    if constexpr (kInTurns) {
      {
        const std::lock_guard<std::mutex> hold(turns_lock());
        hogwild_racy_copy(local.data(), shared.data(), n);
      }
      const std::lock_guard<std::mutex> hold(turns_lock());
      hogwild_racy_apply(shared.data(), grad.data(), kSharedStep, n);
    } else {
      hogwild_racy_copy(local.data(), shared.data(), n);
      hogwild_racy_apply(shared.data(), grad.data(), kSharedStep, n);
    }
    benchmark::DoNotOptimize(local.data());
    benchmark::ClobberMemory();
  }
  // Bytes of the shared vector read and written per thread: the copy reads it, the apply reads
  // and writes it.
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(3 * n * sizeof(float)));
}

void BM_SharedVectorAtOnce(benchmark::State& state) { shared_vector_updates<false>(state); }
void BM_SharedVectorInTurns(benchmark::State& state) { shared_vector_updates<true>(state); }

void shared_vector_sizes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : {16384, 134794, 1048576, 8388608}) b->Arg(n);
  b->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_SharedVectorAtOnce)->Apply(shared_vector_sizes);
BENCHMARK(BM_SharedVectorInTurns)->Apply(shared_vector_sizes);

}  // namespace
}  // namespace psgd
