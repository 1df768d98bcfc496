// algorithms/backoff.hpp — what a worker does after a failed attempt (a failed try_lock of a
// spin lock, a failed CAS): how long to wait before retrying.
//
// A policy is a small value type owned by one worker. The algorithm calls pause() after every
// failed attempt and reset() after the attempt that succeeds. The policy type is fixed at compile
// time (it sits in the retry loop and must inline); its parameters are runtime values, swept by
// experiments and recorded in the JSON. Whether to wait (this file) and whether to give up
// (Leashed's persistence bound) are separate knobs.
//
// How a wait is made: a steady_clock deadline, polled between pause instructions, and between
// sched_yield calls while at least kYieldAboveNs of the wait remain (so an oversubscribed worker
// hands its core to the thread it waits for instead of burning the time slice). The alternative,
// a pause loop calibrated once, was rejected: the cost of one pause differs ~10x between CPU
// generations and under frequency scaling, and the wait must be measured anyway, because every
// nanosecond spent here is accumulated into WorkerStats::backoff_seconds.
// Measured on the dev host (AMD EPYC, Zen 3, KVM guest; /tmp scratch loop of 10^7 calls, also
// algorithms/bench/backoff_bench.cpp): one pause instruction 62 ns, one steady_clock::now()
// 73 ns (kvm-clock vDSO), one sched_yield 1.5 us. One poll of the wait loop is therefore
// ~135 ns there, which is the resolution of every wait below.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "common/name_table.hpp"
#include "common/random.hpp"

namespace psgd {

// Runtime parameters of every policy. Defaults are what `psgd run` uses (see run_config.cpp).
struct BackoffParams {
  std::uint64_t min_ns = 256;    // first wait (constant: every wait)
  std::uint64_t max_ns = 65536;  // cap of linear and exponential
  double jitter = 0.5;           // fraction of each wait drawn at random, in [0, 1]
  std::uint64_t seed = 1;        // the worker's stream (derive per worker: backoff_seed())
};

// The per-worker jitter stream: (run seed, worker) only, distinct from the batch streams.
inline std::uint64_t backoff_seed(std::uint64_t seed, int worker) noexcept {
  // The constant separates this stream from the batch sampler's stream_seed(seed, worker).
  return stream_seed(seed ^ 0xB0FFB0FFB0FFB0FFULL, static_cast<std::uint64_t>(worker));
}

// The parameters one worker's policy is built from: the run's, with that worker's jitter stream.
inline BackoffParams worker_backoff_params(const BackoffParams& run, int worker) noexcept {
  BackoffParams p = run;
  p.seed = backoff_seed(run.seed, worker);
  return p;
}

// clang-format 14 mangles requires-expressions.
// clang-format off
template <class B>
concept BackoffPolicy = std::constructible_from<B, const BackoffParams&> &&
                        requires(B b, const B cb) {
                          { B::kName } -> std::convertible_to<std::string_view>;
                          { b.pause() } noexcept;
                          { b.reset() } noexcept;
                          { cb.waited_seconds() } noexcept -> std::convertible_to<double>;
                        };
// clang-format on

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

namespace detail {

// Remaining waits at least this long yield the core instead of pausing: one sched_yield costs
// 1.5 us on the dev host (KVM) and 0.1-0.5 us on bare metal, so a yield started with >= 10 us
// left rarely overshoots the deadline, and shorter waits keep the low-latency pause loop.
inline constexpr std::uint64_t kYieldAboveNs = 10'000;

// Waits about `ns` nanoseconds; returns the nanoseconds actually spent (>= ns; at least one
// clock poll). noexcept, no allocation, no system call below kYieldAboveNs.
inline std::uint64_t wait_ns(std::uint64_t ns) noexcept {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::nanoseconds(ns);
  Clock::time_point now = start;
  while (now < deadline) {
    if (deadline - now >= std::chrono::nanoseconds(kYieldAboveNs)) {
      std::this_thread::yield();
    } else {
      cpu_relax();
    }
    now = Clock::now();
  }
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
}

// Shared state of the waiting policies: the jitter stream and the waited total.
class WaitingBackoff {
 public:
  explicit WaitingBackoff(const BackoffParams& p) noexcept
      : params_(p), rng_(p.seed), jitter_(std::clamp(p.jitter, 0.0, 1.0)) {}

  [[nodiscard]] double waited_seconds() const noexcept {
    return static_cast<double>(waited_ns_) * 1e-9;
  }
  [[nodiscard]] const BackoffParams& params() const noexcept { return params_; }

  // The wait actually made for a nominal delay d: d * (1 - jitter * u), u uniform in [0, 1).
  // jitter 0 waits exactly d; jitter 1 is "full jitter" (uniform in (0, d]).
  [[nodiscard]] std::uint64_t jittered(std::uint64_t d) noexcept {
    if (jitter_ <= 0.0 || d == 0) return d;
    const double u = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
    return static_cast<std::uint64_t>(static_cast<double>(d) * (1.0 - jitter_ * u));
  }

 protected:
  void wait(std::uint64_t nominal_ns) noexcept { waited_ns_ += wait_ns(jittered(nominal_ns)); }

  BackoffParams params_;

 private:
  SplitMix64 rng_;
  double jitter_;
  std::uint64_t waited_ns_ = 0;
};

}  // namespace detail

// Retry immediately: the reference framework's behaviour and the baseline of every comparison.
struct NoBackoff {
  static constexpr std::string_view kName = "none";
  explicit NoBackoff(const BackoffParams& /*unused*/) noexcept {}
  void pause() noexcept {}
  void reset() noexcept {}
  [[nodiscard]] double waited_seconds() const noexcept { return 0.0; }
  // The nominal delay of the k-th consecutive failure (1-based), for tests and --help.
  [[nodiscard]] static std::uint64_t delay_ns(std::uint64_t /*k*/,
                                              const BackoffParams& /*p*/) noexcept {
    return 0;
  }
};

// The same wait, min_ns, after every failure.
class ConstantBackoff : public detail::WaitingBackoff {
 public:
  static constexpr std::string_view kName = "constant";
  explicit ConstantBackoff(const BackoffParams& p) noexcept : WaitingBackoff(p) {}
  void pause() noexcept { wait(params_.min_ns); }
  void reset() noexcept {}
  [[nodiscard]] static std::uint64_t delay_ns(std::uint64_t /*k*/,
                                              const BackoffParams& p) noexcept {
    return p.min_ns;
  }
};

// k * min_ns after the k-th consecutive failure, capped at max_ns.
class LinearBackoff : public detail::WaitingBackoff {
 public:
  static constexpr std::string_view kName = "linear";
  explicit LinearBackoff(const BackoffParams& p) noexcept : WaitingBackoff(p) {}
  void pause() noexcept { wait(delay_ns(++failures_, params_)); }
  void reset() noexcept { failures_ = 0; }
  // The nominal wait the next pause() makes (before jitter).
  [[nodiscard]] std::uint64_t next_delay_ns() const noexcept {
    return delay_ns(failures_ + 1, params_);
  }
  [[nodiscard]] static std::uint64_t delay_ns(std::uint64_t k, const BackoffParams& p) noexcept {
    // k <= max_ns / min_ns keeps the product at most max_ns, so it cannot overflow.
    if (p.min_ns == 0 || k > p.max_ns / p.min_ns) return std::max(p.max_ns, p.min_ns);
    return k * p.min_ns;
  }

 private:
  std::uint64_t failures_ = 0;
};

// min_ns * 2^(k-1) after the k-th consecutive failure, capped at max_ns (truncated binary
// exponential backoff).
class ExponentialBackoff : public detail::WaitingBackoff {
 public:
  static constexpr std::string_view kName = "exponential";
  explicit ExponentialBackoff(const BackoffParams& p) noexcept : WaitingBackoff(p) {}
  void pause() noexcept { wait(delay_ns(++failures_, params_)); }
  void reset() noexcept { failures_ = 0; }
  // The nominal wait the next pause() makes (before jitter).
  [[nodiscard]] std::uint64_t next_delay_ns() const noexcept {
    return delay_ns(failures_ + 1, params_);
  }
  [[nodiscard]] static std::uint64_t delay_ns(std::uint64_t k, const BackoffParams& p) noexcept {
    if (p.min_ns == 0) return 0;
    std::uint64_t d = p.min_ns;
    for (std::uint64_t i = 1; i < k && d < p.max_ns; ++i) d *= 2;  // <= 64 doublings
    return std::max(std::min(d, p.max_ns), p.min_ns);
  }

 private:
  std::uint64_t failures_ = 0;
};

static_assert(BackoffPolicy<NoBackoff>);
static_assert(BackoffPolicy<ConstantBackoff>);
static_assert(BackoffPolicy<LinearBackoff>);
static_assert(BackoffPolicy<ExponentialBackoff>);

// The policies --backoff selects, by name, in the order --help lists them.
enum class BackoffKind { kNone, kConstant, kLinear, kExponential };
inline constexpr NameTable<BackoffKind, 4> kBackoffKinds{{
    {NoBackoff::kName, BackoffKind::kNone},
    {ConstantBackoff::kName, BackoffKind::kConstant},
    {LinearBackoff::kName, BackoffKind::kLinear},
    {ExponentialBackoff::kName, BackoffKind::kExponential},
}};

// Calls f.template operator()<Policy>() for the policy `kind`; returns what it returns.
template <class F>
decltype(auto) with_backoff(BackoffKind kind, F&& f) {
  switch (kind) {
    case BackoffKind::kConstant:
      return f.template operator()<ConstantBackoff>();
    case BackoffKind::kLinear:
      return f.template operator()<LinearBackoff>();
    case BackoffKind::kExponential:
      return f.template operator()<ExponentialBackoff>();
    case BackoffKind::kNone:
      break;
  }
  return f.template operator()<NoBackoff>();
}

// The `backoff` block of an algorithm's JSON report: the policy and its parameters.
inline nlohmann::json backoff_json(std::string_view policy, const BackoffParams& p) {
  return {{"policy", std::string(policy)},
          {"min_ns", p.min_ns},
          {"max_ns", p.max_ns},
          {"jitter", p.jitter}};
}

}  // namespace psgd
