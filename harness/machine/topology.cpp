// harness/machine/topology.cpp — loading hwloc topologies and flattening them into Pu lists.
#include "harness/machine/topology.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/errors.hpp"
#include "harness/machine/hwloc_bitmap.hpp"

namespace psgd {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology_t t) const noexcept { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// An initialised but not yet loaded topology. hwloc_topology_init fails only without memory.
TopologyPtr init_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    throw EnvironmentError(std::string("hwloc: cannot initialise a topology: ") +
                           std::strerror(errno));
  }
  return TopologyPtr(raw);
}

int to_int(unsigned value) { return static_cast<int>(value); }

// OS indexes can be HWLOC_UNKNOWN_INDEX in hand-edited XML; fall back to the logical index.
int os_index_of(hwloc_obj_t obj) {
  return obj->os_index == HWLOC_UNKNOWN_INDEX ? to_int(obj->logical_index) : to_int(obj->os_index);
}

std::optional<std::uint64_t> cache_bytes(hwloc_topology_t topo, hwloc_obj_type_t type) {
  hwloc_obj_t cache = hwloc_get_obj_by_type(topo, type, 0);
  if (cache == nullptr || cache->attr == nullptr || cache->attr->cache.size == 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(cache->attr->cache.size);
}

TopologySummary summarize(hwloc_topology_t topo, const std::vector<Pu>& pus, std::string source) {
  TopologySummary s;
  s.source = std::move(source);
  s.packages = std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
  s.numa_nodes = std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
  s.cores = std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE));
  s.pus = static_cast<int>(pus.size());
  for (const Pu& pu : pus) s.max_smt = std::max(s.max_smt, pu.smt_rank + 1);
  s.l1d_bytes = cache_bytes(topo, HWLOC_OBJ_L1CACHE);
  s.l2_bytes = cache_bytes(topo, HWLOC_OBJ_L2CACHE);
  s.l3_bytes = cache_bytes(topo, HWLOC_OBJ_L3CACHE);
  for (int i = 0; i < s.numa_nodes; ++i) {
    hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    NumaNodeSummary n;
    n.os_index = os_index_of(node);
    n.memory_bytes = node->attr != nullptr ? node->attr->numanode.local_memory : 0;
    n.cores =
        std::max(0, hwloc_get_nbobjs_inside_cpuset_by_type(topo, node->cpuset, HWLOC_OBJ_CORE));
    for (hwloc_obj_t pu = nullptr; (pu = hwloc_get_next_obj_inside_cpuset_by_type(
                                        topo, node->cpuset, HWLOC_OBJ_PU, pu)) != nullptr;) {
      n.cpus.push_back(os_index_of(pu));
    }
    std::sort(n.cpus.begin(), n.cpus.end());
    n.pus = static_cast<int>(n.cpus.size());
    s.nodes.push_back(std::move(n));
  }
  std::sort(s.nodes.begin(), s.nodes.end(), [](const NumaNodeSummary& a, const NumaNodeSummary& b) {
    return a.os_index < b.os_index;
  });
  for (const Pu& pu : pus) s.allowed_cpus.push_back(pu.os_index);
  std::sort(s.allowed_cpus.begin(), s.allowed_cpus.end());
  return s;
}

// Restricts a loaded topology of this machine to the CPUs this process may run on and returns
// the PU count before, or -1 when nothing was removed. hwloc leaves out only what cgroups forbid;
// an affinity mask (taskset -c 1, Slurm's binding without cgroup confinement) once let compact
// placement pin worker 0 to CPU 0, outside the mask (#26 item 16). A mask that cannot be read
// leaves the whole machine, as before.
int restrict_to_affinity(hwloc_topology_t topo) {
  const HwlocBitmap allowed(hwloc_bitmap_alloc());
  if (!allowed) throw EnvironmentError("hwloc: out of memory reading the affinity mask");
  if (hwloc_get_cpubind(topo, allowed.get(), HWLOC_CPUBIND_PROCESS) != 0) return -1;
  hwloc_const_cpuset_t all = hwloc_topology_get_topology_cpuset(topo);
  hwloc_bitmap_and(allowed.get(), allowed.get(), all);
  if (hwloc_bitmap_iszero(allowed.get()) != 0 || hwloc_bitmap_isequal(allowed.get(), all) != 0) {
    return -1;
  }
  const int before = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  if (hwloc_topology_restrict(topo, allowed.get(), 0) != 0) {
    throw EnvironmentError(std::string("hwloc: cannot restrict the topology to this process's "
                                       "allowed CPUs: ") +
                           std::strerror(errno));
  }
  return before;
}

}  // namespace

std::vector<Pu> read_pus(hwloc_topology_t topo) {
  std::vector<Pu> pus;
  const int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  pus.reserve(static_cast<std::size_t>(std::max(n, 0)));
  // PUs seen so far per core (by logical index): a PU's SMT rank in one pass. Counting the
  // siblings before it with hwloc_get_next_obj_inside_cpuset_by_type walked every PU from the
  // first for each PU, quadratic: 16,384 PUs took 29 s (#26 item 12).
  std::vector<int> seen_on_core(
      static_cast<std::size_t>(std::max(0, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE))), 0);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t obj = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    Pu pu;
    pu.os_index = os_index_of(obj);
    // No Core object (some synthetic or virtual topologies): the PU is its own core.
    pu.core = -1;
    pu.smt_rank = 0;
    if (hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, obj);
        core != nullptr) {
      pu.core = to_int(core->logical_index);
      if (core->logical_index < seen_on_core.size()) {
        pu.smt_rank = seen_on_core[core->logical_index]++;
      }
    }
    // Nodesets are indexed by OS index. A PU local to several nodes (e.g. DDR + HBM)
    // gets the first, which is the ordinary DRAM node on the machines we know.
    const int node = obj->nodeset != nullptr ? hwloc_bitmap_first(obj->nodeset) : -1;
    pu.numa_node = node < 0 ? 0 : node;
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj);
    pu.package = package != nullptr ? to_int(package->logical_index) : -1;
    pus.push_back(pu);
  }
  return pus;
}

Topology::Topology(hwloc_topology_t topo, std::vector<Pu> pus, TopologySummary summary) noexcept
    : topo_(topo), pus_(std::move(pus)), summary_(std::move(summary)) {}

Topology Topology::adopt(hwloc_topology_t loaded, std::string source, int machine_pus) {
  std::vector<Pu> pus = read_pus(loaded);
  TopologySummary summary = summarize(loaded, pus, std::move(source));
  summary.affinity_restricted = machine_pus >= 0;
  summary.machine_pus = machine_pus >= 0 ? machine_pus : summary.pus;
  return Topology(loaded, std::move(pus), std::move(summary));
}

Topology::Topology(Topology&& other) noexcept
    : topo_(std::exchange(other.topo_, nullptr)),
      pus_(std::move(other.pus_)),
      summary_(std::move(other.summary_)) {}

Topology& Topology::operator=(Topology&& other) noexcept {
  if (this != &other) {
    if (topo_ != nullptr) hwloc_topology_destroy(topo_);
    topo_ = std::exchange(other.topo_, nullptr);
    pus_ = std::move(other.pus_);
    summary_ = std::move(other.summary_);
  }
  return *this;
}

Topology::~Topology() {
  if (topo_ != nullptr) hwloc_topology_destroy(topo_);
}

Topology Topology::this_machine() {
  TopologyPtr topo = init_topology();
  if (hwloc_topology_load(topo.get()) != 0) {
    throw EnvironmentError(std::string("hwloc: cannot read this machine's topology: ") +
                           std::strerror(errno));
  }
  const int machine_pus = restrict_to_affinity(topo.get());
  Topology result = adopt(topo.get(), "this machine", machine_pus);
  static_cast<void>(topo.release());  // `result` owns it now
  return result;
}

Topology Topology::synthetic(std::string_view description, std::string_view option) {
  const std::string desc(description);
  const std::string bad = std::string(option) + " \"" + desc +
                          "\": not a valid hwloc synthetic description (example: \"pack:2 "
                          "numa:2 core:8 pu:2\")";
  if (desc.find_first_not_of(" \t") == std::string::npos) throw ConfigError(bad);
  TopologyPtr topo = init_topology();
  if (hwloc_topology_set_synthetic(topo.get(), desc.c_str()) != 0 ||
      hwloc_topology_load(topo.get()) != 0) {
    throw ConfigError(bad);
  }
  Topology result = adopt(topo.get(), "synthetic: " + desc);
  static_cast<void>(topo.release());  // `result` owns it now
  return result;
}

Topology Topology::from_xml(const std::string& path, std::string_view option) {
  if (!std::ifstream(path).good()) {
    throw EnvironmentError(std::string(option) + " " + path +
                           ": cannot open the file: " + std::strerror(errno));
  }
  // hwloc reads the file itself, without a bound: /dev/zero once grew psgd topo until killed.
  // lstopo's XML of a 256-thread machine is about 1 MiB.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) ||
      std::filesystem::file_size(path, ec) > kMaxTopologyXmlBytes) {
    throw ConfigError(std::string(option) + " " + path + ": not a regular file of at most " +
                      std::to_string(kMaxTopologyXmlBytes >> 20) + " MiB (write one with " +
                      "`lstopo FILE.xml`)");
  }
  TopologyPtr topo = init_topology();
  if (hwloc_topology_set_xml(topo.get(), path.c_str()) != 0 ||
      hwloc_topology_load(topo.get()) != 0) {
    throw ConfigError(std::string(option) + " " + path +
                      ": not a hwloc XML topology (write one with `lstopo FILE.xml`)");
  }
  Topology result = adopt(topo.get(), "xml: " + path);
  static_cast<void>(topo.release());  // `result` owns it now
  return result;
}

bool Topology::is_this_system() const noexcept {
  return topo_ != nullptr && hwloc_topology_is_thissystem(topo_) != 0;
}

const Pu* Topology::find_pu(int os_index) const noexcept {
  const auto it = std::find_if(pus_.begin(), pus_.end(),
                               [os_index](const Pu& pu) { return pu.os_index == os_index; });
  return it == pus_.end() ? nullptr : &*it;
}

void to_json(nlohmann::json& j, const TopologySummary& s) {
  auto bytes = [](const std::optional<std::uint64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json nodes = nlohmann::json::array();
  for (const NumaNodeSummary& n : s.nodes) {
    nodes.push_back({{"node", n.os_index},
                     {"cores", n.cores},
                     {"pus", n.pus},
                     {"memory_bytes", n.memory_bytes},
                     {"cpus", n.cpus}});
  }
  j = nlohmann::json{{"source", s.source},
                     {"packages", s.packages},
                     {"numa_nodes", s.numa_nodes},
                     {"cores", s.cores},
                     {"pus", s.pus},
                     {"max_smt", s.max_smt},
                     {"caches",
                      {{"l1d_bytes", bytes(s.l1d_bytes)},
                       {"l2_bytes", bytes(s.l2_bytes)},
                       {"l3_bytes", bytes(s.l3_bytes)}}},
                     {"nodes", std::move(nodes)},
                     {"allowed_cpus", s.allowed_cpus},
                     {"affinity_restricted", s.affinity_restricted},
                     {"machine_pus", s.machine_pus}};
}

void to_json(nlohmann::json& j, const Pu& pu) {
  j = nlohmann::json{{"cpu", pu.os_index},
                     {"core", pu.core},
                     {"smt_rank", pu.smt_rank},
                     {"numa_node", pu.numa_node},
                     {"package", pu.package}};
}

}  // namespace psgd
