// models/test_slowdown.hpp — a test-only, calibrated slowdown of the MLP training step, so that the
// nightly A/B job's power can be measured (docs/nightly.md, "Measuring the job's power").
//
// Built only with -DPSGD_TEST_SLOWDOWN_PERCENT=N (N in 1..1000, CMake option of the same name,
// 0 and absent in every preset). At 0 this header defines nothing but an empty guard, which the
// compiler removes: the step's code is the same as without it.
//
// Calibration: the guard measures the step's own wall time on std::chrono::steady_clock and then
// spins on that clock for N% of it, so the step takes (1 + N/100) x its time on whatever machine
// and load it runs. Spinning (not sleeping) keeps the core busy as extra arithmetic would, and
// touches no data, so results are bit for bit those of the unslowed build (one-thread losses stay
// exact). The two clock reads add about 2 x 20 ns to a step of ~200 us (batch 32 here).
#pragma once

#ifndef PSGD_TEST_SLOWDOWN_PERCENT
#define PSGD_TEST_SLOWDOWN_PERCENT 0
#endif

#if PSGD_TEST_SLOWDOWN_PERCENT < 0 || PSGD_TEST_SLOWDOWN_PERCENT > 1000
#error "PSGD_TEST_SLOWDOWN_PERCENT must be in 0..1000"
#endif

#if PSGD_TEST_SLOWDOWN_PERCENT > 0
#include <chrono>
#endif

namespace psgd::detail {

#if PSGD_TEST_SLOWDOWN_PERCENT > 0
// Spins for PSGD_TEST_SLOWDOWN_PERCENT % of its own lifetime when it goes out of scope.
class TestSlowdown {
 public:
  TestSlowdown() noexcept : start_(std::chrono::steady_clock::now()) {}
  TestSlowdown(const TestSlowdown&) = delete;
  TestSlowdown& operator=(const TestSlowdown&) = delete;
  ~TestSlowdown() {
    const auto end = std::chrono::steady_clock::now();
    const auto until = end + (end - start_) * PSGD_TEST_SLOWDOWN_PERCENT / 100;
    while (std::chrono::steady_clock::now() < until) {
    }
  }

 private:
  std::chrono::steady_clock::time_point start_;
};
#else
struct TestSlowdown {};  // the default: nothing to construct, nothing to run
#endif

}  // namespace psgd::detail
