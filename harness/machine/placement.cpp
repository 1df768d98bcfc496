// harness/machine/placement.cpp — placement policies, the pure planner, and the hwloc binder.
#include "harness/machine/placement.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/errors.hpp"
#include "harness/machine/hwloc_bitmap.hpp"

namespace psgd {
namespace {

// Linux caps CONFIG_NR_CPUS at 8192; anything far above is a typo, and a range like
// "0-2000000000" must not allocate a list of two billion CPUs.
constexpr int kMaxCpuIndex = 65535;

constexpr std::string_view kExplicitPrefix = "explicit:";

HwlocBitmap make_bitmap() {
  HwlocBitmap b(hwloc_bitmap_alloc());
  if (!b) throw std::bad_alloc();
  return b;
}

// The set bits of a finite bitmap, ascending.
std::vector<int> bitmap_to_list(hwloc_const_bitmap_t b) {
  std::vector<int> out;
  for (int i = hwloc_bitmap_first(b); i != -1; i = hwloc_bitmap_next(b, i)) out.push_back(i);
  return out;
}

void require_this_system(const Topology& topology, std::string_view what) {
  if (!topology.is_this_system()) {
    throw ConfigError("placement: cannot " + std::string(what) + " with a " +
                      topology.summary().source +
                      " topology; it is for planning only (psgd topo, or run --dry-run)");
  }
}

std::string all_cpus(const std::vector<Pu>& pus) {
  std::vector<int> cpus;
  cpus.reserve(pus.size());
  for (const Pu& pu : pus) cpus.push_back(pu.os_index);
  std::sort(cpus.begin(), cpus.end());
  return format_cpu_list(cpus);
}

CpuSlot slot_on(int worker, const Pu& pu) {
  return CpuSlot{.worker = worker,
                 .cpu = pu.os_index,
                 .core = pu.core,
                 .numa_node = pu.numa_node,
                 .package = pu.package};
}

// The order compact/scatter hand out PUs in. Tiers (SMT rank with kLast, one tier with
// kInterleave) come one after the other; inside a tier, PUs are grouped by NUMA node in
// ascending node order, keeping their logical order inside a node; compact concatenates the
// groups, scatter deals from them round-robin.
std::vector<Pu> pu_order(const std::vector<Pu>& pus, PlacementPolicy policy, SmtOrder smt) {
  std::map<int, std::map<int, std::vector<Pu>>> tiers;  // tier -> node -> PUs
  for (const Pu& pu : pus) {
    const int tier = smt == SmtOrder::kLast ? pu.smt_rank : 0;
    tiers[tier][pu.numa_node].push_back(pu);
  }
  std::vector<Pu> order;
  order.reserve(pus.size());
  for (auto& [tier, by_node] : tiers) {
    if (policy == PlacementPolicy::kCompact) {
      for (auto& [node, list] : by_node) order.insert(order.end(), list.begin(), list.end());
      continue;
    }
    std::size_t longest = 0;
    for (auto& [node, list] : by_node) longest = std::max(longest, list.size());
    for (std::size_t round = 0; round < longest; ++round) {
      for (auto& [node, list] : by_node) {
        if (round < list.size()) order.push_back(list[round]);
      }
    }
  }
  return order;
}

}  // namespace

std::string_view placement_policy_name(PlacementPolicy policy) {
  return name_of(kPlacementNames, policy);
}

std::string_view smt_order_name(SmtOrder order) { return name_of(kSmtOrderNames, order); }

std::string placement_to_string(const PlacementOptions& options) {
  if (options.policy == PlacementPolicy::kExplicit) {
    return std::string(kExplicitPrefix) + format_cpu_list(options.explicit_cpus);
  }
  return std::string(placement_policy_name(options.policy));
}

std::vector<int> parse_cpu_list(std::string_view text) {
  const std::string whole(text);
  auto bad = [&](std::string_view item, std::string_view why) {
    return ConfigError("CPU list \"" + whole + "\": \"" + std::string(item) + "\" " +
                       std::string(why) + " (expected e.g. 0,2,4-7)");
  };
  auto number = [&](std::string_view item, std::string_view digits) {
    int value = -1;
    const char* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || ec == std::errc::invalid_argument || ptr != end ||
        digits.front() == '-' || digits.front() == '+') {
      throw bad(item, "is not a CPU number or range");
    }
    if (ec == std::errc::result_out_of_range || value > kMaxCpuIndex) {
      throw bad(item, "is out of range");
    }
    return value;
  };
  if (text.empty()) throw ConfigError("CPU list is empty (expected e.g. 0,2,4-7)");
  std::vector<int> cpus;
  std::set<int> seen;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) throw bad(item, "is an empty item");
    const std::size_t dash = item.find('-', 1);
    const int lo = number(item, dash == std::string_view::npos ? item : item.substr(0, dash));
    const int hi = dash == std::string_view::npos ? lo : number(item, item.substr(dash + 1));
    if (hi < lo) throw bad(item, "is a decreasing range");
    for (int cpu = lo; cpu <= hi; ++cpu) {
      if (!seen.insert(cpu).second) {
        throw ConfigError("CPU list \"" + whole + "\": CPU " + std::to_string(cpu) +
                          " is listed twice (one worker per CPU)");
      }
      cpus.push_back(cpu);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return cpus;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

PlacementOptions parse_placement(std::string_view text) {
  PlacementOptions options;
  if (text.substr(0, kExplicitPrefix.size()) == kExplicitPrefix) {
    options.policy = PlacementPolicy::kExplicit;
    try {
      options.explicit_cpus = parse_cpu_list(text.substr(kExplicitPrefix.size()));
    } catch (const ConfigError& e) {
      throw ConfigError("--placement " + std::string(text) + ": " + e.what());
    }
    return options;
  }
  if (text == "explicit") {
    throw ConfigError("--placement explicit needs a CPU list, e.g. explicit:0,2,4-7");
  }
  const std::optional<PlacementPolicy> policy = find_name(kPlacementNames, text);
  if (!policy) {
    bad_option_value("placement", text,
                     names_text(kPlacementNames, PlacementPolicy::kExplicit, "CPULIST"));
  }
  options.policy = *policy;
  return options;
}

SmtOrder parse_smt_order(std::string_view text) { return parse_name(kSmtOrderNames, "smt", text); }

PlacementPlan plan_placement(const std::vector<Pu>& pus, const PlacementOptions& options,
                             int num_workers) {
  const std::string what = "--placement " + placement_to_string(options);
  if (num_workers < 1) {
    throw ConfigError(what + ": needs at least 1 worker, got " + std::to_string(num_workers));
  }
  const auto n = static_cast<std::size_t>(num_workers);
  PlacementPlan plan(n);
  for (std::size_t w = 0; w < n; ++w) plan[w].worker = static_cast<int>(w);

  switch (options.policy) {
    case PlacementPolicy::kNone:
      return plan;
    case PlacementPolicy::kExplicit: {
      std::set<int> seen;
      std::vector<const Pu*> chosen;
      std::map<int, const Pu*> by_cpu;  // a search per listed CPU was quadratic
      for (const Pu& pu : pus) by_cpu.emplace(pu.os_index, &pu);
      for (const int cpu : options.explicit_cpus) {
        const auto it = by_cpu.find(cpu);
        if (it == by_cpu.end()) {
          throw ConfigError(what + ": CPU " + std::to_string(cpu) +
                            " is not in the topology (CPUs: " + all_cpus(pus) + ")");
        }
        if (!seen.insert(cpu).second) {
          throw ConfigError(what + ": CPU " + std::to_string(cpu) + " is listed twice");
        }
        chosen.push_back(it->second);
      }
      if (chosen.size() < n) {
        throw ConfigError(what + ": lists " + std::to_string(chosen.size()) + " CPUs for " +
                          std::to_string(num_workers) + " workers");
      }
      for (std::size_t w = 0; w < n; ++w) plan[w] = slot_on(static_cast<int>(w), *chosen[w]);
      return plan;
    }
    case PlacementPolicy::kCompact:
    case PlacementPolicy::kScatter: {
      if (n > pus.size()) {
        throw ConfigError(what + ": " + std::to_string(num_workers) + " workers but only " +
                          std::to_string(pus.size()) + " hardware threads (CPUs " + all_cpus(pus) +
                          "); use --placement none to oversubscribe");
      }
      const std::vector<Pu> order = pu_order(pus, options.policy, options.smt);
      for (std::size_t w = 0; w < n; ++w) plan[w] = slot_on(static_cast<int>(w), order[w]);
      return plan;
    }
  }
  return plan;
}

void bind_current_thread(const Topology& topology, const CpuSlot& slot) {
  if (slot.cpu < 0) return;
  require_this_system(topology, "pin threads");
  const std::string prefix = "worker " + std::to_string(slot.worker) + ": could not pin to CPU " +
                             std::to_string(slot.cpu) + ": ";
  HwlocBitmap want = make_bitmap();
  HwlocBitmap got = make_bitmap();
  if (hwloc_bitmap_only(want.get(), static_cast<unsigned>(slot.cpu)) != 0) {
    throw std::bad_alloc();
  }
  if (hwloc_set_cpubind(topology.get(), want.get(), HWLOC_CPUBIND_THREAD) != 0) {
    throw EnvironmentError(prefix + std::strerror(errno));
  }
  if (hwloc_get_cpubind(topology.get(), got.get(), HWLOC_CPUBIND_THREAD) != 0) {
    throw EnvironmentError(prefix + "cannot read the binding back: " + std::strerror(errno));
  }
  if (hwloc_bitmap_isequal(want.get(), got.get()) == 0) {
    throw EnvironmentError(prefix + "the binding read back is CPUs " +
                           format_cpu_list(bitmap_to_list(got.get())));
  }
}

ObservedSlot observe_current_thread(const Topology& topology, int worker) {
  require_this_system(topology, "observe threads");
  ObservedSlot observed;
  observed.worker = worker;
  HwlocBitmap bound = make_bitmap();
  if (hwloc_get_cpubind(topology.get(), bound.get(), HWLOC_CPUBIND_THREAD) != 0) {
    throw EnvironmentError("worker " + std::to_string(worker) +
                           ": cannot read the thread's CPU binding: " + std::strerror(errno));
  }
  // An unbound thread may report an infinite set; only this machine's CPUs are meaningful.
  hwloc_bitmap_and(bound.get(), bound.get(), hwloc_topology_get_complete_cpuset(topology.get()));
  observed.bound_cpus = bitmap_to_list(bound.get());

  HwlocBitmap last = make_bitmap();
  if (hwloc_get_last_cpu_location(topology.get(), last.get(), HWLOC_CPUBIND_THREAD) == 0) {
    observed.cpu = hwloc_bitmap_first(last.get());
  }
  if (observed.cpu < 0) observed.cpu = sched_getcpu();
  if (const Pu* pu = topology.find_pu(observed.cpu); pu != nullptr) {
    observed.core = pu->core;
    observed.numa_node = pu->numa_node;
    observed.package = pu->package;
  }
  return observed;
}

void to_json(nlohmann::json& j, const CpuSlot& slot) {
  j = nlohmann::json{{"worker", slot.worker},
                     {"cpu", slot.cpu},
                     {"core", slot.core},
                     {"numa_node", slot.numa_node},
                     {"package", slot.package}};
}

void to_json(nlohmann::json& j, const ObservedSlot& slot) {
  j = nlohmann::json{{"worker", slot.worker},   {"cpu", slot.cpu},
                     {"core", slot.core},       {"numa_node", slot.numa_node},
                     {"package", slot.package}, {"bound_cpus", slot.bound_cpus}};
}

nlohmann::json placement_to_json(const PlacementOptions& options, const nlohmann::json& memory,
                                 const PlacementPlan& planned,
                                 const std::vector<ObservedSlot>& observed,
                                 const TopologySummary& topology) {
  return nlohmann::json{{"policy", placement_to_string(options)},
                        {"smt", smt_order_name(options.smt)},
                        {"allowed_cpus", topology.allowed_cpus},
                        {"memory", memory},
                        {"planned", planned},
                        {"observed", observed},
                        {"topology", topology}};
}

}  // namespace psgd
