// harness/machine/topology.hpp — the machine as the placement planner sees it, read from hwloc.
//
// A Topology owns one loaded hwloc topology: this machine, a synthetic description
// ("pack:2 numa:2 core:8 pu:2", hwloc's synthetic syntax) or an XML file exported by
// `lstopo file.xml`. From it we derive, once, a plain list of processing units (`Pu`) in
// hwloc logical order and a `TopologySummary`. The planner (placement.hpp) works on the Pu
// list only, so it is a pure function testable without hwloc; only binding needs the hwloc
// handle, and only a topology of this very machine can bind (`is_this_system()`).
//
// Numbering: `Pu::os_index` and `Pu::numa_node` are OS indexes (what the kernel, taskset,
// numactl and libnuma call them); `Pu::core` and `Pu::package` are hwloc logical indexes
// (0..n-1 in topology order), since OS core and package numbers are often sparse or absent.
#pragma once

#include <hwloc.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psgd {

// One hardware thread, in hwloc logical order. Tests build these by hand.
struct Pu {
  int os_index = 0;   // what the kernel calls this CPU
  int core = 0;       // logical index of its physical core
  int smt_rank = 0;   // 0 for the first hardware thread of its core, 1 for the next, ...
  int numa_node = 0;  // OS index of its (first) local NUMA node
  int package = 0;    // logical index of its package (socket)

  friend bool operator==(const Pu&, const Pu&) = default;
};

// One NUMA node: the PUs and cores local to it, and its memory.
struct NumaNodeSummary {
  int os_index = 0;
  int cores = 0;
  int pus = 0;
  std::uint64_t memory_bytes = 0;  // local memory as hwloc reports it; 0 when unknown
  std::vector<int> cpus;           // OS indexes of its PUs, ascending
};

// Counts and cache sizes. Cache sizes are those of the first cache object of each level
// (they are uniform on every machine we target); absent when hwloc does not know the level.
struct TopologySummary {
  std::string source;  // "this machine", "synthetic: <desc>" or "xml: <path>"
  int packages = 0;
  int numa_nodes = 0;
  int cores = 0;
  int pus = 0;
  int max_smt = 0;  // most hardware threads on one core (1: no SMT)
  std::optional<std::uint64_t> l1d_bytes;
  std::optional<std::uint64_t> l2_bytes;
  std::optional<std::uint64_t> l3_bytes;
  std::vector<NumaNodeSummary> nodes;  // ascending by OS index
  // The CPUs the planner may use (OS indexes, ascending): every PU above. For this machine the
  // topology is restricted to the process's affinity mask (taskset, numactl --physcpubind,
  // Slurm's task binding), since a worker pinned outside it fails or escapes the allocation;
  // `machine_pus` is then the count before the restriction.
  std::vector<int> allowed_cpus;
  bool affinity_restricted = false;
  int machine_pus = 0;
};

// {"source", "packages", "numa_nodes", "cores", "pus", "max_smt",
//  "caches": {"l1d_bytes", "l2_bytes", "l3_bytes"} (null when unknown),
//  "nodes": [{"node", "cores", "pus", "memory_bytes", "cpus": [..]}],
//  "allowed_cpus": [..], "affinity_restricted", "machine_pus"}
void to_json(nlohmann::json& j, const TopologySummary& s);
// {"cpu", "core", "smt_rank", "numa_node", "package"}
void to_json(nlohmann::json& j, const Pu& pu);

// The largest topology XML read (hwloc reads it whole): lstopo's file for a 256-thread machine is
// about 1 MiB.
inline constexpr std::uintmax_t kMaxTopologyXmlBytes = std::uintmax_t{64} << 20;

// Owns a loaded hwloc topology plus the Pu list and summary derived from it. Move-only.
// Thread-safety: const member functions may be called from any number of threads at once
// (hwloc allows concurrent read-only use and binding calls on a loaded topology).
class Topology {
 public:
  // The machine this process runs on, restricted to the CPUs this process may run on (its
  // affinity mask; see TopologySummary::allowed_cpus). Throws EnvironmentError if hwloc cannot
  // load or restrict it.
  static Topology this_machine();
  // hwloc synthetic description, e.g. "pack:2 numa:2 core:8 pu:2".
  // Throws ConfigError (one line, naming `option`, the flag the user typed) if hwloc rejects
  // the description.
  static Topology synthetic(std::string_view description, std::string_view option = "--synthetic");
  // An XML file written by `lstopo FILE.xml` (or hwloc_topology_export_xml). Throws
  // EnvironmentError (exit 3, as for every missing file) if the file cannot be opened, and
  // ConfigError if it is not a regular file of at most kMaxTopologyXmlBytes or not a hwloc
  // topology; both one line naming `option`.
  static Topology from_xml(const std::string& path, std::string_view option = "--xml");

  Topology(Topology&& other) noexcept;
  Topology& operator=(Topology&& other) noexcept;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  ~Topology();

  [[nodiscard]] hwloc_topology_t get() const noexcept { return topo_; }
  [[nodiscard]] const std::vector<Pu>& pus() const noexcept { return pus_; }
  [[nodiscard]] const TopologySummary& summary() const noexcept { return summary_; }
  // True only for a topology loaded from this machine: the only kind that can bind threads.
  [[nodiscard]] bool is_this_system() const noexcept;
  // The Pu with this OS index, or nullptr.
  [[nodiscard]] const Pu* find_pu(int os_index) const noexcept;

 private:
  Topology(hwloc_topology_t topo, std::vector<Pu> pus, TopologySummary summary) noexcept;
  // Derives the Pu list and summary of a loaded topology; the result owns `loaded` only once
  // this returns, so the caller keeps ownership if it throws.
  static Topology adopt(hwloc_topology_t loaded, std::string source, int machine_pus = -1);

  hwloc_topology_t topo_ = nullptr;
  std::vector<Pu> pus_;
  TopologySummary summary_;
};

// The Pu list of a loaded hwloc topology (exposed for tests; Topology calls it).
std::vector<Pu> read_pus(hwloc_topology_t topo);

}  // namespace psgd
