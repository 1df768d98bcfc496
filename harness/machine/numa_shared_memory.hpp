// harness/machine/numa_shared_memory.hpp — the run's SharedMemory (algorithms/shared_memory.hpp):
// every shared allocation of the algorithm is a NumaBuffer under the run's --memory policy (mapped,
// mbind'ed, every page written before it returns), and after the run the pages of all of them
// are sampled with move_pages for `placement.memory.observed`.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>

#include "algorithms/shared_memory.hpp"
#include "harness/machine/numa_memory.hpp"

namespace psgd {

class NumaSharedMemory final : public SharedMemory {
 public:
  // Samples the pages of one allocation: sample_page_nodes by default; tests pass a fake that
  // reports several nodes.
  using Sampler = std::function<PageNodeSample(const void* data, std::size_t bytes)>;

  explicit NumaSharedMemory(const MemoryPolicy& policy, Sampler sampler = default_sampler());

  void* allocate(std::size_t bytes) override;
  void deallocate(void* p, std::size_t bytes) noexcept override;

  // Where the pages of every live allocation are, added up (pages_sampled, per node, unknown);
  // up to kPagesPerAllocation sampled per allocation. Thread-safe.
  [[nodiscard]] PageNodeSample observed() const;
  // Bytes allocated and still live. Thread-safe.
  [[nodiscard]] std::size_t live_bytes() const;

  static Sampler default_sampler();
  static constexpr std::size_t kPagesPerAllocation = 1024;

 private:
  MemoryPolicy policy_;
  Sampler sampler_;
  mutable std::mutex mutex_;
  std::map<void*, NumaBuffer> buffers_;  // guarded by mutex_
};

}  // namespace psgd
