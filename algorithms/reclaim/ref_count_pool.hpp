// algorithms/reclaim/ref_count_pool.hpp — safe reclamation of Leashed-SGD's parameter vectors:
// per-vector reference counts over a fixed pool of preallocated vectors with a lock-free free
// list, so the worker loop never allocates and memory stays bounded.
//
// Protocol. A vector is live while its count is > 0. allocate() hands out a free vector with one
// reference (the owner's). A shared pointer (Leashed's `latest`) holds one reference of the vector
// it points to; the publisher transfers its owner reference to the pointer with a successful CAS,
// and the worker that replaces a vector releases that reference. acquire(src) returns a counted
// reference to the vector src points to: it increments the count only if it is not zero (so a
// freed vector is never resurrected), then re-reads src and keeps the reference only if src still
// points to that vector; otherwise it drops it and retries. The increment may land on a vector
// that was freed and handed out again (vectors are never returned to the OS, so this touches valid
// memory); the re-check rejects it unless that vector has since been published, in which case it
// is the latest and the reference is legitimate.
//
// Bounds, for N workers that each hold at most two references at a time (Leashed holds the
// version it reads and its private candidate): at most 2N + 1 vectors are live (N read, N
// private, the latest). The pool has 3N vectors: when a worker allocates, the others may each
// also be between dropping a count to zero and pushing that vector back (at most one each), so
// 3N - 1 vectors can be out of the free list and allocate() always finds one without waiting.
// Progress: acquire() is lock-free (a retry means another worker published); release() and
// allocate() are lock-free (Treiber stack with a tagged head against ABA).
// Thread-safety: every member function may be called concurrently, except the constructor,
// destructor and reset_peak().
// Both types are templates over the scalar type of the values (--precision), instantiated for
// float and double in ref_count_pool.cpp; the float ones keep their names as aliases.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/shared_memory.hpp"
#include "common/cache_line.hpp"

namespace psgd {

// One parameter vector of the pool. `version` and `data` are written only by the vector's owner
// between allocate() and publication; afterwards the vector is immutable until it is freed.
template <class S>
struct alignas(kNoFalseSharing) BasicPooledVector {
  std::atomic<std::int32_t> refs{0};
  std::atomic<std::uint32_t> next_free{0};  // free-list link (an index), meaningful while free
  std::int64_t version = 0;
  S* data = nullptr;
  std::size_t size = 0;
  std::uint32_t index = 0;

  [[nodiscard]] std::span<S> values() noexcept { return {data, size}; }
  [[nodiscard]] std::span<const S> values() const noexcept { return {data, size}; }
};
using PooledVector = BasicPooledVector<float>;

template <class S>
class BasicRefCountPool {
 public:
  using PooledVector = BasicPooledVector<S>;

  // Preallocates 3 * num_workers vectors of num_params floats, all from `memory` (so the run's
  // --memory policy places the whole pool, every page written before the run starts). Throws
  // what memory.allocate() throws.
  BasicRefCountPool(std::size_t num_params, int num_workers,
                    SharedMemory& memory = heap_shared_memory());
  ~BasicRefCountPool();
  BasicRefCountPool(const BasicRefCountPool&) = delete;
  BasicRefCountPool& operator=(const BasicRefCountPool&) = delete;

  // A free vector with one reference, the caller's. Never waits under the bound above.
  PooledVector* allocate() noexcept;
  // Adds a reference to a vector the caller already holds a reference to.
  void retain(PooledVector* v) noexcept;
  // Drops one reference; the last one returns the vector to the free list.
  void release(PooledVector* v) noexcept;
  // A counted reference to the vector `src` pointed to at some instant during the call. src must
  // hold a reference to every vector it points to (see the protocol above) and never be null.
  PooledVector* acquire(const std::atomic<PooledVector*>& src) noexcept;

  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }
  // 2N + 1: the most vectors live at once when every worker holds at most two references.
  [[nodiscard]] std::int64_t live_bound() const noexcept { return 2 * num_workers_ + 1; }
  [[nodiscard]] std::int64_t live() const noexcept {
    return live_.load(std::memory_order_relaxed);  // relaxed: a statistic, read after the join
  }
  [[nodiscard]] std::int64_t peak_live() const noexcept {
    return peak_.load(std::memory_order_relaxed);  // relaxed: a statistic, read after the join
  }

 private:
  static constexpr std::uint32_t kNil = 0xFFFFFFFFU;
  static std::uint64_t pack(std::uint32_t tag, std::uint32_t index) noexcept {
    return (static_cast<std::uint64_t>(tag) << 32) | index;
  }
  static std::uint32_t index_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head & 0xFFFFFFFFU);
  }
  static std::uint32_t tag_of(std::uint64_t head) noexcept {
    return static_cast<std::uint32_t>(head >> 32);
  }
  // Increments v's count unless it is zero; true when it did.
  static bool try_retain(PooledVector* v) noexcept;
  void push(PooledVector* v) noexcept;
  PooledVector* pop() noexcept;

  std::int64_t num_workers_;
  std::size_t stride_;  // values between consecutive vectors (a multiple of a cache line)
  std::vector<PooledVector> slots_;
  SharedArray<S> storage_;  // every vector's values, stride_ apart (after slots_: sized by it)
  // The free list's head (tag << 32 | index) and the live counters: written on every publish,
  // so on their own line, away from the vectors' headers.
  alignas(kNoFalseSharing) std::atomic<std::uint64_t> head_{0};
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::int64_t> peak_{0};
};
using RefCountPool = BasicRefCountPool<float>;

}  // namespace psgd
