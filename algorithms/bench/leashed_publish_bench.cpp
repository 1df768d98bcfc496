// algorithms/bench/leashed_publish_bench.cpp — the cost of one Leashed-SGD publish (acquire the
// latest vector, copy it into the private candidate while applying the gradient, CAS the
// pointer, release) against one memcpy of the same number of floats. Target: publish <= 1.5x
// memcpy. Sizes: the default model mlp:128x128x128 on 28x28 inputs (134,794 parameters) and a
// small one (7,850: softmax regression on 28x28). Single-threaded, so the CAS never fails.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/reclaim/ref_count_pool.hpp"

namespace psgd {
namespace {

void BM_Memcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<float> src(n, 1.0F);
  std::vector<float> dst(n, 0.0F);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * sizeof(float)));
}

void BM_LeashedPublish(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  RefCountPool pool(n, 1);
  PooledVector* first = pool.allocate();
  std::fill(first->data, first->data + n, 1.0F);
  std::atomic<PooledVector*> latest{first};
  std::vector<float> grad(n, 0.001F);
  PooledVector* candidate = nullptr;
  for (auto _ : state) {
    PooledVector* q = pool.acquire(latest);
    if (candidate == nullptr) candidate = pool.allocate();
    sgd_apply_into(candidate->values(), q->values(), grad, 0.01F);
    candidate->version = q->version + 1;
    PooledVector* expected = q;
    // release / relaxed: as in LeashedSgd::run_worker (publishes the candidate's values).
    if (latest.compare_exchange_strong(expected, candidate, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      candidate = nullptr;
      pool.release(q);
    }
    pool.release(q);
    benchmark::ClobberMemory();
  }
  if (candidate != nullptr) pool.release(candidate);
  pool.release(latest.load());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * sizeof(float)));
}

BENCHMARK(BM_Memcpy)->Arg(134794)->Arg(7850)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LeashedPublish)->Arg(134794)->Arg(7850)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace psgd
