// models/test_slowdown.hpp — a test-only, calibrated slowdown of the MLP training step, so that the
// nightly A/B job's power can be measured (docs/nightly.md, "Measuring the job's power").
//
// Built only with -DPSGD_TEST_SLOWDOWN_PERCENT=N (N in 1..1000, CMake option of the same name,
// 0 and absent in every preset). At 0 this header defines nothing but an empty guard, which the
// compiler removes: models/mlp.cpp compiles to the same assembly as without it.
//
// Calibration: the guard reads the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID) when the
// step starts and, when it ends, spins until that clock has advanced by N% of what the step used,
// so the step costs (1 + N/100) x its CPU time on any machine at any load. CPU time, not wall
// time: on a loaded machine a step that is preempted takes many times its CPU time in wall time,
// and spinning for N% of that was measured here at 20-36% more CPU per step for N = 10 (the
// benchmarks time CPU). Spinning keeps the core busy as extra arithmetic would and touches no
// data, so results are bit for bit those of the unslowed build (one-thread losses stay exact).
// Reading that clock is a system call, 0.57 us of CPU here (2026-12-06, 2-core AMD EPYC guest):
// the two reads around a step add about 0.4% to a batch-32 step of ~300 us, on top of N%.
#pragma once

#ifndef PSGD_TEST_SLOWDOWN_PERCENT
#define PSGD_TEST_SLOWDOWN_PERCENT 0
#endif

#if PSGD_TEST_SLOWDOWN_PERCENT < 0 || PSGD_TEST_SLOWDOWN_PERCENT > 1000
#error "PSGD_TEST_SLOWDOWN_PERCENT must be in 0..1000"
#endif

#if PSGD_TEST_SLOWDOWN_PERCENT > 0
#include <time.h>  // clock_gettime and CLOCK_THREAD_CPUTIME_ID are POSIX, not in <ctime>

#include <cstdint>
#endif

namespace psgd::detail {

#if PSGD_TEST_SLOWDOWN_PERCENT > 0
// Spins for PSGD_TEST_SLOWDOWN_PERCENT % of the thread's CPU time over its lifetime when it goes
// out of scope.
class TestSlowdown {
 public:
  TestSlowdown() noexcept : start_ns_(thread_cpu_ns()) {}
  TestSlowdown(const TestSlowdown&) = delete;
  TestSlowdown& operator=(const TestSlowdown&) = delete;
  ~TestSlowdown() {
    const std::int64_t end = thread_cpu_ns();
    const std::int64_t until = end + (end - start_ns_) * PSGD_TEST_SLOWDOWN_PERCENT / 100;
    while (thread_cpu_ns() < until) {
    }
  }

 private:
  static std::int64_t thread_cpu_ns() noexcept {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);  // cannot fail for the calling thread's clock
    return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
  }

  std::int64_t start_ns_;
};
#else
struct TestSlowdown {};  // the default: nothing to construct, nothing to run
#endif

}  // namespace psgd::detail
