// The batch orders: each worker's own permutation (psgd's default), the reference framework's
// shared schedule (one shuffle into ceil(N/b) batches, a shared counter) and shards (each worker
// its own permutation of its own slice).
#include "models/batch_sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

namespace psgd {
namespace {

// n samples whose one feature is the sample's index, so a batch says which samples it holds.
Dataset indexed(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
  return Dataset::from_floats(ImageShape{1, 1, 1}, std::move(x), std::vector<std::int32_t>(n, 0),
                              1);
}

TEST(SharedBatchSchedule, CutsOneShuffleIntoCeilNOverBBatchesTheLastSmaller) {
  SharedBatchSchedule schedule(10, 4, 7);
  EXPECT_EQ(schedule.num_batches(), 3U);
  std::map<std::uint32_t, int> seen;
  std::vector<std::size_t> sizes;
  for (int k = 0; k < 3; ++k) {
    const auto b = schedule.next();
    sizes.push_back(b.size());
    for (const std::uint32_t i : b) ++seen[i];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
  EXPECT_EQ(seen.size(), 10U);  // every sample once per pass
  for (const auto& [i, count] : seen) EXPECT_EQ(count, 1) << i;
  // The order never changes: the next pass repeats the first.
  SharedBatchSchedule again(10, 4, 7);
  for (int k = 0; k < 3; ++k) {
    const auto want = again.next();
    const auto got = schedule.next();
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin(), got.end())) << k;
  }
}

TEST(SharedBatchSchedule, WorkersShareOneCounter) {
  const Dataset data = indexed(64);
  SharedBatchSchedule schedule(64, 8, 3);
  std::vector<std::map<int, int>> seen(2);
  {
    std::vector<std::jthread> threads;
    for (int w = 0; w < 2; ++w) {
      threads.emplace_back([&, w] {
        BatchSampler sampler(data, 8, schedule);
        for (int k = 0; k < 8; ++k) {  // 2 workers x 8 batches = two passes over 8 batches
          const Batch b = sampler.next();
          for (std::size_t j = 0; j < b.size; ++j) ++seen[w][static_cast<int>(b.features[j])];
        }
      });
    }
  }
  std::map<int, int> total;
  for (const auto& s : seen) {
    for (const auto& [i, c] : s) total[i] += c;
  }
  ASSERT_EQ(total.size(), 64U);
  for (const auto& [i, c] : total) EXPECT_EQ(c, 2) << "sample " << i;  // exactly two passes
}

TEST(BatchSampler, OwnPermutationDependsOnTheSeedOnly) {
  const Dataset data = indexed(32);
  BatchSampler a(data, 4, 11);
  BatchSampler b(data, 4, 11);
  for (int k = 0; k < 20; ++k) {
    const Batch x = a.next();
    const Batch y = b.next();
    ASSERT_EQ(x.size, 4U);
    for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(x.features[j], y.features[j]);
  }
}

TEST(ShardSlice, DisjointSlicesCoverTheSetAndDifferByAtMostOne) {
  for (const std::size_t n : {1UL, 10UL, 64UL, 1001UL, 60000UL}) {
    for (std::size_t workers = 1; workers <= 9; ++workers) {
      std::size_t next = 0, smallest = n, largest = 0;
      for (std::size_t w = 0; w < workers; ++w) {
        const SampleRange r = shard_slice(n, w, workers);
        EXPECT_EQ(r.begin, next) << n << " " << w << "/" << workers;  // no gap, no overlap
        EXPECT_LE(r.begin, r.end);
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, n) << n << " over " << workers;
      EXPECT_LE(largest - smallest, 1U) << n << " over " << workers;
      EXPECT_EQ(shard_slice(n, 0, workers).size(), smallest);  // the first is the smallest
    }
  }
}

// 3 workers on 84 samples: slices of 28, 4 batches of 7 each. Every batch lies in its worker's
// slice, and one pass of each slice (4 batches per worker, 12 in all: one pass of the set) draws
// every sample exactly once; the next pass, reshuffled, again stays inside the slice.
TEST(BatchSampler, ShardsDrawOnlyFromTheirSliceEachSampleOncePerPass) {
  const Dataset data = indexed(84);
  for (int pass = 1; pass <= 2; ++pass) {
    std::map<int, int> seen;
    for (std::size_t w = 0; w < 3; ++w) {
      const SampleRange slice = shard_slice(84, w, 3);
      BatchSampler sampler(data, 7, 40 + w, slice);
      for (int k = 0; k < 4 * pass; ++k) {
        const Batch b = sampler.next();
        ASSERT_EQ(b.size, 7U);
        for (std::size_t j = 0; j < b.size; ++j) {
          const auto i = static_cast<std::size_t>(b.features[j]);
          EXPECT_GE(i, slice.begin) << "worker " << w;
          EXPECT_LT(i, slice.end) << "worker " << w;
          if (k >= 4 * (pass - 1)) ++seen[static_cast<int>(i)];  // this pass only
        }
      }
    }
    ASSERT_EQ(seen.size(), 84U) << "pass " << pass;
    for (const auto& [i, c] : seen) EXPECT_EQ(c, 1) << "sample " << i << " pass " << pass;
  }
}

// A slice of the whole set is the worker order bit for bit: one-thread runs stay seq's.
TEST(BatchSampler, AWholeSetSliceIsTheOwnPermutation) {
  const Dataset data = indexed(30);
  BatchSampler whole(data, 4, 11);
  BatchSampler shard(data, 4, 11, shard_slice(30, 0, 1));
  for (int k = 0; k < 40; ++k) {  // past several reshuffles (7 batches a pass)
    const Batch x = whole.next();
    const Batch y = shard.next();
    ASSERT_EQ(y.size, x.size);
    for (std::size_t j = 0; j < x.size; ++j) EXPECT_EQ(x.features[j], y.features[j]) << k;
  }
}

}  // namespace
}  // namespace psgd
