// harness/test/numa_memory_test.cpp — memory policies, NumaBuffer, page placement queries.
//
// The NUMA branches depend on the machine: where libnuma reports support, placement is
// verified with move_pages and get_mempolicy; where it reports none, the errors are checked.
// Each test runs whichever branch this machine has and skips the other with the reason.
#include "harness/machine/numa_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"

namespace psgd {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

template <class Fn>
void on_new_thread(Fn&& fn) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

std::size_t pages_on(const PageNodeSample& s, int node) {
  const auto it = s.pages_per_node.find(node);
  return it == s.pages_per_node.end() ? 0 : it->second;
}

TEST(NumaPolicyParse, ValidNamesRoundTrip) {
  EXPECT_EQ(parse_memory_policy("local"), (MemoryPolicy{MemoryPolicyKind::kLocal, -1}));
  EXPECT_EQ(parse_memory_policy("interleave"), (MemoryPolicy{MemoryPolicyKind::kInterleave, -1}));
  EXPECT_EQ(parse_memory_policy("bind:0"), (MemoryPolicy{MemoryPolicyKind::kBind, 0}));
  EXPECT_EQ(parse_memory_policy("bind:12"), (MemoryPolicy{MemoryPolicyKind::kBind, 12}));
  for (const char* name : {"local", "interleave", "bind:0", "bind:3"}) {
    EXPECT_EQ(memory_policy_name(parse_memory_policy(name)), name);
  }
}

TEST(NumaPolicyParse, InvalidNamesListTheChoices) {
  for (const char* bad : {"", "Local", "numa", "bind", "bind:", "bind:-1", "bind:x", "bind:1x",
                          "bind: 1", "interleave:0"}) {
    try {
      parse_memory_policy(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos);
      EXPECT_NE(msg.find("--memory"), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(
      {
        try {
          parse_memory_policy("first-touch");
        } catch (const ConfigError& e) {
          EXPECT_STREQ(e.what(),
                       "--memory must be local, interleave or bind:NODE, got 'first-touch'");
          throw;
        }
      },
      ConfigError);
}

TEST(NumaPolicyCheck, WithoutNumaSupportOnlyLocalWorks) {
  const NumaSupport none{};
  EXPECT_NO_THROW(check_memory_policy(parse_memory_policy("local"), none));
  try {
    check_memory_policy(parse_memory_policy("interleave"), none);
    ADD_FAILURE();
  } catch (const EnvironmentError& e) {
    EXPECT_STREQ(e.what(),
                 "--memory interleave needs NUMA support; libnuma reports none on this machine");
  }
  EXPECT_THROW(check_memory_policy(parse_memory_policy("bind:0"), none), EnvironmentError);
}

TEST(NumaPolicyCheck, BindNeedsAnExistingNode) {
  const NumaSupport two{.available = true, .nodes = {0, 1}};
  EXPECT_NO_THROW(check_memory_policy(parse_memory_policy("bind:1"), two));
  EXPECT_NO_THROW(check_memory_policy(parse_memory_policy("interleave"), two));
  try {
    check_memory_policy(parse_memory_policy("bind:2"), two);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no NUMA node 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nodes: 0,1"), std::string::npos) << e.what();
  }
}

TEST(NumaSupportQuery, IsConsistent) {
  const NumaSupport s = numa_support();
  if (s.available) {
    EXPECT_FALSE(s.nodes.empty());
  } else {
    EXPECT_TRUE(s.nodes.empty());
  }
  const nlohmann::json j = s;
  EXPECT_EQ(j.at("available"), s.available);
}

TEST(NumaBufferLocal, AlignedZeroedWritableMovable) {
  NumaBuffer buf = NumaBuffer::of<float>(1000, parse_memory_policy("local"));
  EXPECT_EQ(buf.size_bytes(), 4000U);
  ASSERT_NE(buf.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buf.data()) % NumaBuffer::kAlignment, 0U);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buf.data()) % 4096, 0U);
  std::span<float> f = buf.as<float>();
  ASSERT_EQ(f.size(), 1000U);
  for (const float x : f) ASSERT_EQ(x, 0.0F);
  f[999] = 3.5F;
  NumaBuffer moved = std::move(buf);
  EXPECT_EQ(buf.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(buf.size_bytes(), 0U);
  EXPECT_EQ(moved.as<float>()[999], 3.5F);
  NumaBuffer other(10, parse_memory_policy("local"));
  other = std::move(moved);
  EXPECT_EQ(other.as<const float>().size(), 1000U);
  EXPECT_EQ(other.policy(), parse_memory_policy("local"));
}

TEST(NumaBufferLocal, EmptyBuffer) {
  const NumaBuffer empty(0, parse_memory_policy("local"));
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.size_bytes(), 0U);
  EXPECT_TRUE(empty.as<float>().empty());
  const NumaBuffer defaulted;
  EXPECT_EQ(defaulted.size_bytes(), 0U);
}

TEST(NumaBufferLocal, FirstTouchOnThePinnedThreadsNode) {
  if (!numa_support().available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  const Topology topo = Topology::this_machine();
  for (const Pu& pu : topo.pus()) {
    PageNodeSample sample;
    on_new_thread([&] {
      bind_current_thread(topo, CpuSlot{.worker = 0, .cpu = pu.os_index});
      const NumaBuffer buf(4 * kMiB, parse_memory_policy("local"));
      sample = sample_page_nodes(buf);
    });
    ASSERT_TRUE(sample.supported);
    EXPECT_EQ(sample.pages_unknown, 0U);
    EXPECT_EQ(pages_on(sample, pu.numa_node), sample.pages_sampled) << "CPU " << pu.os_index;
  }
}

TEST(NumaBufferBind, PagesLandOnTheBoundNode) {
  const NumaSupport s = numa_support();
  if (!s.available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  for (const int node : s.nodes) {
    const NumaBuffer buf(8 * kMiB, MemoryPolicy{MemoryPolicyKind::kBind, node});
    const PageNodeSample sample = sample_page_nodes(buf, 256);
    ASSERT_TRUE(sample.supported);
    EXPECT_EQ(sample.pages_sampled, 256U);
    EXPECT_EQ(sample.pages_unknown, 0U);
    EXPECT_EQ(pages_on(sample, node), 256U) << "bind:" << node;
  }
}

TEST(NumaBufferBind, UnknownNodeIsAConfigError) {
  const NumaSupport s = numa_support();
  if (!s.available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  EXPECT_THROW(NumaBuffer(kMiB, MemoryPolicy{MemoryPolicyKind::kBind, s.nodes.back() + 1}),
               ConfigError);
}

TEST(NumaBufferInterleave, PagesSpreadOverEveryNode) {
  const NumaSupport s = numa_support();
  if (!s.available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  const NumaBuffer buf(16 * kMiB, parse_memory_policy("interleave"));
  const PageNodeSample sample = sample_page_nodes(buf);
  ASSERT_TRUE(sample.supported);
  EXPECT_EQ(sample.pages_unknown, 0U);
  std::size_t total = 0;
  for (const int node : s.nodes) {
    EXPECT_GT(pages_on(sample, node), 0U) << "node " << node;
    total += pages_on(sample, node);
  }
  EXPECT_EQ(total, sample.pages_sampled);
}

TEST(NumaBufferNoSupport, InterleaveAndBindAreEnvironmentErrors) {
  if (numa_support().available) {
    GTEST_SKIP() << "libnuma reports NUMA support here; NumaPolicyCheck covers this branch";
  }
  EXPECT_THROW(NumaBuffer(kMiB, parse_memory_policy("interleave")), EnvironmentError);
  EXPECT_THROW(NumaBuffer(kMiB, parse_memory_policy("bind:0")), EnvironmentError);
  EXPECT_THROW(set_thread_memory_policy(parse_memory_policy("interleave")), EnvironmentError);
  EXPECT_NO_THROW(NumaBuffer(kMiB, parse_memory_policy("local")));
  const PageNodeSample sample = sample_page_nodes(NumaBuffer(kMiB, parse_memory_policy("local")));
  EXPECT_FALSE(sample.supported);
}

TEST(NumaThreadPolicy, SetThenReadBack) {
  const NumaSupport s = numa_support();
  if (!s.available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  const int node = s.nodes.front();
  on_new_thread([&] {
    EXPECT_EQ(current_thread_memory_policy(), parse_memory_policy("local"));
    set_thread_memory_policy(MemoryPolicy{MemoryPolicyKind::kBind, node});
    EXPECT_EQ(current_thread_memory_policy(), (MemoryPolicy{MemoryPolicyKind::kBind, node}));
    // A plain allocation on this thread now follows the policy.
    std::vector<char> plain(4 * kMiB, 1);
    const PageNodeSample sample = sample_page_nodes(plain.data(), plain.size(), 64);
    EXPECT_EQ(pages_on(sample, node), sample.pages_sampled);
    set_thread_memory_policy(parse_memory_policy("interleave"));
    EXPECT_EQ(current_thread_memory_policy(), parse_memory_policy("interleave"));
    set_thread_memory_policy(parse_memory_policy("local"));
    EXPECT_EQ(current_thread_memory_policy(), parse_memory_policy("local"));
  });
}

TEST(NumaPageSample, EmptyAndSparseRanges) {
  const PageNodeSample empty = sample_page_nodes(nullptr, 0);
  EXPECT_EQ(empty.pages_sampled, 0U);
  if (!numa_support().available) GTEST_SKIP() << "libnuma reports no NUMA support here";
  const NumaBuffer buf(3 * 4096 + 1, parse_memory_policy("local"));
  EXPECT_EQ(sample_page_nodes(buf).pages_sampled, 4U);  // every page of a short range
  EXPECT_EQ(sample_page_nodes(buf, 2).pages_sampled, 2U);
}

TEST(NumaJson, MemoryShape) {
  const NumaSupport s = numa_support();
  const NumaBuffer buf(kMiB, parse_memory_policy("local"));
  const PageNodeSample sample = sample_page_nodes(buf, 16);
  const nlohmann::json j = memory_to_json(parse_memory_policy("local"), s, &sample);
  EXPECT_EQ(j.at("policy"), "local");
  EXPECT_EQ(j.at("numa").at("available"), s.available);
  EXPECT_TRUE(j.at("numa").at("nodes").is_array());
  const nlohmann::json& observed = j.at("observed");
  EXPECT_EQ(observed.at("supported"), sample.supported);
  EXPECT_TRUE(observed.at("per_node").is_object());
  if (sample.supported) {
    std::size_t total = observed.at("unknown").get<std::size_t>();
    for (const auto& [node, pages] : observed.at("per_node").items()) {
      total += pages.get<std::size_t>();
    }
    EXPECT_EQ(total, 16U);
  }
  EXPECT_TRUE(memory_to_json(parse_memory_policy("bind:0"), s, nullptr).at("observed").is_null());
}

}  // namespace
}  // namespace psgd
