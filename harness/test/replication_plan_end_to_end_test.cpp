// harness/test/replication_plan_end_to_end_test.cpp — experiments/replication.json's full scale
// planned on 2- and 4-node synthetic topologies (`psgd run --dry-run --topology-synthetic`): for
// every per-node point the dry run's `replicas` put each replica's workers and memory on its
// node, one replica per node the placement uses; a per-core point has one worker per replica.
// So the plan of the NUMA study is tested without a NUMA machine.
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

std::string joined_run_args(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += " '" + a + "'";
  return s;
}

TEST(ReplicationPlanEndToEnd, FullScalePlacesEachReplicaOnItsNode) {
  const std::filesystem::path spec =
      std::filesystem::path(PSGD_SOURCE_DIR) / "experiments" / "replication.json";
  const std::vector<PlannedRun> runs = expand(load_sweep_spec(spec.string(), "full"));
  std::size_t checked = 0;
  for (const char* topology : {"pack:2 numa:1 core:16 pu:2", "numa:4 core:16 pu:1"}) {
    for (const PlannedRun& run : runs) {
      // The plan depends on the replicas and the threads, not on the inner method or the
      // exchange: one inner method, the first repetition.
      if (run.repetition != 0) continue;
      const std::vector<std::string> args = run.run_args("-");
      const std::string all = joined_run_args(args);
      if (all.find("--inner=mutex") == std::string::npos) continue;
      if (all.find("--exchange=ring") != std::string::npos) continue;
      SCOPED_TRACE(std::string(topology) + ":" + all);
      const test::ProcessResult r = test::run_psgd(
          "run" + all + " --dry-run --topology-synthetic '" + std::string(topology) + "'");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const nlohmann::json doc = nlohmann::json::parse(r.out);
      const nlohmann::json& planned = doc["placement"]["planned"];
      const nlohmann::json& replicas = doc["replicas"];
      std::set<int> nodes_used;
      for (const nlohmann::json& slot : planned) nodes_used.insert(slot["numa_node"].get<int>());
      std::size_t workers = 0;
      for (const nlohmann::json& rep : replicas) workers += rep["workers"].size();
      EXPECT_EQ(workers, planned.size());
      if (all.find("--replicas=per-node") != std::string::npos) {
        EXPECT_EQ(replicas.size(), nodes_used.size());
        for (const nlohmann::json& rep : replicas) {
          const int node = rep["node"].get<int>();
          ASSERT_GE(node, 0);
          EXPECT_EQ(rep["memory"], "bind:" + std::to_string(node));
          for (const int w : rep["workers"]) {
            EXPECT_EQ(planned[static_cast<std::size_t>(w)]["numa_node"].get<int>(), node);
          }
        }
        ++checked;
      } else if (all.find("--replicas=per-core") != std::string::npos) {
        EXPECT_EQ(replicas.size(), planned.size());
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 8U);  // per-node and per-core at every thread count, on both topologies
}

}  // namespace
}  // namespace psgd
