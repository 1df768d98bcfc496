// algorithms/shared_memory.cpp — the heap implementation of SharedMemory.
#include "algorithms/shared_memory.hpp"

#include <new>

namespace psgd {
namespace {

class HeapSharedMemory final : public SharedMemory {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = ::operator new (bytes, std::align_val_t{kNoFalseSharing});
    std::memset(p, 0, bytes);  // first touch, here: the pages are placed now
    return p;
  }
  void deallocate(void* p, std::size_t /*bytes*/) noexcept override {
    ::operator delete (p, std::align_val_t{kNoFalseSharing});
  }
};

}  // namespace

SharedMemory& heap_shared_memory() {
  static HeapSharedMemory memory;
  return memory;
}

}  // namespace psgd
