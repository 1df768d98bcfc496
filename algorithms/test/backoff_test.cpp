// algorithms/test/backoff_test.cpp — the backoff schedules, jitter bounds and wait accounting.
#include "algorithms/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace psgd {
namespace {

BackoffParams params(std::uint64_t min_ns, std::uint64_t max_ns, double jitter = 0.0) {
  return BackoffParams{min_ns, max_ns, jitter, 42};
}

TEST(BackoffSchedule, NoneNeverWaits) {
  NoBackoff b(params(100, 1000));
  for (int i = 0; i < 10; ++i) b.pause();
  EXPECT_EQ(b.waited_seconds(), 0.0);
  EXPECT_EQ(NoBackoff::delay_ns(5, params(100, 1000)), 0U);
}

TEST(BackoffSchedule, ConstantIsMin) {
  for (std::uint64_t k = 1; k < 20; ++k) {
    EXPECT_EQ(ConstantBackoff::delay_ns(k, params(300, 1000)), 300U);
  }
}

TEST(BackoffSchedule, LinearGrowsByMinUpToMax) {
  const BackoffParams p = params(100, 450);
  EXPECT_EQ(LinearBackoff::delay_ns(1, p), 100U);
  EXPECT_EQ(LinearBackoff::delay_ns(2, p), 200U);
  EXPECT_EQ(LinearBackoff::delay_ns(4, p), 400U);
  EXPECT_EQ(LinearBackoff::delay_ns(5, p), 450U);
  EXPECT_EQ(LinearBackoff::delay_ns(1000000, p), 450U);
}

TEST(BackoffSchedule, ExponentialDoublesUpToMax) {
  const BackoffParams p = params(256, 65536);
  EXPECT_EQ(ExponentialBackoff::delay_ns(1, p), 256U);
  EXPECT_EQ(ExponentialBackoff::delay_ns(2, p), 512U);
  EXPECT_EQ(ExponentialBackoff::delay_ns(9, p), 65536U);
  EXPECT_EQ(ExponentialBackoff::delay_ns(10, p), 65536U);
  EXPECT_EQ(ExponentialBackoff::delay_ns(1U << 30, p), 65536U);  // no overflow, no long loop
  EXPECT_EQ(ExponentialBackoff::delay_ns(3, params(100, 300)), 300U);
}

TEST(BackoffSchedule, WaitsAtLeastTheScheduleWithoutJitter) {
  ExponentialBackoff b(params(2000, 16000));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) b.pause();  // 2 + 4 + 8 + 16 us
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(b.waited_seconds(), 30e-6);
  EXPECT_LE(b.waited_seconds(), elapsed);
}

TEST(BackoffSchedule, ResetRestartsTheSchedule) {
  ExponentialBackoff e(params(100, 100000));
  LinearBackoff l(params(100, 100000));
  EXPECT_EQ(e.next_delay_ns(), 100U);
  for (int i = 0; i < 3; ++i) {
    e.pause();
    l.pause();
  }
  EXPECT_EQ(e.next_delay_ns(), 800U);
  EXPECT_EQ(l.next_delay_ns(), 400U);
  e.reset();
  l.reset();
  EXPECT_EQ(e.next_delay_ns(), 100U);
  EXPECT_EQ(l.next_delay_ns(), 100U);
}

TEST(BackoffJitter, StaysWithinTheFraction) {
  detail::WaitingBackoff half(params(100, 1000, 0.5));
  detail::WaitingBackoff full(params(100, 1000, 1.0));
  detail::WaitingBackoff none(params(100, 1000, 0.0));
  std::uint64_t lo = 1000;
  std::uint64_t hi = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t h = half.jittered(1000);
    EXPECT_GE(h, 500U);
    EXPECT_LE(h, 1000U);
    const std::uint64_t f = full.jittered(1000);
    EXPECT_LE(f, 1000U);
    lo = std::min(lo, f);
    hi = std::max(hi, f);
    EXPECT_EQ(none.jittered(1000), 1000U);
  }
  EXPECT_LT(lo, 100U);  // full jitter reaches near zero ...
  EXPECT_GT(hi, 900U);  // ... and near the nominal wait
}

TEST(BackoffJitter, SameSeedSameSequence) {
  detail::WaitingBackoff a(params(100, 1000, 1.0));
  detail::WaitingBackoff b(params(100, 1000, 1.0));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.jittered(777), b.jittered(777));
  EXPECT_NE(backoff_seed(1, 0), backoff_seed(1, 1));
  EXPECT_NE(backoff_seed(1, 0), stream_seed(1, 0));  // not the batch stream
}

TEST(BackoffNames, DispatchByKind) {
  for (const auto& [name, kind] : kBackoffKinds) {
    const std::string_view got = with_backoff(kind, []<class B>() { return B::kName; });
    EXPECT_EQ(got, name);
  }
}

TEST(BackoffNames, WorkerParamsKeepTheRunsAndDeriveTheSeed) {
  const BackoffParams run = params(100, 1000, 0.25);
  const BackoffParams w1 = worker_backoff_params(run, 1);
  EXPECT_EQ(w1.min_ns, 100U);
  EXPECT_EQ(w1.max_ns, 1000U);
  EXPECT_EQ(w1.jitter, 0.25);
  EXPECT_EQ(w1.seed, backoff_seed(run.seed, 1));
  const nlohmann::json j = backoff_json("linear", run);
  EXPECT_EQ(j, nlohmann::json(
                   {{"policy", "linear"}, {"min_ns", 100}, {"max_ns", 1000}, {"jitter", 0.25}}));
}

}  // namespace
}  // namespace psgd
