// harness/test/topology_test.cpp — hwloc topologies flattened to Pu lists, and `psgd topo`.
#include "harness/machine/topology.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topo_command.hpp"

namespace psgd {
namespace {

// A file in the temp directory, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("psgd_topology_test_" + std::to_string(getpid()) + "_" + name)) {}
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(TopologySynthetic, TwoPackagesTwoNodesEachWithSmt) {
  const Topology topo = Topology::synthetic("pack:2 numa:2 core:8 pu:2");
  const TopologySummary& s = topo.summary();
  EXPECT_EQ(s.source, "synthetic: pack:2 numa:2 core:8 pu:2");
  EXPECT_EQ(s.packages, 2);
  EXPECT_EQ(s.numa_nodes, 4);
  EXPECT_EQ(s.cores, 32);
  EXPECT_EQ(s.pus, 64);
  EXPECT_EQ(s.max_smt, 2);
  ASSERT_EQ(s.nodes.size(), 4U);
  for (int n = 0; n < 4; ++n) {
    const NumaNodeSummary& node = s.nodes[static_cast<std::size_t>(n)];
    EXPECT_EQ(node.os_index, n);
    EXPECT_EQ(node.cores, 8);
    EXPECT_EQ(node.pus, 16);
    EXPECT_EQ(node.cpus.front(), 16 * n);
  }
  const std::vector<Pu>& pus = topo.pus();
  ASSERT_EQ(pus.size(), 64U);
  for (std::size_t i = 0; i < pus.size(); ++i) {
    const int logical = static_cast<int>(i);
    EXPECT_EQ(pus[i].os_index, logical);  // synthetic OS numbering follows logical order
    EXPECT_EQ(pus[i].core, logical / 2);
    EXPECT_EQ(pus[i].smt_rank, logical % 2);
    EXPECT_EQ(pus[i].numa_node, logical / 16);
    EXPECT_EQ(pus[i].package, logical / 32);
  }
  EXPECT_FALSE(topo.is_this_system());
  ASSERT_NE(topo.find_pu(17), nullptr);
  EXPECT_EQ(topo.find_pu(17)->smt_rank, 1);
  EXPECT_EQ(topo.find_pu(64), nullptr);
}

TEST(TopologySynthetic, NoCoreLevelMeansOneThreadPerCore) {
  const Topology topo = Topology::synthetic("numa:2 pu:3");
  ASSERT_EQ(topo.pus().size(), 6U);
  for (const Pu& pu : topo.pus()) {
    EXPECT_EQ(pu.smt_rank, 0);
    EXPECT_EQ(pu.core, -1);
  }
  EXPECT_EQ(topo.summary().max_smt, 1);
}

TEST(TopologySynthetic, CacheSizes) {
  const Topology with = Topology::synthetic(
      "pack:1 l3:1(size=33554432) l2:4(size=524288) l1d:1(size=32768) core:1 pu:1");
  EXPECT_EQ(with.summary().l3_bytes, 33554432U);
  EXPECT_EQ(with.summary().l2_bytes, 524288U);
  EXPECT_EQ(with.summary().l1d_bytes, 32768U);
  const Topology without = Topology::synthetic("core:2 pu:1");
  EXPECT_FALSE(without.summary().l3_bytes.has_value());
  const nlohmann::json j = without.summary();
  EXPECT_TRUE(j.at("caches").at("l3_bytes").is_null());
}

TEST(TopologySynthetic, BadDescriptionIsAOneLineConfigError) {
  for (const char* bad : {"", "   ", "bogus:2", "pack:2 core:x", "pack:0 pu:1"}) {
    try {
      Topology::synthetic(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find("--synthetic"), std::string::npos) << msg;
    }
  }
}

TEST(TopologyMachine, ThisMachine) {
  const Topology topo = Topology::this_machine();
  EXPECT_TRUE(topo.is_this_system());
  const TopologySummary& s = topo.summary();
  EXPECT_EQ(s.source, "this machine");
  EXPECT_GE(s.pus, 1);
  EXPECT_EQ(static_cast<std::size_t>(s.pus), topo.pus().size());
  EXPECT_GE(s.numa_nodes, 1);
  EXPECT_GE(s.max_smt, 1);
  std::set<int> cpus;
  for (const Pu& pu : topo.pus()) {
    EXPECT_TRUE(cpus.insert(pu.os_index).second);
    EXPECT_GE(pu.numa_node, 0);
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_LE(static_cast<long>(cpus.size()), online);
}

TEST(TopologyMachine, MoveTransfersOwnership) {
  Topology a = Topology::synthetic("core:2 pu:2");
  const hwloc_topology_t raw = a.get();
  Topology b = std::move(a);
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(b.pus().size(), 4U);
  a = Topology::synthetic("core:1 pu:1");
  b = std::move(a);
  EXPECT_EQ(b.pus().size(), 1U);
}

TEST(TopologyXml, RoundTripsAnExportedTopology) {
  const Topology original = Topology::synthetic("pack:2 numa:1 core:4 pu:2");
  const TempFile xml("roundtrip.xml");
  ASSERT_EQ(hwloc_topology_export_xml(original.get(), xml.path().c_str(), 0), 0);
  const Topology loaded = Topology::from_xml(xml.path());
  EXPECT_EQ(loaded.pus(), original.pus());
  EXPECT_EQ(loaded.summary().packages, 2);
  EXPECT_EQ(loaded.summary().numa_nodes, 2);
  EXPECT_EQ(loaded.summary().source, "xml: " + xml.path());
  EXPECT_FALSE(loaded.is_this_system());
}

TEST(TopologyXml, ThisMachineRoundTrips) {
  const Topology machine = Topology::this_machine();
  const TempFile xml("machine.xml");
  ASSERT_EQ(hwloc_topology_export_xml(machine.get(), xml.path().c_str(), 0), 0);
  EXPECT_EQ(Topology::from_xml(xml.path()).pus(), machine.pus());
}

// A missing file is exit 3 like every missing file; a file that is not a topology is exit 2.
TEST(TopologyXml, MissingIsAnEnvironmentErrorInvalidAConfigError) {
  EXPECT_THROW(Topology::from_xml("/nonexistent/psgd/topo.xml"), EnvironmentError);
  const TempFile garbage("garbage.xml");
  std::ofstream(garbage.path()) << "this is not xml\n";
  try {
    Topology::from_xml(garbage.path());
    ADD_FAILURE() << "accepted garbage";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

TEST(TopologyJson, SummaryAndPuShapes) {
  const Topology topo = Topology::synthetic("pack:2 numa:2 core:8 pu:2");
  const nlohmann::json j = topo.summary();
  for (const char* key :
       {"source", "packages", "numa_nodes", "cores", "pus", "max_smt", "caches", "nodes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.at("numa_nodes"), 4);
  EXPECT_EQ(j.at("nodes").size(), 4U);
  EXPECT_EQ(j.at("nodes").at(1).at("cpus").size(), 16U);
  const nlohmann::json pu = topo.pus().at(3);
  EXPECT_EQ(pu, (nlohmann::json{
                    {"cpu", 3}, {"core", 1}, {"smt_rank", 1}, {"numa_node", 0}, {"package", 0}}));
}

// ---- psgd topo -----------------------------------------------------------------------------

struct TopoRun {
  int rc = 0;
  std::string out;
  std::string err;
};

TopoRun topo(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  const int rc = run_topo_command(args, out, err);
  return {rc, out.str(), err.str()};
}

TEST(TopoCommand, PrintsThisMachine) {
  const TopoRun r = topo({});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("topology: this machine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node 0:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("plan:"), std::string::npos);
}

TEST(TopoCommand, SyntheticPlanTable) {
  const TopoRun r = topo(
      {"--synthetic", "pack:2 numa:2 core:8 pu:2", "--threads", "4", "--placement", "scatter"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty());
  EXPECT_NE(r.out.find("packages 2, NUMA nodes 4, cores 32, PUs 64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plan: --placement scatter --smt last, 4 workers"), std::string::npos)
      << r.out;
  // The table rows after the header: worker, cpu, core, numa_node, package.
  std::istringstream lines(r.out.substr(r.out.find("package\n") + 8));
  std::vector<int> nodes;
  for (int w = 0; w < 4; ++w) {
    int worker = 0;
    int cpu = 0;
    int core = 0;
    int node = 0;
    int package = 0;
    ASSERT_TRUE(lines >> worker >> cpu >> core >> node >> package) << r.out;
    EXPECT_EQ(worker, w);
    nodes.push_back(node);
  }
  EXPECT_EQ(nodes, (std::vector<int>{0, 1, 2, 3}));
}

TEST(TopoCommand, JsonIsValidAndCarriesThePlan) {
  const TopoRun r = topo({"--synthetic=numa:2 core:4 pu:2", "--threads=10", "--placement=compact",
                          "--smt=interleave", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("topology").at("numa_nodes"), 2);
  EXPECT_EQ(j.at("pus").size(), 16U);
  EXPECT_EQ(j.at("plan").at("policy"), "compact");
  EXPECT_EQ(j.at("plan").at("smt"), "interleave");
  EXPECT_EQ(j.at("plan").at("threads"), 10);
  ASSERT_EQ(j.at("plan").at("planned").size(), 10U);
  EXPECT_EQ(j.at("plan").at("planned").at(9).at("numa_node"), 1);
  EXPECT_EQ(j.at("plan").at("planned").at(0).at("core"),
            j.at("plan").at("planned").at(1).at("core"));

  const TopoRun plain = topo({"--json", "--synthetic", "core:2 pu:1"});
  ASSERT_EQ(plain.rc, 0) << plain.err;
  const nlohmann::json k = nlohmann::json::parse(plain.out);
  EXPECT_FALSE(k.contains("plan"));
  EXPECT_EQ(k.at("topology").at("pus"), 2);
}

TEST(TopoCommand, NonePlanAndExplicitPlan) {
  const TopoRun none =
      topo({"--synthetic", "core:2 pu:1", "--threads", "5", "--placement", "none"});
  ASSERT_EQ(none.rc, 0) << none.err;
  EXPECT_NE(none.out.find("not pinned"), std::string::npos);
  const TopoRun expl = topo(
      {"--synthetic", "core:4 pu:1", "--threads", "2", "--placement", "explicit:3,1", "--json"});
  ASSERT_EQ(expl.rc, 0) << expl.err;
  const nlohmann::json j = nlohmann::json::parse(expl.out);
  EXPECT_EQ(j.at("plan").at("policy"), "explicit:3,1");
  EXPECT_EQ(j.at("plan").at("planned").at(0).at("cpu"), 3);
}

TEST(TopoCommand, TopoMainWritesToStdout) {
  std::vector<std::string> storage{"topo",      "--synthetic", "pack:2 numa:1 core:2 pu:1",
                                   "--threads", "2",           "--placement",
                                   "scatter",   "--json"};
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  testing::internal::CaptureStdout();
  const int rc = topo_main(static_cast<int>(argv.size()), argv.data());
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("plan").at("planned").at(1).at("package"), 1);
}

TEST(TopoCommand, HelpDescribesEveryOption) {
  const TopoRun r = topo({"--help"});
  EXPECT_EQ(r.rc, 0);
  for (const char* word : {"--synthetic", "--xml", "--threads", "--placement", "--smt", "--json",
                           "none", "compact", "scatter", "explicit:", "last", "interleave"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
}

TEST(TopoCommand, BadArgumentsExitTwoWithOneLine) {
  const std::vector<std::vector<std::string>> bad = {
      {"--bogus"},
      {"--threads", "4"},
      {"--placement", "compact"},
      {"--threads", "0", "--placement", "compact"},
      {"--threads", "x", "--placement", "compact"},
      // Above psgd run's cap: 2^31 - 1 once aborted on bad_alloc, 10^8 printed 2 GB.
      {"--threads", "2147483647", "--placement", "none"},
      {"--threads", "100000000", "--placement", "none"},
      {"--threads", "4097", "--placement", "none"},
      // Not a regular file: hwloc would read /dev/zero without end; a directory likewise.
      {"--xml", "/dev/zero"},
      {"--xml", "/"},
      {"--synthetic", "core:2 pu:1", "--threads", "3", "--placement", "compact"},
      {"--synthetic", "core:2 pu:1", "--threads", "1", "--placement", "explicit:5"},
      {"--synthetic", "core:2 pu:1", "--threads", "1", "--placement", "spread"},
      {"--synthetic", "core:2 pu:1", "--smt", "last"},
      {"--synthetic", "nonsense"},
      {"--synthetic", "core:2 pu:1", "--xml", "x.xml"},
      {"--synthetic"},
      {"--json=yes"},
  };
  for (const auto& args : bad) {
    const TopoRun r = topo(args);
    EXPECT_EQ(r.rc, kExitConfigError) << args.front();
    EXPECT_TRUE(r.out.empty()) << args.front();
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(r.err.rfind("psgd topo: ", 0), 0U) << r.err;
  }
  // A missing file is the environment's fault, as every missing file: exit 3, one line.
  const TopoRun missing = topo({"--xml", "/nonexistent/psgd/topo.xml"});
  EXPECT_EQ(missing.rc, kExitEnvironmentError);
  EXPECT_TRUE(missing.out.empty());
  EXPECT_EQ(missing.err.find('\n'), missing.err.size() - 1) << missing.err;
}

}  // namespace
}  // namespace psgd
