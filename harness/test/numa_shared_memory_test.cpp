// NumaSharedMemory: every allocation placed by the policy and sampled after the run, on this
// machine and on a fake two-node sampler.
#include "harness/machine/numa_shared_memory.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

// A fake kernel that says interleaved pages alternate between nodes 0 and 1.
PageNodeSample two_node_sample(const void* /*data*/, std::size_t bytes) {
  PageNodeSample s;
  s.supported = true;
  const std::size_t pages = (bytes + 4095) / 4096;
  s.pages_sampled = pages;
  s.pages_per_node[0] = (pages + 1) / 2;
  if (pages / 2 > 0) s.pages_per_node[1] = pages / 2;
  return s;
}

TEST(NumaSharedMemory, AddsUpTheSamplesOfEveryLiveAllocation) {
  NumaSharedMemory memory(MemoryPolicy{}, two_node_sample);
  void* a = memory.allocate(4 * 4096);
  void* b = memory.allocate(3 * 4096);
  PageNodeSample s = memory.observed();
  EXPECT_TRUE(s.supported);
  EXPECT_EQ(s.pages_sampled, 7U);
  EXPECT_EQ(s.pages_per_node[0], 4U);  // 2 + 2
  EXPECT_EQ(s.pages_per_node[1], 3U);  // 2 + 1
  EXPECT_EQ(memory.live_bytes(), 7U * 4096);
  memory.deallocate(a, 4 * 4096);
  s = memory.observed();
  EXPECT_EQ(s.pages_sampled, 3U);
  memory.deallocate(b, 3 * 4096);
  EXPECT_EQ(memory.live_bytes(), 0U);
}

TEST(NumaSharedMemory, AllocationsAreZeroedAndAligned) {
  NumaSharedMemory memory(MemoryPolicy{});
  auto* p = static_cast<unsigned char*>(memory.allocate(10000));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kNoFalseSharing, 0U);
  for (std::size_t i = 0; i < 10000; ++i) ASSERT_EQ(p[i], 0);
  memory.deallocate(p, 10000);
}

// Leashed's whole pool comes from the run's memory: with bind:0 every sampled page of it is on
// node 0 (this machine), and a two-node interleave is reported as two nodes.
TEST(NumaSharedMemory, HoldsLeashedsWholePool) {
  const NumaSupport support = numa_support();
  if (!support.available) GTEST_SKIP() << "no NUMA support on this machine";
  const testing::LeastSquares model(5000);  // 20 KB per vector: several pages each
  const Dataset data = testing::random_floats(64, 5000, 3, 1);
  for (const bool fake_two_nodes : {false, true}) {
    NumaSharedMemory memory =
        fake_two_nodes ? NumaSharedMemory(parse_memory_policy("interleave"), two_node_sample)
                       : NumaSharedMemory(parse_memory_policy("bind:0"));
    const AlgorithmSettings defaults;
    const std::unique_ptr<Algorithm> algo =
        builtin_algorithms().make("leashed", AlgorithmSetup{defaults, 1, 2});
    RunnerOptions o;
    o.threads = 2;
    o.batch_size = 4;
    o.step = 1e-4F;
    o.total_updates = 100;
    o.shared_memory = &memory;
    (void)run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
    // 3N = 6 vectors of 5001 floats, each padded to a cache line: at least 6 * 20004 bytes.
    EXPECT_GE(memory.live_bytes(), 6U * 5001 * sizeof(float));
    const PageNodeSample s = memory.observed();
    ASSERT_TRUE(s.supported);
    EXPECT_GE(s.pages_sampled, 30U);
    if (fake_two_nodes) {
      EXPECT_EQ(s.pages_per_node.size(), 2U);
    } else {
      EXPECT_EQ(s.pages_per_node.size(), 1U);
      EXPECT_EQ(s.pages_per_node.at(0), s.pages_sampled);
    }
  }
}

}  // namespace
}  // namespace psgd
