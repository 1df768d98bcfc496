// harness/test/replicated_placement_test.cpp — `replicated`'s replicas on 2- and 4-node
// synthetic topologies: the placement's plan (compact and scatter) grouped per node puts each
// replica's workers on its node, and each replica's parameters are allocated from the memory
// bound to that node (a recording stand-in for the harness's node memory), so the layout the
// JSON records is the one planned, without a NUMA machine.
#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/replicated.hpp"
#include "algorithms/replicated_layout.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"

namespace psgd {
namespace {

// Heap memory that remembers its allocations: one per node.
class NodeRecordingMemory final : public SharedMemory {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = heap_shared_memory().allocate(bytes);
    blocks_.emplace_back(static_cast<const char*>(p), bytes);
    return p;
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    heap_shared_memory().deallocate(p, bytes);
  }
  [[nodiscard]] bool holds(const void* p, std::size_t bytes) const {
    const auto* c = static_cast<const char*>(p);
    for (const auto& [base, size] : blocks_) {
      if (c >= base && c + bytes <= base + size) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<const char*, std::size_t>> blocks_;
};

std::vector<int> planned_nodes_of(const PlacementPlan& plan) {
  std::vector<int> nodes;
  for (const CpuSlot& s : plan) nodes.push_back(s.numa_node);
  return nodes;
}

PlacementOptions placement_with(PlacementPolicy p) {
  PlacementOptions o;
  o.policy = p;
  return o;
}

// Plans `threads` workers on `desc`, builds `replicated --replicas per-node --inner inner` on
// the plan and checks each replica: its workers on its node, its parameters in that node's
// memory, its planned CPUs those of the plan.
void expect_replicas_on_their_nodes(const std::string& desc, int nodes, int threads,
                                    const std::string& inner) {
  const Topology topo = Topology::synthetic(desc);
  ASSERT_EQ(topo.summary().numa_nodes, nodes);
  for (const auto p : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    SCOPED_TRACE(desc + " " + std::string(placement_policy_name(p)) + " " + inner);
    const PlacementPlan plan = plan_placement(topo.pus(), placement_with(p), threads);
    const std::vector<int> worker_nodes = planned_nodes_of(plan);

    const std::vector<ReplicaPlan> replicas =
        plan_replicas({ReplicaKind::kPerNode, 0}, threads, worker_nodes);
    // One replica per node the plan uses (compact fills nodes in turn: 6 workers on 4 nodes of
    // 2 cores use 3).
    const std::set<int> used(worker_nodes.begin(), worker_nodes.end());
    ASSERT_EQ(replicas.size(), used.size());
    for (const ReplicaPlan& r : replicas) {
      ASSERT_GE(r.node, 0);
      for (const int w : r.workers) EXPECT_EQ(worker_nodes[static_cast<std::size_t>(w)], r.node);
    }

    std::map<int, NodeRecordingMemory> memory;
    const testing::LeastSquares<float> model(6);
    BasicTrainingSetup<float> setup;
    setup.model = &model;
    setup.num_params = model.num_params();
    setup.batch_size = 4;
    setup.step = 0.01F;
    setup.num_workers = threads;
    setup.shared_memory = &heap_shared_memory();
    setup.worker_nodes = worker_nodes;
    for (const CpuSlot& s : plan) setup.worker_cpus.push_back(s.cpu);
    setup.node_memory = [&memory](int node) -> SharedMemory& { return memory[node]; };

    const AlgorithmRegistry& reg = builtin_algorithms();
    const AlgorithmSettings settings =
        reg.at("replicated").settings_with({{"inner", inner}, {"replicas", "per-node"}});
    const AlgorithmPtr<float> algo =
        reg.make<float>("replicated", AlgorithmSetup{settings, 1, threads, nullptr});
    algo->init(std::vector<float>(model.num_params(), 0.0F), setup);
    auto& rep = dynamic_cast<ReplicatedSgd<float>&>(*algo);
    ASSERT_EQ(rep.replicas().replicas(), used.size());
    for (std::size_t r = 0; r < rep.replicas().replicas(); ++r) {
      const int node = rep.replicas().node_of(r);
      EXPECT_EQ(node, replicas[r].node);
      const std::span<const float> params = rep.replicas().params(r);
      EXPECT_TRUE(memory[node].holds(params.data(), params.size_bytes())) << "replica " << r;
      for (const auto& [other, m] : memory) {
        if (other != node) {
          EXPECT_FALSE(m.holds(params.data(), params.size_bytes())) << "node " << other;
        }
      }
    }
    const nlohmann::json layout = rep.report()["replicas"];
    for (const nlohmann::json& r : layout) {
      EXPECT_EQ(r["memory"], "bind:" + std::to_string(r["node"].get<int>()));
      const std::vector<int> workers = r["workers"];
      const std::vector<int> cpus = r["planned_cpus"];
      ASSERT_EQ(workers.size(), cpus.size());
      for (std::size_t i = 0; i < workers.size(); ++i) {
        EXPECT_EQ(cpus[i], plan[static_cast<std::size_t>(workers[i])].cpu);
      }
    }
  }
}

TEST(ReplicatedPlacement, TwoNodesPlaceEachReplicaOnItsNode) {
  for (const char* inner : {"mutex", "hogwild", "leashed"}) {
    expect_replicas_on_their_nodes("pack:2 numa:1 core:4 pu:1", 2, 8, inner);
  }
}

TEST(ReplicatedPlacement, FourNodesPlaceEachReplicaOnItsNode) {
  for (const char* inner : {"rwlock", "hogwild"}) {
    expect_replicas_on_their_nodes("numa:4 core:2 pu:1", 4, 8, inner);
    expect_replicas_on_their_nodes("numa:4 core:2 pu:1", 4, 6, inner);  // uneven under compact
  }
}

// N replicas cut the workers ordered by node: on 4 nodes, 2 replicas of 2 nodes each whatever
// the policy interleaves; unpinned workers are one replica per node (one), and N > threads is
// refused naming the valid choices.
TEST(ReplicatedPlacement, CountsAndUnpinnedWorkers) {
  const Topology topo = Topology::synthetic("numa:4 core:2 pu:1");
  const PlacementPlan scatter =
      plan_placement(topo.pus(), placement_with(PlacementPolicy::kScatter), 8);
  const std::vector<ReplicaPlan> two =
      plan_replicas({ReplicaKind::kCount, 2}, 8, planned_nodes_of(scatter));
  ASSERT_EQ(two.size(), 2U);
  for (const ReplicaPlan& r : two) {
    EXPECT_EQ(r.node, -1);  // two nodes each
    EXPECT_EQ(r.workers.size(), 4U);
  }
  EXPECT_EQ(planned_nodes_of(scatter)[static_cast<std::size_t>(two[0].workers[0])], 0);
  std::vector<int> first_nodes;
  for (const int w : two[0].workers) first_nodes.push_back(planned_nodes_of(scatter)[w]);
  for (const int n : first_nodes) EXPECT_LE(n, 1);

  EXPECT_EQ(plan_replicas({ReplicaKind::kPerNode, 0}, 4, {}).size(), 1U);
  EXPECT_EQ(plan_replicas({ReplicaKind::kPerCore, 0}, 4, {}).size(), 4U);
  try {
    (void)plan_replicas({ReplicaKind::kCount, 9}, 8, {});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("per-core, per-node, per-machine"), std::string::npos);
  }
}

}  // namespace
}  // namespace psgd
