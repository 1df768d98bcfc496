// algorithms/test/reclaim_test.cpp — the reference-counted pool on its own: ownership rules,
// reuse, the live bound, and no reader ever seeing a vector recycled under it.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "algorithms/reclaim/ref_count_pool.hpp"

namespace psgd {
namespace {

TEST(RefCountPool, CapacityAndBound) {
  RefCountPool pool(10, 4);
  EXPECT_EQ(pool.capacity(), 12U);
  EXPECT_EQ(pool.live_bound(), 9);
  EXPECT_EQ(pool.live(), 0);
}

TEST(RefCountPool, AllocateReleaseReuse) {
  RefCountPool pool(33, 2);
  std::set<PooledVector*> seen;
  std::vector<PooledVector*> held;
  for (std::size_t i = 0; i < pool.capacity(); ++i) {
    PooledVector* v = pool.allocate();
    EXPECT_EQ(v->refs.load(), 1);
    EXPECT_EQ(v->size, 33U);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v->data) % kNoFalseSharing, 0U);
    EXPECT_TRUE(seen.insert(v).second);
    for (float& x : v->values()) x = static_cast<float>(i);  // vectors do not overlap
    held.push_back(v);
  }
  EXPECT_EQ(pool.live(), static_cast<std::int64_t>(pool.capacity()));
  for (std::size_t i = 0; i < held.size(); ++i) {
    for (float x : held[i]->values()) EXPECT_EQ(x, static_cast<float>(i));
  }
  pool.retain(held[0]);
  pool.release(held[0]);
  EXPECT_EQ(held[0]->refs.load(), 1);  // still held once
  for (PooledVector* v : held) pool.release(v);
  EXPECT_EQ(pool.live(), 0);
  EXPECT_EQ(pool.peak_live(), static_cast<std::int64_t>(pool.capacity()));
  PooledVector* again = pool.allocate();  // freed vectors come back
  EXPECT_TRUE(seen.count(again) == 1);
  pool.release(again);
}

TEST(RefCountPool, AcquireCountsAReferenceToTheCurrentVector) {
  RefCountPool pool(4, 1);
  std::atomic<PooledVector*> latest{pool.allocate()};
  PooledVector* a = pool.acquire(latest);
  EXPECT_EQ(a, latest.load());
  EXPECT_EQ(a->refs.load(), 2);
  PooledVector* b = pool.allocate();
  PooledVector* expected = a;
  ASSERT_TRUE(latest.compare_exchange_strong(expected, b));
  pool.release(a);               // latest's reference, transferred to b
  EXPECT_EQ(a->refs.load(), 1);  // the reader still holds it: not freed
  EXPECT_EQ(pool.live(), 2);
  pool.release(a);
  EXPECT_EQ(pool.live(), 1);
  PooledVector* c = pool.acquire(latest);
  EXPECT_EQ(c, b);
  pool.release(c);
  pool.release(b);
}

// Leashed's protocol in miniature: every vector is stamped with its version in every element; a
// reader checks the stamp while it holds its reference. A vector freed and rewritten under a
// reader would show a mixed or different stamp.
void publish_and_read(int threads, int rounds, std::size_t size) {
  RefCountPool pool(size, threads);
  PooledVector* first = pool.allocate();
  first->version = 0;
  for (float& x : first->values()) x = 0.0F;
  std::atomic<PooledVector*> latest{first};
  std::atomic<int> torn{0};
  std::atomic<std::int64_t> published{0};
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        PooledVector* candidate = nullptr;
        for (int r = 0; r < rounds; ++r) {
          PooledVector* q = pool.acquire(latest);
          const auto stamp = static_cast<float>(q->version);
          for (float x : q->values()) {
            if (x != stamp) torn.fetch_add(1);
          }
          if (candidate == nullptr) candidate = pool.allocate();
          candidate->version = q->version + 1;
          for (float& x : candidate->values()) x = static_cast<float>(candidate->version);
          PooledVector* expected = q;
          // release: pairs with the acquire loads in RefCountPool::acquire() (the stamps above
          // become visible with the pointer); relaxed on failure: nothing was published.
          if (latest.compare_exchange_strong(expected, candidate, std::memory_order_release,
                                             std::memory_order_relaxed)) {
            candidate = nullptr;
            pool.release(q);
            published.fetch_add(1);
          }
          pool.release(q);
        }
        if (candidate != nullptr) pool.release(candidate);
      });
    }
  }
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(latest.load()->version, published.load());
  EXPECT_EQ(pool.live(), 1);  // only the latest is left
  EXPECT_LE(pool.peak_live(), pool.live_bound());
  pool.release(latest.load());
  EXPECT_EQ(pool.live(), 0);
}

TEST(RefCountPool, ConcurrentPublishNeverRecyclesUnderAReader) { publish_and_read(4, 3000, 64); }

TEST(RefCountPoolStress, EightThreadsOnFewCores) { publish_and_read(8, 50000, 256); }

}  // namespace
}  // namespace psgd
