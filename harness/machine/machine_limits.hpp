// harness/machine/machine_limits.hpp — the machine's measured limits, the "speed of light" a run
// is compared with: the GEMM peak of one core and the copy and triad bandwidth of one core and of
// all cores at several sizes. `psgd topo --measure` measures them (measure_machine_limits) and
// caches them, once per machine, in results/machines/KEY.json, KEY naming the CPU model and the
// core count; a run only reads that file (load_machine_limits), never measures unasked.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/gemm.hpp"

namespace psgd {

// STREAM-style rates at one array size (McCalpin, "Memory Bandwidth and Machine Balance in
// Current High Performance Computers", IEEE TCCA Newsletter 1995): copy a[i] = b[i] counts
// 2 x bytes per pass (one read, one write), triad a[i] = b[i] + s * c[i] counts 3 x bytes. Each
// thread streams arrays of its own of `bytes` each (its first touch), so the all-cores figure is
// the aggregate of `threads` such streams running at once.
struct BandwidthPoint {
  std::uint64_t bytes = 0;                // one array's size
  double copy_one_core = 0.0;             // bytes per second
  double triad_one_core = 0.0;            // bytes per second
  std::optional<double> copy_all_cores;   // nullopt: skipped (would not fit in memory)
  std::optional<double> triad_all_cores;  // likewise
};

struct MachineLimits {
  std::string cpu_model;  // /proc/cpuinfo's model name
  int cores = 0;          // physical cores the process may use (the topology's)
  std::string date;       // UTC, when measured
  double seconds_per_kernel = 0.0;
  std::optional<double> load_average;     // 1-minute, before measuring
  double gemm_flops_per_core = 0.0;       // FLOP/s of the reference GEMM on one core
  std::vector<BandwidthPoint> bandwidth;  // ascending by bytes, not empty
};

// "AMD_EPYC-2cores-own": the model's letters and digits (others as '_'), the core count, and the
// GEMM kernels whose peak the cache holds (limits_gemm_kernels()): a build on another kernel
// (Eigen's, or OpenBLAS beside the own one) has its own cache, so a peak measured on a slower
// kernel never makes a faster one's gemm_fraction pass 1.
std::string machine_limits_key(const std::string& cpu_model, int cores);
// The build's GEMM kernels the peak is measured on (measure_limits.cpp: the fastest of them): the
// builtin one, and the dense models' where it differs; and their names as the key has them
// ("own", "eigen", "own_openblas").
std::vector<detail::GemmKernel> limits_gemm_kernel_list();
std::string limits_gemm_kernels();

// DIR/machines/KEY.json.
std::string machine_limits_path(const std::string& results_dir, const std::string& key);

// The sizes measured: powers of 4 from 64 KiB to the first at least twice the last-level cache
// (64 MiB when it is unknown), so one lies past it whatever the machine.
std::vector<std::uint64_t> bandwidth_sizes(std::optional<std::uint64_t> llc_bytes);

// Measures this machine: the reference GEMM (Eigen's float product of square 512 matrices, one
// thread: the nightly's models/bench/gemm_bench.cpp) and copy and triad at every size of `sizes`,
// with one thread and with `cores` threads, each kernel for about seconds_per_kernel.
// Allocates; single-threaded apart from the streams' threads. Throws EnvironmentError when a
// thread cannot be started.
MachineLimits measure_machine_limits(const std::string& cpu_model, int cores,
                                     const std::vector<std::uint64_t>& sizes,
                                     double seconds_per_kernel);

nlohmann::json machine_limits_json(const MachineLimits& limits);

// The limits a cache file holds. Throws EnvironmentError with one line naming `path` and what is
// wrong (not JSON, another format, a missing or non-positive rate, another machine's key) and how
// to mend it (run `psgd topo --measure` again).
MachineLimits parse_machine_limits(const nlohmann::json& doc, const std::string& path,
                                   const std::string& expected_key);

// The cached limits of this machine, nullopt when DIR/machines/KEY.json does not exist; throws
// as parse_machine_limits when it exists and is not a valid cache.
std::optional<MachineLimits> load_machine_limits(const std::string& results_dir,
                                                 const std::string& cpu_model, int cores);

// The bandwidth point a parameter vector of `bytes` streams at: the smallest measured size at
// least as large, or the largest. limits.bandwidth is not empty.
const BandwidthPoint& bandwidth_at(const MachineLimits& limits, std::uint64_t bytes);

}  // namespace psgd
