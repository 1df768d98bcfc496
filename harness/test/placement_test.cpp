// harness/test/placement_test.cpp — policy parsing, the pure planner, and binding.
#include "harness/machine/placement.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "harness/machine/topology.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

// A hand-built machine in hwloc logical order (node, core, hardware thread). OS numbering as
// on most Linux x86 machines: the first hardware threads of all cores are 0..C-1, the
// siblings C..2C-1, so OS order differs from logical order whenever smt > 1.
std::vector<Pu> make_pus(int nodes, int cores_per_node, int smt, int packages = 1) {
  std::vector<Pu> pus;
  const int total_cores = nodes * cores_per_node;
  const int nodes_per_package = std::max(1, nodes / packages);
  for (int node = 0; node < nodes; ++node) {
    for (int c = 0; c < cores_per_node; ++c) {
      const int core = node * cores_per_node + c;
      for (int t = 0; t < smt; ++t) {
        pus.push_back(Pu{.os_index = t * total_cores + core,
                         .core = core,
                         .smt_rank = t,
                         .numa_node = node,
                         .package = node / nodes_per_package});
      }
    }
  }
  return pus;
}

PlacementOptions options_for(PlacementPolicy policy, SmtOrder smt = SmtOrder::kLast) {
  PlacementOptions o;
  o.policy = policy;
  o.smt = smt;
  return o;
}

std::vector<int> nodes_of(const PlacementPlan& plan) {
  std::vector<int> out;
  for (const CpuSlot& s : plan) out.push_back(s.numa_node);
  return out;
}

std::vector<int> cpus_of(const PlacementPlan& plan) {
  std::vector<int> out;
  for (const CpuSlot& s : plan) out.push_back(s.cpu);
  return out;
}

// Every slot's worker is its position, and pinned slots use distinct CPUs and match the Pu.
void expect_well_formed(const PlacementPlan& plan, const std::vector<Pu>& pus) {
  std::set<int> cpus;
  for (std::size_t w = 0; w < plan.size(); ++w) {
    EXPECT_EQ(plan[w].worker, static_cast<int>(w));
    if (plan[w].cpu < 0) continue;
    EXPECT_TRUE(cpus.insert(plan[w].cpu).second) << "CPU " << plan[w].cpu << " used twice";
    const auto it = std::find_if(pus.begin(), pus.end(),
                                 [&](const Pu& pu) { return pu.os_index == plan[w].cpu; });
    ASSERT_NE(it, pus.end());
    EXPECT_EQ(plan[w].core, it->core);
    EXPECT_EQ(plan[w].numa_node, it->numa_node);
    EXPECT_EQ(plan[w].package, it->package);
  }
}

using test::config_error_of;

// ---- parsing ----------------------------------------------------------------

TEST(PlacementParse, NamesRoundTrip) {
  for (const auto& [name, policy] : kPlacementNames) {
    EXPECT_EQ(placement_policy_name(policy), name);
    if (policy == PlacementPolicy::kExplicit) continue;
    EXPECT_EQ(parse_placement(name).policy, policy);
    EXPECT_EQ(placement_to_string(parse_placement(name)), name);
  }
  EXPECT_EQ(parse_placement("compact").smt, SmtOrder::kLast);
}

TEST(PlacementParse, UnknownNameListsTheValidChoices) {
  EXPECT_EQ(config_error_of([] { parse_placement("Scatter"); }),
            "--placement must be none, compact, scatter or explicit:CPULIST, got 'Scatter'");
  EXPECT_NE(config_error_of([] { parse_placement("explicit"); }).find("explicit:0,2,4-7"),
            std::string::npos);
  config_error_of([] { parse_placement(""); });
}

TEST(PlacementParse, ExplicitCpuList) {
  const PlacementOptions o = parse_placement("explicit:0,2,4-7");
  EXPECT_EQ(o.policy, PlacementPolicy::kExplicit);
  EXPECT_EQ(o.explicit_cpus, (std::vector<int>{0, 2, 4, 5, 6, 7}));
  EXPECT_EQ(placement_to_string(o), "explicit:0,2,4-7");
  EXPECT_EQ(parse_placement("explicit:5,3,1").explicit_cpus, (std::vector<int>{5, 3, 1}));
  EXPECT_EQ(parse_placement("explicit:3-3").explicit_cpus, (std::vector<int>{3}));
}

TEST(PlacementParse, CpuListSyntaxErrors) {
  for (const char* bad : {"", ",", "1,", ",1", "1,,2", "a", "1a", "3-1", "1-2-3", "-1", "1-", "+1",
                          " 1", "1 ", "0-99999999", "99999999999999999999", "1,1", "0-3,2"}) {
    const std::string msg = config_error_of([&] { parse_cpu_list(bad); });
    EXPECT_EQ(msg.find('\n'), std::string::npos) << bad;
  }
  EXPECT_NE(config_error_of([] { parse_cpu_list("0-3,2"); }).find("CPU 2 is listed twice"),
            std::string::npos);
  EXPECT_NE(config_error_of([] { parse_placement("explicit:4-2"); }).find("--placement"),
            std::string::npos);
}

TEST(PlacementParse, CpuListFormat) {
  EXPECT_EQ(format_cpu_list({}), "");
  EXPECT_EQ(format_cpu_list({3}), "3");
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3}), "0-3");
  EXPECT_EQ(format_cpu_list({0, 2, 4, 5, 6, 7, 1}), "0,2,4-7,1");
  for (const char* text : {"0", "0-7", "0,2,4-7", "8-15,0-7"}) {
    EXPECT_EQ(format_cpu_list(parse_cpu_list(text)), text);
  }
}

TEST(PlacementParse, SmtOrder) {
  EXPECT_EQ(parse_smt_order("last"), SmtOrder::kLast);
  EXPECT_EQ(parse_smt_order("interleave"), SmtOrder::kInterleave);
  EXPECT_EQ(smt_order_name(SmtOrder::kInterleave), "interleave");
  EXPECT_EQ(config_error_of([] { parse_smt_order("on"); }),
            "--smt must be last or interleave, got 'on'");
}

// ---- the planner on hand-built machines ----------------------------------------------------

TEST(PlacementPlanner, NoneIsUnpinnedAndMayOversubscribe) {
  const auto pus = make_pus(1, 2, 1);
  const PlacementPlan plan = plan_placement(pus, options_for(PlacementPolicy::kNone), 16);
  ASSERT_EQ(plan.size(), 16U);
  for (std::size_t w = 0; w < plan.size(); ++w) {
    EXPECT_EQ(plan[w], (CpuSlot{.worker = static_cast<int>(w)}));
  }
}

TEST(PlacementPlanner, OneNodeCompactAndScatterAgree) {
  const auto pus = make_pus(1, 4, 1);
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const PlacementPlan plan = plan_placement(pus, options_for(policy), 4);
    expect_well_formed(plan, pus);
    EXPECT_EQ(cpus_of(plan), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(nodes_of(plan), (std::vector<int>{0, 0, 0, 0}));
  }
}

TEST(PlacementPlanner, CompactFillsNodeZeroFirst) {
  const auto pus = make_pus(2, 4, 1, 2);
  const PlacementPlan plan = plan_placement(pus, options_for(PlacementPolicy::kCompact), 8);
  expect_well_formed(plan, pus);
  EXPECT_EQ(nodes_of(plan), (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(cpus_of(plan), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  // Fewer workers than one node's cores: all on node 0 (the UMA layout).
  EXPECT_EQ(nodes_of(plan_placement(pus, options_for(PlacementPolicy::kCompact), 3)),
            (std::vector<int>{0, 0, 0}));
}

TEST(PlacementPlanner, ScatterAlternatesNodes) {
  const auto pus = make_pus(2, 4, 1, 2);
  const PlacementPlan plan = plan_placement(pus, options_for(PlacementPolicy::kScatter), 8);
  expect_well_formed(plan, pus);
  EXPECT_EQ(nodes_of(plan), (std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(cpus_of(plan), (std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(PlacementPlanner, ScatterOverUnequalNodes) {
  std::vector<Pu> pus = make_pus(1, 4, 1);
  for (int c = 0; c < 2; ++c) {
    pus.push_back(Pu{.os_index = 4 + c, .core = 4 + c, .smt_rank = 0, .numa_node = 1});
  }
  const PlacementPlan plan = plan_placement(pus, options_for(PlacementPolicy::kScatter), 6);
  expect_well_formed(plan, pus);
  EXPECT_EQ(nodes_of(plan), (std::vector<int>{0, 1, 0, 1, 0, 0}));
}

TEST(PlacementPlanner, SmtSiblingsLastInBothPolicies) {
  const auto pus = make_pus(2, 4, 2);  // 8 cores, 16 PUs
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const PlacementPlan plan = plan_placement(pus, options_for(policy), 16);
    expect_well_formed(plan, pus);
    std::set<int> first_cores;
    for (int w = 0; w < 8; ++w) {
      first_cores.insert(plan[static_cast<std::size_t>(w)].core);
      EXPECT_LT(plan[static_cast<std::size_t>(w)].cpu, 8) << "worker " << w << " on a sibling";
    }
    EXPECT_EQ(first_cores.size(), 8U) << "the first 8 workers use 8 distinct cores";
    for (int w = 8; w < 16; ++w) EXPECT_GE(plan[static_cast<std::size_t>(w)].cpu, 8);
  }
  const PlacementPlan compact = plan_placement(pus, options_for(PlacementPolicy::kCompact), 16);
  EXPECT_EQ(nodes_of(compact), (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}));
  const PlacementPlan scatter = plan_placement(pus, options_for(PlacementPolicy::kScatter), 4);
  EXPECT_EQ(cpus_of(scatter), (std::vector<int>{0, 4, 1, 5}));
}

TEST(PlacementPlanner, SmtInterleaveUsesSiblingsBackToBack) {
  const auto pus = make_pus(2, 4, 2);
  const PlacementPlan compact =
      plan_placement(pus, options_for(PlacementPolicy::kCompact, SmtOrder::kInterleave), 4);
  expect_well_formed(compact, pus);
  EXPECT_EQ(cpus_of(compact), (std::vector<int>{0, 8, 1, 9}));  // core 0's two threads, core 1's
  EXPECT_EQ(compact[0].core, compact[1].core);
  EXPECT_EQ(nodes_of(compact), (std::vector<int>{0, 0, 0, 0}));
  const PlacementPlan scatter =
      plan_placement(pus, options_for(PlacementPolicy::kScatter, SmtOrder::kInterleave), 4);
  expect_well_formed(scatter, pus);
  EXPECT_EQ(cpus_of(scatter), (std::vector<int>{0, 4, 8, 12}));
  EXPECT_EQ(nodes_of(scatter), (std::vector<int>{0, 1, 0, 1}));
}

TEST(PlacementPlanner, ExplicitFollowsTheList) {
  const auto pus = make_pus(2, 4, 2);
  const PlacementPlan plan = plan_placement(pus, parse_placement("explicit:12,3,8-9"), 3);
  expect_well_formed(plan, pus);
  EXPECT_EQ(cpus_of(plan), (std::vector<int>{12, 3, 8}));
  EXPECT_EQ(plan[0], (CpuSlot{.worker = 0, .cpu = 12, .core = 4, .numa_node = 1, .package = 0}));
}

TEST(PlacementPlanner, Errors) {
  const auto pus = make_pus(2, 2, 2);  // 8 PUs
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const std::string msg = config_error_of([&] { plan_placement(pus, options_for(policy), 9); });
    EXPECT_NE(msg.find("9 workers"), std::string::npos) << msg;
    EXPECT_NE(msg.find("8 hardware threads"), std::string::npos) << msg;
  }
  EXPECT_NE(config_error_of([&] {
              plan_placement(pus, parse_placement("explicit:0,42"), 1);
            }).find("CPU 42 is not in the topology"),
            std::string::npos);
  EXPECT_NE(config_error_of([&] {
              plan_placement(pus, parse_placement("explicit:0-2"), 4);
            }).find("lists 3 CPUs for 4 workers"),
            std::string::npos);
  PlacementOptions duplicate = options_for(PlacementPolicy::kExplicit);
  duplicate.explicit_cpus = {1, 1};
  EXPECT_NE(config_error_of([&] { plan_placement(pus, duplicate, 2); }).find("twice"),
            std::string::npos);
  config_error_of([&] { plan_placement(pus, options_for(PlacementPolicy::kNone), 0); });
}

// ---- the planner on hwloc synthetic topologies ---------------------------------------------

TEST(PlacementSynthetic, OneNodeFourCores) {
  const Topology topo = Topology::synthetic("numa:1 core:4 pu:1");
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const PlacementPlan plan = plan_placement(topo.pus(), options_for(policy), 4);
    expect_well_formed(plan, topo.pus());
    EXPECT_EQ(nodes_of(plan), (std::vector<int>{0, 0, 0, 0}));
  }
}

TEST(PlacementSynthetic, TwoSockets) {
  const Topology topo = Topology::synthetic("pack:2 numa:1 core:4 pu:1");
  ASSERT_EQ(topo.summary().numa_nodes, 2);
  const PlacementPlan compact =
      plan_placement(topo.pus(), options_for(PlacementPolicy::kCompact), 8);
  expect_well_formed(compact, topo.pus());
  EXPECT_EQ(nodes_of(compact), (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(compact[3].package, 0);
  EXPECT_EQ(compact[4].package, 1);
  const PlacementPlan scatter =
      plan_placement(topo.pus(), options_for(PlacementPolicy::kScatter), 8);
  expect_well_formed(scatter, topo.pus());
  EXPECT_EQ(nodes_of(scatter), (std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1}));
}

TEST(PlacementSynthetic, TwoNodesWithSmt) {
  const Topology topo = Topology::synthetic("numa:2 core:4 pu:2");
  const auto& pus = topo.pus();
  ASSERT_EQ(pus.size(), 16U);
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const PlacementPlan plan = plan_placement(pus, options_for(policy), 16);
    expect_well_formed(plan, pus);
    for (std::size_t w = 0; w < plan.size(); ++w) {
      EXPECT_EQ(topo.find_pu(plan[w].cpu)->smt_rank, w < 8 ? 0 : 1) << "worker " << w;
    }
  }
  EXPECT_EQ(nodes_of(plan_placement(pus, options_for(PlacementPolicy::kCompact), 5)),
            (std::vector<int>{0, 0, 0, 0, 1}));
  EXPECT_EQ(nodes_of(plan_placement(pus, options_for(PlacementPolicy::kScatter), 5)),
            (std::vector<int>{0, 1, 0, 1, 0}));
  const PlacementPlan interleaved =
      plan_placement(pus, options_for(PlacementPolicy::kCompact, SmtOrder::kInterleave), 2);
  EXPECT_EQ(interleaved[0].core, interleaved[1].core);
}

// ---- binding on this machine ---------------------------------------------------------------

// Runs fn on a fresh thread (so this test thread's own affinity is never changed) and rethrows
// whatever it threw.
template <class Fn>
void run_on_new_thread(Fn&& fn) {
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

TEST(PlacementBind, PinsToEveryCpuAndReadsItBack) {
  const Topology topo = Topology::this_machine();
  ASSERT_FALSE(topo.pus().empty());
  for (const Pu& pu : topo.pus()) {
    ObservedSlot seen;
    run_on_new_thread([&] {
      const CpuSlot slot{.worker = 3,
                         .cpu = pu.os_index,
                         .core = pu.core,
                         .numa_node = pu.numa_node,
                         .package = pu.package};
      bind_current_thread(topo, slot);
      seen = observe_current_thread(topo, slot.worker);
    });
    EXPECT_EQ(seen.worker, 3);
    EXPECT_EQ(seen.bound_cpus, std::vector<int>{pu.os_index});
    EXPECT_EQ(seen.cpu, pu.os_index);
    EXPECT_EQ(seen.core, pu.core);
    EXPECT_EQ(seen.numa_node, pu.numa_node);
    EXPECT_EQ(seen.package, pu.package);
  }
}

TEST(PlacementBind, WholePlanOnThisMachine) {
  const Topology topo = Topology::this_machine();
  const int n = static_cast<int>(topo.pus().size());
  for (const auto policy : {PlacementPolicy::kCompact, PlacementPolicy::kScatter}) {
    const PlacementPlan plan = plan_placement(topo.pus(), options_for(policy), n);
    std::vector<ObservedSlot> observed(plan.size());
    std::vector<std::exception_ptr> errors(plan.size());
    std::vector<std::thread> threads;
    for (const CpuSlot& slot : plan) {
      threads.emplace_back([&, slot] {
        const auto w = static_cast<std::size_t>(slot.worker);
        try {
          bind_current_thread(topo, slot);
          observed[w] = observe_current_thread(topo, slot.worker);
        } catch (...) {
          errors[w] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (std::size_t w = 0; w < plan.size(); ++w) {
      ASSERT_FALSE(errors[w]) << "worker " << w;
      EXPECT_EQ(observed[w].cpu, plan[w].cpu);
      EXPECT_EQ(observed[w].bound_cpus, std::vector<int>{plan[w].cpu});
    }
    const nlohmann::json j = placement_to_json(
        options_for(policy), nlohmann::json{{"policy", "local"}}, plan, observed, topo.summary());
    EXPECT_EQ(j.at("policy"), placement_policy_name(policy));
    EXPECT_EQ(j.at("smt"), "last");
    EXPECT_EQ(j.at("planned").size(), plan.size());
    EXPECT_EQ(j.at("observed").at(0).at("cpu"), plan[0].cpu);
    EXPECT_TRUE(j.at("observed").at(0).contains("bound_cpus"));
    for (const char* key : {"worker", "cpu", "core", "numa_node"}) {
      EXPECT_TRUE(j.at("planned").at(0).contains(key)) << key;
    }
    EXPECT_EQ(j.at("topology").at("pus"), n);
  }
}

TEST(PlacementBind, UnpinnedSlotIsLeftAlone) {
  const Topology topo = Topology::this_machine();
  ObservedSlot before;
  ObservedSlot after;
  run_on_new_thread([&] {
    before = observe_current_thread(topo, 0);
    bind_current_thread(topo, CpuSlot{.worker = 0});
    after = observe_current_thread(topo, 0);
  });
  EXPECT_EQ(before.bound_cpus, after.bound_cpus);
  EXPECT_FALSE(after.bound_cpus.empty());
  EXPECT_NE(topo.find_pu(after.cpu), nullptr);
}

TEST(PlacementBind, RefusedBindIsAnEnvironmentError) {
  const Topology topo = Topology::this_machine();
  std::string msg;
  run_on_new_thread([&] {
    try {
      bind_current_thread(topo, CpuSlot{.worker = 7, .cpu = 4000});
    } catch (const EnvironmentError& e) {
      msg = e.what();
    }
  });
  EXPECT_EQ(msg.rfind("worker 7: could not pin to CPU 4000: ", 0), 0U) << msg;
}

TEST(PlacementBind, SyntheticTopologyCannotBind) {
  const Topology topo = Topology::synthetic("pack:2 core:2 pu:1");
  EXPECT_FALSE(topo.is_this_system());
  run_on_new_thread([&] {
    EXPECT_THROW(bind_current_thread(topo, CpuSlot{.worker = 0, .cpu = 0}), ConfigError);
    EXPECT_THROW(observe_current_thread(topo, 0), ConfigError);
  });
}

}  // namespace
}  // namespace psgd
