// algorithms/reclaim/ref_count_pool.cpp — the reference-counted vector pool.
#include "algorithms/reclaim/ref_count_pool.hpp"

#include <algorithm>
#include <new>
#include <thread>

#include "algorithms/backoff.hpp"

namespace psgd {
namespace {

template <class S>
constexpr std::size_t kValuesPerLine = kNoFalseSharing / sizeof(S);

}  // namespace

template <class S>
BasicRefCountPool<S>::BasicRefCountPool(std::size_t num_params, int num_workers,
                                        SharedMemory& memory)
    : num_workers_(num_workers < 1 ? 1 : num_workers),
      stride_((num_params + kValuesPerLine<S> - 1) / kValuesPerLine<S> * kValuesPerLine<S>),
      slots_(static_cast<std::size_t>(3 * num_workers_)),
      storage_(memory, stride_ * slots_.size()) {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    BasicPooledVector<S>& v = slots_[i];
    v.data = storage_.data() + i * stride_;
    v.size = num_params;
    v.index = static_cast<std::uint32_t>(i);
    // Built single-threaded: the free list links slot i to slot i + 1.
    v.next_free.store(i + 1 < slots_.size() ? static_cast<std::uint32_t>(i + 1) : kNil);
  }
  head_.store(pack(0, slots_.empty() ? kNil : 0));
}

template <class S>
BasicRefCountPool<S>::~BasicRefCountPool() = default;

template <class S>
void BasicRefCountPool<S>::push(PooledVector* v) noexcept {
  // relaxed: the CAS below re-validates the head.
  std::uint64_t head = head_.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    // relaxed: published by the release CAS below, which the popper's acquire reads.
    v->next_free.store(index_of(head), std::memory_order_relaxed);
    next = pack(tag_of(head) + 1, v->index);
    // release: pairs with the acquire in pop(), so the link above, and every reader's use of
    // the vector (ordered before this by release()'s acq_rel decrement), happen before its
    // reuse.
  } while (!head_.compare_exchange_weak(head, next, std::memory_order_release,
                                        std::memory_order_relaxed));
}

template <class S>
BasicPooledVector<S>* BasicRefCountPool<S>::pop() noexcept {
  // acquire: pairs with the release CAS in push(), so the pushed vector's link is visible.
  std::uint64_t head = head_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint32_t i = index_of(head);
    if (i == kNil) {
      // Cannot happen within the bound (see the header); waiting keeps it safe if it ever did.
      std::this_thread::yield();
      head = head_.load(std::memory_order_acquire);  // acquire: as above
      continue;
    }
    // relaxed: ordered by the acquire load of head; if the vector was popped and pushed again
    // meanwhile the link may be stale, but then the tag has changed and the CAS fails.
    const std::uint32_t next = slots_[i].next_free.load(std::memory_order_relaxed);
    // acquire (both): on success, as above; on failure the new head is read like the first.
    if (head_.compare_exchange_weak(head, pack(tag_of(head) + 1, next), std::memory_order_acquire,
                                    std::memory_order_acquire)) {
      return &slots_[i];
    }
  }
}

template <class S>
BasicPooledVector<S>* BasicRefCountPool<S>::allocate() noexcept {
  BasicPooledVector<S>* v = pop();
  // release: pairs with the acquire CAS in try_retain(). A reader whose increment lands on this
  // new lifetime then also sees the CAS that replaced the vector in `src` before it was freed
  // (that CAS happens before the free, the push, the pop and this store), so its re-check of
  // src cannot read the old pointer and accept a vector that is now private.
  v->refs.store(1, std::memory_order_release);
  // relaxed: live_ and peak_ are statistics only.
  const std::int64_t now = live_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return v;
}

template <class S>
void BasicRefCountPool<S>::retain(PooledVector* v) noexcept {
  // relaxed: the caller already holds a reference, so the vector cannot be freed meanwhile and
  // nothing needs ordering (the standard shared_ptr copy argument).
  v->refs.fetch_add(1, std::memory_order_relaxed);
}

template <class S>
bool BasicRefCountPool<S>::try_retain(PooledVector* v) noexcept {
  // relaxed: the CAS re-reads the count.
  std::int32_t n = v->refs.load(std::memory_order_relaxed);
  while (n > 0) {
    // acquire: pairs with the release store in allocate() (see there); failure relaxed: retried.
    if (v->refs.compare_exchange_weak(n, n + 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

template <class S>
void BasicRefCountPool<S>::release(PooledVector* v) noexcept {
  // acq_rel: the release half orders this holder's reads of the vector before its decrement;
  // the acquire half, on the thread that drops the last reference, pairs with every other
  // holder's release (the decrements form one release sequence), so all their reads happen
  // before the vector is pushed and reused. (Not release + an acquire fence: ThreadSanitizer
  // does not model standalone fences; on x86 both are one lock xadd.)
  if (v->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    // relaxed: a statistic.
    live_.fetch_sub(1, std::memory_order_relaxed);
    push(v);
  }
}

template <class S>
BasicPooledVector<S>* BasicRefCountPool<S>::acquire(
    const std::atomic<PooledVector*>& src) noexcept {
  for (;;) {
    // acquire: pairs with the release CAS that published the vector, so its data and version are
    // visible once the re-check below accepts it.
    BasicPooledVector<S>* v = src.load(std::memory_order_acquire);
    if (try_retain(v)) {
      // acquire: as above. It cannot be satisfied before the increment (acquire CAS), so a
      // successful re-check means src pointed to v while this reference existed.
      if (src.load(std::memory_order_acquire) == v) return v;
      release(v);
    }
    cpu_relax();  // v was replaced meanwhile: another worker published, so progress was made
  }
}

template class BasicRefCountPool<float>;
template class BasicRefCountPool<double>;

}  // namespace psgd
