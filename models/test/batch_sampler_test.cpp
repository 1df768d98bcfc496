// The two batch orders: each worker's own permutation (psgd's default) and the reference
// framework's shared schedule (one shuffle into ceil(N/b) batches, a shared counter).
#include "models/batch_sampler.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace psgd
