// algorithms/locks.hpp — the locks of the lock-based algorithms (mutex, rwlock), and the one
// place where they are acquired: try once, and on failure count, back off, retry.
//
// What is counted (the same rule as Leashed's failed publish CAS and hogwild-atomic's failed
// coordinate CAS): a failed attempt is an atomic read-modify-write that failed -- the exchange or
// CAS of a spin lock, or an OS lock's try_lock. A test that merely saw the lock held (the first
// "test" of test-and-test-and-set) is a poll, counted separately, never as a failed attempt;
// otherwise "failed attempts per update" with --backoff none would be a spin-loop count that any
// backoff "reduces" trivially. An acquisition that had to wait at all is a contended one.
//
// Two acquisition modes (--lock):
//   spin  test-and-test-and-set (waiters poll a shared line without writing it) + Backoff after
//         every unsuccessful try, poll or failed RMW alike (how long to wait is the policy's; what
//         is counted is above); the time from the first unsuccessful try to the acquisition is
//         lock wait.
//   os    the OS lock (std::mutex; pthread_rwlock_t). One try_lock first (a failure is one failed
//         RMW, so a contended acquisition is counted and timed); then it blocks in the kernel
//         (futex). Blocking leaves no retry point, so --backoff does not apply to it.
//
// A lock type offers try_lock/unlock and try_lock_shared/unlock_shared (a mutex maps shared to
// exclusive) returning an Attempt, kBlocking, and for spinning writers
// announce_writer()/withdraw_writer() (the writer-preference hook; no-ops elsewhere). Locks are
// not copyable and are padded to their own cache lines.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "common/errors.hpp"
#include "common/name_table.hpp"

namespace psgd {

// How a lock-based algorithm waits for its lock (--lock).
enum class LockMode { kSpin, kOs };
inline constexpr NameTable<LockMode, 2> kLockModes{
    {{"spin", LockMode::kSpin}, {"os", LockMode::kOs}}};

// Which side a read-write lock lets in first when both wait (--rwlock-prefer).
enum class RwPrefer { kReader, kWriter };
inline constexpr NameTable<RwPrefer, 2> kRwPreferences{
    {{"reader", RwPrefer::kReader}, {"writer", RwPrefer::kWriter}}};

inline std::string_view rw_prefer_name(RwPrefer p) noexcept { return name_of(kRwPreferences, p); }
inline std::string_view lock_mode_name(LockMode m) noexcept { return name_of(kLockModes, m); }

// The outcome of one try at a lock.
enum class Attempt {
  kAcquired,
  kBusy,    // a plain load saw the lock held: a poll, no read-modify-write was made
  kFailed,  // a read-modify-write (exchange, CAS, an OS try_lock) failed
};

// Test-and-test-and-set spin mutex.
class SpinMutex {
 public:
  static constexpr std::string_view kName = "spin";
  static constexpr bool kBlocking = false;

  SpinMutex() = default;
  SpinMutex(const SpinMutex&) = delete;
  SpinMutex& operator=(const SpinMutex&) = delete;

  Attempt try_lock() noexcept {
    // relaxed: only a test that keeps waiters off the line while it is held; the exchange
    // below is the acquisition and carries the ordering.
    if (locked_.load(std::memory_order_relaxed)) return Attempt::kBusy;
    // acquire: pairs with the release store in unlock(), so the previous holder's writes to the
    // protected data are visible in this critical section.
    return locked_.exchange(true, std::memory_order_acquire) ? Attempt::kFailed
                                                             : Attempt::kAcquired;
  }
  // release: pairs with the acquire exchange in try_lock() of the next holder.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

  Attempt try_lock_shared() noexcept { return try_lock(); }
  void unlock_shared() noexcept { unlock(); }
  void announce_writer() noexcept {}
  void withdraw_writer() noexcept {}

 private:
  alignas(kNoFalseSharing) std::atomic<bool> locked_{false};
};

// Spinning read-write lock. One word holds the writer bit and the reader count; a second word in
// the same line counts writers waiting. Reader preference: readers enter whenever no writer
// holds the lock, so a stream of overlapping readers can starve writers. Writer preference: a
// writer that failed once announces itself, and readers do not enter while any writer waits or
// holds the lock, so readers can starve only while writers keep arriving.
template <RwPrefer Prefer>
class SpinRwLock {
 public:
  static constexpr std::string_view kName = "spin";
  static constexpr bool kBlocking = false;
  static constexpr RwPrefer kPrefer = Prefer;

  SpinRwLock() = default;
  SpinRwLock(const SpinRwLock&) = delete;
  SpinRwLock& operator=(const SpinRwLock&) = delete;

  Attempt try_lock_shared() noexcept {
    // relaxed: the waiting count is a hint that only decides whether to try; no data is
    // published through it.
    if (Prefer == RwPrefer::kWriter && writers_waiting_.load(std::memory_order_relaxed) != 0) {
      return Attempt::kBusy;
    }
    // relaxed: the CAS below re-reads the word and orders the acquisition.
    std::uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & kWriter) != 0) return Attempt::kBusy;
    do {
      // acquire: pairs with the release store in unlock(), so the last writer's updates are
      // visible to this reader. A CAS that fails because another reader got in is not a
      // failed attempt at the lock (it is free), so it retries without counting or backing off.
      if (state_.compare_exchange_weak(s, s + kReader, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return Attempt::kAcquired;
      }
    } while ((s & kWriter) == 0);
    return Attempt::kFailed;  // a writer got in between the test and the CAS
  }
  // release: pairs with the writer's acquire CAS in try_lock(), so this reader's reads of the
  // protected data happen before the writer's writes.
  void unlock_shared() noexcept { state_.fetch_sub(kReader, std::memory_order_release); }

  Attempt try_lock() noexcept {
    // relaxed: a test only; the CAS below is the acquisition.
    if (state_.load(std::memory_order_relaxed) != 0) return Attempt::kBusy;
    std::uint32_t expected = 0;
    // acquire: pairs with the release in unlock() and unlock_shared(), so earlier readers are done
    // and the previous writer's updates are visible.
    return state_.compare_exchange_strong(expected, kWriter, std::memory_order_acquire,
                                          std::memory_order_relaxed)
               ? Attempt::kAcquired
               : Attempt::kFailed;
  }
  // release: pairs with the acquire CAS of the next reader or writer. While the writer bit is
  // set no reader can increment the word (their CAS requires the bit clear), so it is exactly
  // kWriter here.
  void unlock() noexcept { state_.store(0, std::memory_order_release); }

  // relaxed (both): the waiting count is a preference hint, not a synchronisation variable.
  void announce_writer() noexcept {
    if constexpr (Prefer == RwPrefer::kWriter) {
      writers_waiting_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void withdraw_writer() noexcept {
    if constexpr (Prefer == RwPrefer::kWriter) {
      writers_waiting_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

 private:
  static constexpr std::uint32_t kWriter = 1;
  static constexpr std::uint32_t kReader = 2;
  alignas(kNoFalseSharing) std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint32_t> writers_waiting_{0};
};

// std::mutex (a futex: a short spin in the kernel path, then sleep). The reference framework's
// lock.
class OsMutex {
 public:
  static constexpr std::string_view kName = "os";
  static constexpr bool kBlocking = true;

  OsMutex() = default;
  OsMutex(const OsMutex&) = delete;
  OsMutex& operator=(const OsMutex&) = delete;

  // A failed try_lock is a failed RMW (the futex word's CAS).
  Attempt try_lock() noexcept { return mutex_.try_lock() ? Attempt::kAcquired : Attempt::kFailed; }
  // std::mutex::lock throws only for errors (deadlock, invalid) that cannot happen here.
  void lock() noexcept { mutex_.lock(); }
  void unlock() noexcept { mutex_.unlock(); }
  Attempt try_lock_shared() noexcept { return try_lock(); }
  void lock_shared() noexcept { lock(); }
  void unlock_shared() noexcept { unlock(); }

 private:
  alignas(kNoFalseSharing) std::mutex mutex_;
};

// pthread_rwlock_t with the preference set explicitly. glibc's default (and therefore
// std::shared_mutex's) prefers readers; PTHREAD_RWLOCK_PREFER_WRITER_NP is documented but
// ignored by glibc, so writer preference is PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
// (correct here: no thread takes the read lock twice).
class OsRwLock {
 public:
  static constexpr std::string_view kName = "os";
  static constexpr bool kBlocking = true;

  explicit OsRwLock(RwPrefer prefer) : prefer_(prefer) {
    pthread_rwlockattr_t attr;
    if (pthread_rwlockattr_init(&attr) != 0) {
      throw EnvironmentError("pthread_rwlockattr_init failed");
    }
    const int kind = prefer == RwPrefer::kWriter ? PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
                                                 : PTHREAD_RWLOCK_PREFER_READER_NP;
    const int set = pthread_rwlockattr_setkind_np(&attr, kind);
    const int init = set == 0 ? pthread_rwlock_init(&lock_, &attr) : set;
    pthread_rwlockattr_destroy(&attr);
    if (init != 0) {
      throw EnvironmentError("pthread_rwlock_init (" + std::string(rw_prefer_name(prefer)) +
                             "-preferring) failed: " + std::to_string(init));
    }
  }
  ~OsRwLock() { pthread_rwlock_destroy(&lock_); }
  OsRwLock(const OsRwLock&) = delete;
  OsRwLock& operator=(const OsRwLock&) = delete;

  [[nodiscard]] RwPrefer prefer() const noexcept { return prefer_; }
  Attempt try_lock() noexcept {
    return pthread_rwlock_trywrlock(&lock_) == 0 ? Attempt::kAcquired : Attempt::kFailed;
  }
  void lock() noexcept { pthread_rwlock_wrlock(&lock_); }
  void unlock() noexcept { pthread_rwlock_unlock(&lock_); }
  Attempt try_lock_shared() noexcept {
    return pthread_rwlock_tryrdlock(&lock_) == 0 ? Attempt::kAcquired : Attempt::kFailed;
  }
  void lock_shared() noexcept { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() noexcept { pthread_rwlock_unlock(&lock_); }

 private:
  alignas(kNoFalseSharing) pthread_rwlock_t lock_;
  RwPrefer prefer_;
};

// Acquires `lock` (shared or exclusive) and returns the number of failed RMWs (failed
// attempts). Polls, the contended acquisition and the wait go into stats. A first try that
// succeeds costs no clock read; after an unsuccessful one the wait until acquisition is added to
// stats.lock_wait_seconds (it includes the backoff pauses, which the backoff policy also
// accumulates separately into backoff_seconds).
template <bool kShared, class Lock, BackoffPolicy Backoff>
inline std::int64_t acquire_lock(Lock& lock, Backoff& backoff, WorkerStats& stats) noexcept {
  auto try_once = [&lock]() noexcept {
    if constexpr (kShared) {
      return lock.try_lock_shared();
    } else {
      return lock.try_lock();
    }
  };
  Attempt attempt = try_once();
  if (attempt == Attempt::kAcquired) return 0;
  const auto t0 = std::chrono::steady_clock::now();
  ++stats.contended_acquisitions;
  std::int64_t failures = 0;
  auto count = [&](Attempt a) noexcept {
    if (a == Attempt::kFailed) {
      ++failures;
    } else {
      ++stats.polls;
    }
  };
  count(attempt);
  if constexpr (Lock::kBlocking) {
    if constexpr (kShared) {
      lock.lock_shared();
    } else {
      lock.lock();
    }
  } else {
    if constexpr (!kShared) lock.announce_writer();
    for (;;) {
      backoff.pause();
      attempt = try_once();
      if (attempt == Attempt::kAcquired) break;
      count(attempt);
    }
    if constexpr (!kShared) lock.withdraw_writer();
    backoff.reset();
  }
  stats.lock_wait_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return failures;
}

}  // namespace psgd
