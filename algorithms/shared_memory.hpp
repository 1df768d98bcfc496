// algorithms/shared_memory.hpp — the one allocation path for every algorithm's shared storage
// (parameter vectors, Leashed's whole vector pool, sync's gradient slots).
//
// Why one path: `--memory local|interleave|bind:N` must place all memory the workers share, or a
// UMA-vs-NUMA comparison measures the wrong layout. The harness implements SharedMemory with
// libnuma (harness/machine/numa_memory.hpp: a policy applied to the range, every page written
// before the allocation returns, and the pages sampled after the run for the JSON); tests and
// benchmarks use heap_shared_memory(). Algorithms allocate in Algorithm::init(), on the runner's
// thread, before any worker exists, and only through SharedArray.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

#include "common/cache_line.hpp"

namespace psgd {

class SharedMemory {
 public:
  virtual ~SharedMemory() = default;
  // `bytes` of zero-filled memory aligned to kNoFalseSharing, every page already written (placed)
  // when it returns. Throws (std::bad_alloc, EnvironmentError) when it cannot. Thread-safe.
  virtual void* allocate(std::size_t bytes) = 0;
  // Returns what allocate(bytes) gave. Thread-safe.
  virtual void deallocate(void* p, std::size_t bytes) noexcept = 0;
};

// Heap memory, first-touched (zero-filled) by the allocating thread: no policy.
SharedMemory& heap_shared_memory();

// `size` values of T (trivially copyable, zero bytes are its zero) from a SharedMemory.
// Move-only; owns the memory. Not thread-safe itself: the algorithm's protocol orders the
// accesses to the values.
template <class T>
class SharedArray {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= kNoFalseSharing);

 public:
  SharedArray() = default;
  SharedArray(SharedMemory& memory, std::size_t size)
      : memory_(&memory), data_(static_cast<T*>(memory.allocate(bytes_for(size)))), size_(size) {}
  SharedArray(SharedArray&& other) noexcept { *this = std::move(other); }
  SharedArray& operator=(SharedArray&& other) noexcept {
    if (this != &other) {
      release();
      memory_ = std::exchange(other.memory_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;
  ~SharedArray() { release(); }

  // A fresh array holding a copy of `values`.
  static SharedArray copy_of(SharedMemory& memory, std::span<const T> values) {
    SharedArray a(memory, values.size());
    if (!values.empty()) std::memcpy(a.data_, values.data(), values.size() * sizeof(T));
    return a;
  }

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<T> span() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, size_}; }
  [[nodiscard]] T* begin() noexcept { return data_; }
  [[nodiscard]] T* end() noexcept { return data_ + size_; }
  [[nodiscard]] const T* begin() const noexcept { return data_; }
  [[nodiscard]] const T* end() const noexcept { return data_ + size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  // At least one byte, so even an empty array has a distinct allocation to free.
  static std::size_t bytes_for(std::size_t size) noexcept {
    return size == 0 ? 1 : size * sizeof(T);
  }
  void release() noexcept {
    if (data_ != nullptr) memory_->deallocate(data_, bytes_for(size_));
    data_ = nullptr;
    size_ = 0;
  }

  SharedMemory* memory_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace psgd
