// harness/machine/measure_limits.cpp — measuring the machine's limits (machine_limits.hpp): the
// reference GEMM on one core and STREAM-style copy and triad on one core and on all of them.
// Run only by `psgd topo --measure`, never by a run.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <latch>
#include <limits>
#include <system_error>
#include <thread>
#include <vector>

#include "common/eigen.hpp"
#include "common/errors.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/machine/machine_limits.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using LimitsClock = std::chrono::steady_clock;

double limits_seconds_since(LimitsClock::time_point t0) {
  return std::chrono::duration<double>(LimitsClock::now() - t0).count();
}

// Keeps the compiler from dropping a kernel whose result nobody reads (benchmark::DoNotOptimize's
// trick, without linking Google Benchmark into psgd).
inline void keep_alive(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

// One kernel's float product of square 512 matrices (268 MFLOP each) through the models' gemm(),
// repeated for at least `seconds` after one warm-up product; FLOP/s of the fastest product, as
// STREAM reports its best time: a peak is what the core can do, and a product the scheduler
// interrupted (another process on a shared machine) would otherwise lower it, making every run's
// fraction of it too large.
double square_gemm_flops(detail::GemmKernel kernel, double seconds) {
  constexpr Eigen::Index kN = 512;
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(kN, kN);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(kN, kN);
  Eigen::MatrixXf c(kN, kN);
  detail::GemmScratch<float> scratch;
  auto product = [&] {
    detail::gemm(kernel, kN, kN, kN, detail::col_major(a.data(), kN),
                 detail::col_major(b.data(), kN), c.data(), kN, /*accumulate=*/false, scratch);
    keep_alive(c.data());
  };
  product();
  double fastest = std::numeric_limits<double>::infinity();
  const LimitsClock::time_point t0 = LimitsClock::now();
  do {
    const LimitsClock::time_point p0 = LimitsClock::now();
    product();
    fastest = std::min(fastest, limits_seconds_since(p0));
  } while (limits_seconds_since(t0) < seconds);
  const double per_product = 2.0 * static_cast<double>(kN) * kN * kN;
  return per_product / fastest;
}

// The machine's GEMM peak per core: the faster of the build's builtin kernel (Eigen's, or psgd's
// own) and the dense models' kernel (OpenBLAS where the build links it, models/gemm.hpp). A peak
// of Eigen's alone, about 0.8 of OpenBLAS's on this project's AVX-512 machines, let the MLP's
// fraction pass 1 once the MLP ran on OpenBLAS.
double reference_gemm_flops(double seconds) {
  double best = 0.0;
  for (const detail::GemmKernel kernel : limits_gemm_kernel_list()) {
    best = std::max(best, square_gemm_flops(kernel, seconds));
  }
  return best;
}

enum class StreamKernel { kCopy, kTriad };

// One thread's stream: arrays of `floats` values, allocated and first touched by this thread
// (so they sit on its node), one untimed pass, a wait at `start` (when given) for the other
// streams, then passes for at least `seconds`. Returns the bytes per second it moved (copy: 2
// per value, triad: 3).
double stream_rate(StreamKernel kernel, std::size_t floats, double seconds, std::latch* start) {
  std::vector<float> a(floats, 0.0F);
  std::vector<float> b(floats, 1.0F);
  std::vector<float> c(kernel == StreamKernel::kTriad ? floats : 0, 2.0F);
  constexpr float kScalar = 3.0F;
  auto pass = [&] {
    if (kernel == StreamKernel::kCopy) {
      for (std::size_t i = 0; i < floats; ++i) a[i] = b[i];
    } else {
      for (std::size_t i = 0; i < floats; ++i) a[i] = b[i] + kScalar * c[i];
    }
    keep_alive(a.data());
  };
  pass();
  if (start != nullptr) start->arrive_and_wait();
  std::int64_t passes = 0;
  const LimitsClock::time_point t0 = LimitsClock::now();
  double elapsed = 0.0;
  do {
    pass();
    ++passes;
    elapsed = limits_seconds_since(t0);
  } while (elapsed < seconds);
  const double per_pass =
      (kernel == StreamKernel::kCopy ? 2.0 : 3.0) * static_cast<double>(floats) * sizeof(float);
  return static_cast<double>(passes) * per_pass / elapsed;
}

// `threads` streams at once, released together (each allocates first, then waits): the sum of
// their rates.
double streams_rate(StreamKernel kernel, std::size_t floats, int threads, double seconds) {
  if (threads == 1) return stream_rate(kernel, floats, seconds, nullptr);
  std::vector<double> rates(static_cast<std::size_t>(threads), 0.0);
  std::vector<std::thread> crew;
  std::latch start(threads);
  try {
    for (int t = 0; t < threads; ++t) {
      crew.emplace_back([&rates, &start, t, kernel, floats, seconds] {
        rates[static_cast<std::size_t>(t)] = stream_rate(kernel, floats, seconds, &start);
      });
    }
  } catch (const std::system_error& e) {
    // The started streams wait at the latch for the rest: count the missing ones down.
    start.count_down(threads - static_cast<int>(crew.size()));
    for (std::thread& th : crew) th.join();
    throw EnvironmentError(std::string("psgd topo --measure: cannot start a thread: ") + e.what());
  }
  for (std::thread& th : crew) th.join();
  double sum = 0.0;
  for (const double r : rates) sum += r;
  return sum;
}

// All cores' arrays must fit in memory with room to spare: 3 arrays per thread at most this much
// in all (8 GiB), else the all-cores point is skipped rather than swapping.
constexpr std::uint64_t kMostStreamBytes = 8ULL << 30;

}  // namespace

MachineLimits measure_machine_limits(const std::string& cpu_model, int cores,
                                     const std::vector<std::uint64_t>& sizes,
                                     double seconds_per_kernel) {
  MachineLimits m;
  m.cpu_model = cpu_model;
  m.cores = cores;
  m.date = utc_now();
  m.seconds_per_kernel = seconds_per_kernel;
  std::array<double, 1> load{};
  if (getloadavg(load.data(), 1) == 1) m.load_average = load[0];
  m.gemm_flops_per_core = reference_gemm_flops(seconds_per_kernel);
  for (const std::uint64_t bytes : sizes) {
    BandwidthPoint p;
    p.bytes = bytes;
    const std::size_t floats = bytes / sizeof(float);
    p.copy_one_core = streams_rate(StreamKernel::kCopy, floats, 1, seconds_per_kernel);
    p.triad_one_core = streams_rate(StreamKernel::kTriad, floats, 1, seconds_per_kernel);
    if (3 * bytes * static_cast<std::uint64_t>(cores) <= kMostStreamBytes) {
      p.copy_all_cores = streams_rate(StreamKernel::kCopy, floats, cores, seconds_per_kernel);
      p.triad_all_cores = streams_rate(StreamKernel::kTriad, floats, cores, seconds_per_kernel);
    }
    m.bandwidth.push_back(p);
  }
  return m;
}

}  // namespace psgd
