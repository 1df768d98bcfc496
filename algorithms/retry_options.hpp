// algorithms/retry_options.hpp — the options shared by the algorithms that have a retry point
// (a failed try_lock or CAS): how to wait (--backoff and its parameters) and, for the lock-based
// ones, which lock (--lock, --rwlock-prefer). Declared once here; each registry entry lists the
// ones it accepts.
//
// Defaults and why (costs measured on the dev host, AMD EPYC Zen 3 KVM guest; see
// algorithms/backoff.hpp and algorithms/bench/):
//   backoff none: immediate retry, the reference framework's behaviour and the baseline that
//     every backoff policy is compared against.
//   backoff-min 256 ns: about two polls of the wait loop (pause 62 ns + steady_clock 73 ns);
//     shorter waits are below its resolution. Also a few cache-line transfers between cores.
//   backoff-max 65536 ns = 256 ns * 2^8: about one critical section or one Leashed publish of
//     the default model (a copy of mlp:128x128x128, 135k floats, is 46 us); waiting longer
//     than the thing being waited for only leaves the lock or the pointer idle.
//   backoff-jitter 0.5 ("equal jitter"): half of each wait is random, so workers that failed
//     on the same CAS or lock do not retry in lock step, and every wait keeps half its length.
//   lock spin: every failed try_lock is a counted retry point where --backoff applies; os
//     (std::mutex, pthread rwlock) is the reference framework's blocking lock.
//   rwlock-prefer writer: updates are the progress; with reader preference (glibc's default)
//     a stream of copies can starve them, which inflates staleness.
#pragma once

#include <cstdint>
#include <vector>

#include "algorithms/algorithm_options.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/locks.hpp"

namespace psgd {

const AlgorithmOption& backoff_option();
const AlgorithmOption& backoff_min_option();
const AlgorithmOption& backoff_max_option();
const AlgorithmOption& backoff_jitter_option();
const AlgorithmOption& lock_option();
const AlgorithmOption& rwlock_prefer_option();

// The four backoff options, in --help order.
std::vector<const AlgorithmOption*> backoff_options();

struct BackoffChoice {
  BackoffKind kind = BackoffKind::kNone;
  BackoffParams params;  // seed: the run's; each worker derives its own (worker_backoff_params)
};

// The backoff options of a run. Throws ConfigError when --backoff-max is below --backoff-min or
// above 1 s.
BackoffChoice backoff_choice(const AlgorithmSettings& settings, std::uint64_t seed);

// A blocking OS lock has no failed attempt to back off after: throws ConfigError for
// LockMode::kOs with any backoff but none.
void require_spin_lock_for_backoff(LockMode lock, BackoffKind backoff);

}  // namespace psgd
