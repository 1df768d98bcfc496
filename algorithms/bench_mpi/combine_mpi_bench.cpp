// algorithms/bench_mpi/combine_mpi_bench.cpp — psgd's combine across processes against bare MPI,
// in one binary, run under mpirun (`make bench-mpi`; issue #22, item 6). On the default model's
// 134,794 float parameters (mlp:128x128x128 on 28x28 inputs):
//   BM_BareAllreduce        one MPI_Allreduce (MPI_SUM, in place) of the whole vector on
//                           MPI_COMM_WORLD: what MPI alone costs
//   BM_BareAllreduceWithLocalWork  the same on a duplicate communicator, with a copy before and
//                           a division after: psgd's mean at one thread without psgd's code
//   BM_BareSliceAllreduces/threads:T  T threads per rank, each an MPI_Allreduce of its slice
//                           on its own duplicate communicator at once, nothing else: what
//                           concurrent collectives of one rank cost (MPI_THREAD_MULTIPLE)
//   BM_PsgdMean/threads:T   MpiCombine<float>::mean as sync's reduce phase runs it: T threads per
//                           rank, each summing its slice of the rank's T buffers, allreducing it
//                           on its own channel (communicator) and dividing
//   BM_PsgdAgree            ProcessGroup::agree: the round's one MPI_Allgather of a RoundTally
// Every rank runs every benchmark the same fixed number of iterations (a collective per
// iteration: ranks that chose their own counts, as Google Benchmark does by timing, would wait on
// each other forever); rank 0 alone reports, and its real time per iteration is the
// collective's, since no rank leaves an allreduce before every rank has entered it. Interleave
// repetitions by running the binary several times (the Makefile does), and compare within one
// run: psgd over bare is the ratio that matters, on a shared machine more than either time.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/combine.hpp"
#include "algorithms/mpi_combine.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/shared_memory.hpp"
#include "common/cpu_model.hpp"

namespace psgd {
namespace {

constexpr std::size_t kParams = 134794;  // mlp:128x128x128 on 28x28x1, 10 classes
constexpr int kIterations = 200;         // the same on every rank: see the header
ProcessGroup* the_group = nullptr;       // set by main before any benchmark runs

// Runs work(w) on `threads` threads per call, the caller as thread 0, as the round frame's
// reduce phase does: a start barrier, every thread's slice, an end barrier. The helpers wait on
// the start barrier between calls; stop_ is read after it, which orders the store before it.
class Crew {
 public:
  Crew(std::size_t threads, std::function<void(std::size_t)> work)
      : work_(std::move(work)),
        start_(static_cast<std::ptrdiff_t>(threads)),
        done_(static_cast<std::ptrdiff_t>(threads)) {
    for (std::size_t w = 1; w < threads; ++w) {
      helpers_.emplace_back([this, w] {
        for (;;) {
          start_.arrive_and_wait();
          if (stop_.load(std::memory_order_relaxed)) return;  // the barrier orders the store
          work_(w);
          done_.arrive_and_wait();
        }
      });
    }
  }
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;
  ~Crew() {
    stop_.store(true, std::memory_order_relaxed);
    start_.arrive_and_wait();  // the helpers see stop_ and return; jthreads join
  }
  void run_once() {
    start_.arrive_and_wait();
    work_(0);
    done_.arrive_and_wait();
  }

 private:
  std::function<void(std::size_t)> work_;
  std::barrier<> start_;
  std::barrier<> done_;
  std::atomic<bool> stop_{false};
  std::vector<std::jthread> helpers_;
};

void BM_BareAllreduce(benchmark::State& state) {
  std::vector<float> values(kParams, 1.0F);
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(kParams), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kParams * sizeof(float)));
  state.counters["ranks"] = the_group->size();
}
BENCHMARK(BM_BareAllreduce)->Iterations(kIterations)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The bare allreduce with psgd's local work around it (the sum of one buffer into `out`, the
// division after), on a duplicate of the world as psgd's channels are: what psgd's mean at one
// thread would cost if its own code added nothing else. Tells psgd's overhead from the cost of
// computing between collectives on busy cores.
void BM_BareAllreduceWithLocalWork(benchmark::State& state) {
  std::vector<float> buffer(kParams, 1.0F);
  std::vector<float> out(kParams);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  const auto ranks = static_cast<float>(the_group->size());
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    std::copy(buffer.begin(), buffer.end(), out.begin());
    MPI_Allreduce(MPI_IN_PLACE, out.data(), static_cast<int>(kParams), MPI_FLOAT, MPI_SUM, comm);
    for (float& v : out) v /= ranks;
    benchmark::DoNotOptimize(out.data());
  }
  MPI_Comm_free(&comm);
  state.counters["ranks"] = the_group->size();
}
BENCHMARK(BM_BareAllreduceWithLocalWork)
    ->Iterations(kIterations)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// T threads per rank, each allreducing its slice of the vector on a duplicate communicator of its
// own, with no other work: what MPI_THREAD_MULTIPLE costs when a rank's threads are in MPI at
// once (Open MPI's ob1/vader progress the requests under one lock), against BM_BareAllreduce's
// one call for the whole vector.
void BM_BareSliceAllreduces(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::vector<float> values(kParams, 1.0F);
  std::vector<MPI_Comm> comms(threads, MPI_COMM_NULL);
  for (MPI_Comm& c : comms) MPI_Comm_dup(MPI_COMM_WORLD, &c);
  Crew crew(threads, [&](std::size_t w) {
    const Slice s = slice_of(kParams, w, threads);
    MPI_Allreduce(MPI_IN_PLACE, values.data() + s.lo, static_cast<int>(s.size()), MPI_FLOAT,
                  MPI_SUM, comms[w]);
  });
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    crew.run_once();  // like BM_BareAllreduce, sums of sums: they reach inf, at the same cost
    benchmark::DoNotOptimize(values.data());
  }
  for (MPI_Comm& c : comms) MPI_Comm_free(&c);
  state.counters["ranks"] = the_group->size();
}
BENCHMARK(BM_BareSliceAllreduces)
    ->ArgName("threads")
    ->Arg(2)
    ->Iterations(kIterations)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_PsgdMean(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  MpiCombine<float> combine(*the_group);
  combine.init(heap_shared_memory(), kParams, threads);  // collective: opens the channels
  for (std::size_t w = 0; w < threads; ++w) {
    const std::span<float> b = combine.buffer(w);
    std::fill(b.begin(), b.end(), 1.0F + static_cast<float>(w));
  }
  std::vector<float> out(kParams);
  Crew crew(threads, [&](std::size_t w) {
    const Slice s = slice_of(kParams, w, threads);
    combine.mean(s, s.of(std::span<float>(out)));
  });
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    crew.run_once();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kParams * sizeof(float)));
  state.counters["ranks"] = the_group->size();
}
BENCHMARK(BM_PsgdMean)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(kIterations)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_PsgdAgree(benchmark::State& state) {
  the_group->open_channels(1);  // collective: the round channel among them
  MPI_Barrier(MPI_COMM_WORLD);
  std::int64_t round = 0;
  for (auto _ : state) {
    RoundTally tally;
    tally.updates = ++round;
    the_group->agree(tally);
    benchmark::DoNotOptimize(tally);
  }
  state.counters["ranks"] = the_group->size();
}
BENCHMARK(BM_PsgdAgree)->Iterations(kIterations)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Ranks other than 0 report nothing: their times are the same collectives'.
class SilentReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& /*context*/) override { return true; }
  void ReportRuns(const std::vector<Run>& /*runs*/) override {}
};

}  // namespace
}  // namespace psgd

int main(int argc, char** argv) {
  const std::unique_ptr<psgd::ProcessGroup> group = psgd::ProcessGroup::join();
  psgd::the_group = group.get();
  // Only rank 0 writes --benchmark_out: the others drop the flag before Google Benchmark reads
  // it (each would otherwise truncate and write the same file).
  std::vector<char*> args(argv, argv + argc);
  if (group->rank() != 0) {
    std::erase_if(args, [](const char* a) { return std::strncmp(a, "--benchmark_out", 15) == 0; });
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  benchmark::AddCustomContext("cpu_model", psgd::cpu_model_name());
  benchmark::AddCustomContext("ranks", std::to_string(group->size()));
  if (group->rank() == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    psgd::SilentReporter silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  return 0;
}
