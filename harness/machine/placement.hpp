// harness/machine/placement.hpp — which CPU each worker runs on: policy, pure planner, binder.
//
// `--placement none|compact|scatter|explicit:CPULIST` and `--smt last|interleave` become a
// PlacementOptions; plan_placement() maps workers to processing units (a pure function of the
// Pu list, tested on hand-built and synthetic topologies); each worker then calls
// bind_current_thread() on its own thread and observe_current_thread() to record where it
// really is. Planned and observed placement both go into the run JSON.
//
// The two layouts of the UMA-vs-NUMA study (research notes §6, design A):
//   compact = the UMA layout: node 0's physical cores first, then node 1's, ...; it spills to
//             the next node only when the workers no longer fit on one node's cores.
//   scatter = the NUMA layout: round-robin over NUMA nodes (worker 0 on node 0, worker 1 on
//             node 1, ...), physical cores first.
// With `--smt last` (the default) SMT siblings are used only after every physical core of the
// allowed machine has a worker, in both policies; `--smt interleave` takes hardware threads in
// hwloc logical order instead, so a core's siblings are used one after the other.
#pragma once

#include <array>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/name_table.hpp"
#include "harness/machine/topology.hpp"

namespace psgd {

enum class PlacementPolicy {
  kNone,      // not pinned: the OS schedules (recorded as such; oversubscription allowed)
  kCompact,   // fill one NUMA node's cores before the next node (UMA layout)
  kScatter,   // round-robin across NUMA nodes (NUMA layout)
  kExplicit,  // worker w runs on the w-th CPU of a user list
};

// The most worker threads psgd runs or plans (psgd run --threads, psgd topo --threads): 16x the
// largest machines it targets (256 hardware threads); more is a typo, and each thread costs a
// stack and per-worker buffers (a plan of 2^31 threads once aborted on bad_alloc, 10^8 printed
// 2 GB).
inline constexpr int kMaxWorkerThreads = 4096;

// The single name table for the parser, --help and the JSON. "explicit" takes ":CPULIST".
inline constexpr NameTable<PlacementPolicy, 4> kPlacementNames{{
    {"none", PlacementPolicy::kNone},
    {"compact", PlacementPolicy::kCompact},
    {"scatter", PlacementPolicy::kScatter},
    {"explicit", PlacementPolicy::kExplicit},
}};

// Where SMT siblings (second and later hardware threads of a core) come in the order.
enum class SmtOrder {
  kLast,        // "last": every physical core first, then siblings (default)
  kInterleave,  // "interleave": hwloc logical order, a core's siblings back to back
};

inline constexpr NameTable<SmtOrder, 2> kSmtOrderNames{{
    {"last", SmtOrder::kLast},
    {"interleave", SmtOrder::kInterleave},
}};

struct PlacementOptions {
  PlacementPolicy policy = PlacementPolicy::kNone;
  std::vector<int> explicit_cpus;  // OS CPU indexes; used only by kExplicit
  SmtOrder smt = SmtOrder::kLast;

  friend bool operator==(const PlacementOptions&, const PlacementOptions&) = default;
};

// "none", "compact", "scatter", "explicit" (the table name, without the CPU list).
std::string_view placement_policy_name(PlacementPolicy policy);
std::string_view smt_order_name(SmtOrder order);
// The option as the user writes it: "scatter", "explicit:0,2,4-7" (ranges re-compressed).
std::string placement_to_string(const PlacementOptions& options);

// Parses the --placement value. Checks syntax only: whether the CPUs exist is checked by
// plan_placement(), which has the topology. Leaves `smt` at its default.
// Throws ConfigError "--placement must be none, compact, scatter or explicit:CPULIST, got 'x'".
PlacementOptions parse_placement(std::string_view text);
// Parses the --smt value ("last" or "interleave"); ConfigError names both.
SmtOrder parse_smt_order(std::string_view text);
// Parses a Linux CPU list ("0,2,4-7"): comma-separated non-negative numbers and inclusive
// ranges lo-hi (lo <= hi), in the given order. No blanks, no empty items, no duplicates.
// Throws ConfigError naming the offending item.
std::vector<int> parse_cpu_list(std::string_view text);
// The inverse: "0,2,4-7".
std::string format_cpu_list(const std::vector<int>& cpus);

// One worker's place. `cpu` is an OS index; -1 (and -1 core/node/package) when not pinned.
struct CpuSlot {
  int worker = 0;
  int cpu = -1;
  int core = -1;
  int numa_node = -1;
  int package = -1;

  friend bool operator==(const CpuSlot&, const CpuSlot&) = default;
};

// plan[w].worker == w for every w.
using PlacementPlan = std::vector<CpuSlot>;

// Maps num_workers workers to distinct PUs of `pus` (in the order read_pus() gives).
// Pure: depends only on its arguments.
// - kNone: every slot unpinned; any num_workers >= 1 is fine (the runner records
//   oversubscription).
// - kCompact / kScatter: see the file comment. More workers than PUs is a ConfigError naming
//   both counts (no wrap-around: two workers on one hardware thread would distort timings).
// - kExplicit: worker w gets explicit_cpus[w]; the list may be longer than num_workers (the
//   rest is unused, so one list serves a sweep over thread counts) but not shorter. A CPU not
//   in `pus` is a ConfigError naming it.
// Throws ConfigError if num_workers < 1.
PlacementPlan plan_placement(const std::vector<Pu>& pus, const PlacementOptions& options,
                             int num_workers);

// Pins the calling thread to slot.cpu with hwloc (HWLOC_CPUBIND_THREAD) and reads the binding
// back. Does nothing for an unpinned slot (cpu < 0).
// Throws EnvironmentError("worker N: could not pin to CPU C: <reason>") if the OS refuses or
// the binding read back differs, and ConfigError if `topology` is not this machine's
// (synthetic or XML topologies are for planning and --dry-run only).
// Thread-safety: call from the thread to be pinned; concurrent calls from different threads
// on one Topology are fine.
void bind_current_thread(const Topology& topology, const CpuSlot& slot);

// Where the calling thread is: the CPU it last ran on (hwloc_get_last_cpu_location, falling
// back to sched_getcpu), that CPU's core/node/package from the topology, and its binding.
struct ObservedSlot {
  int worker = 0;
  int cpu = -1;
  int core = -1;
  int numa_node = -1;
  int package = -1;
  std::vector<int> bound_cpus;  // the thread's cpuset, OS indexes ascending

  friend bool operator==(const ObservedSlot&, const ObservedSlot&) = default;
};

// Reads the calling thread's current CPU and binding. Throws EnvironmentError if the binding
// cannot be read, ConfigError if `topology` is not this machine's.
ObservedSlot observe_current_thread(const Topology& topology, int worker);

// {"worker", "cpu", "core", "numa_node", "package"}; -1 where not pinned.
void to_json(nlohmann::json& j, const CpuSlot& slot);
// The same keys plus "bound_cpus": [..].
void to_json(nlohmann::json& j, const ObservedSlot& slot);

// The run JSON's "placement" object:
// {"policy": "scatter" | "explicit:0,2", "smt": "last", "allowed_cpus": [..] (the CPUs planned
//  over: this process's affinity mask, see TopologySummary), "memory": <memory>,
//  "planned": [CpuSlot...], "observed": [ObservedSlot...], "topology": <TopologySummary>}.
// `memory` is whatever the caller builds (see numa_memory.hpp: memory_to_json).
nlohmann::json placement_to_json(const PlacementOptions& options, const nlohmann::json& memory,
                                 const PlacementPlan& planned,
                                 const std::vector<ObservedSlot>& observed,
                                 const TopologySummary& topology);

}  // namespace psgd
