// harness/machine/numa_shared_memory.cpp — shared allocations under the run's memory policy.
#include "harness/machine/numa_shared_memory.hpp"

#include <utility>

namespace psgd {

NumaSharedMemory::NumaSharedMemory(const MemoryPolicy& policy, Sampler sampler)
    : policy_(policy), sampler_(std::move(sampler)) {}

NumaSharedMemory::Sampler NumaSharedMemory::default_sampler() {
  return [](const void* data, std::size_t bytes) {
    return sample_page_nodes(data, bytes, kPagesPerAllocation);
  };
}

void* NumaSharedMemory::allocate(std::size_t bytes) {
  NumaBuffer buffer(bytes, policy_);  // placed and zero-filled here
  void* p = buffer.data();
  const std::lock_guard lock(mutex_);
  buffers_.emplace(p, std::move(buffer));
  return p;
}

void NumaSharedMemory::deallocate(void* p, std::size_t /*bytes*/) noexcept {
  const std::lock_guard lock(mutex_);
  buffers_.erase(p);
}

PageNodeSample NumaSharedMemory::observed() const {
  const std::lock_guard lock(mutex_);
  PageNodeSample total;
  total.supported = true;
  for (const auto& [p, buffer] : buffers_) {
    const PageNodeSample s = sampler_(buffer.data(), buffer.size_bytes());
    total.supported = total.supported && s.supported;
    total.pages_sampled += s.pages_sampled;
    total.pages_unknown += s.pages_unknown;
    for (const auto& [node, pages] : s.pages_per_node) total.pages_per_node[node] += pages;
  }
  return total;
}

std::size_t NumaSharedMemory::live_bytes() const {
  const std::lock_guard lock(mutex_);
  std::size_t bytes = 0;
  for (const auto& [p, buffer] : buffers_) bytes += buffer.size_bytes();
  return bytes;
}

}  // namespace psgd
