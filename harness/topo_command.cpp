// harness/topo_command.cpp — `psgd topo`.
#include "harness/topo_command.hpp"

#include <charconv>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>

#include "common/errors.hpp"
#include "harness/placement.hpp"
#include "harness/topology.hpp"

namespace psgd {
namespace {

struct TopoArgs {
  std::optional<std::string> synthetic;
  std::optional<std::string> xml;
  std::optional<int> threads;
  std::optional<PlacementOptions> placement;
  std::optional<SmtOrder> smt;
  bool json = false;
  bool help = false;
};

int parse_threads(const std::string& text) {
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < 1) {
    throw ConfigError("--threads \"" + text + "\": expected a whole number >= 1");
  }
  return value;
}

TopoArgs parse_args(const std::vector<std::string>& args) {
  TopoArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) throw ConfigError(flag + " needs a value (see psgd topo --help)");
      return args[++i];
    };
    auto no_value = [&] {
      if (inline_value) throw ConfigError(flag + " takes no value");
    };
    if (flag == "--help" || flag == "-h") {
      no_value();
      parsed.help = true;
    } else if (flag == "--json") {
      no_value();
      parsed.json = true;
    } else if (flag == "--synthetic") {
      parsed.synthetic = value();
    } else if (flag == "--xml") {
      parsed.xml = value();
    } else if (flag == "--threads") {
      parsed.threads = parse_threads(value());
    } else if (flag == "--placement") {
      parsed.placement = parse_placement(value());
    } else if (flag == "--smt") {
      parsed.smt = parse_smt_order(value());
    } else {
      throw ConfigError("unknown argument \"" + args[i] + "\" (see psgd topo --help)");
    }
  }
  if (parsed.help) return parsed;
  if (parsed.synthetic && parsed.xml) {
    throw ConfigError("--synthetic and --xml are alternatives; give one");
  }
  if (parsed.threads.has_value() != parsed.placement.has_value()) {
    throw ConfigError("--threads and --placement go together: give both to print a plan");
  }
  if (parsed.smt && !parsed.placement) throw ConfigError("--smt needs --threads and --placement");
  return parsed;
}

std::string bytes_text(std::uint64_t bytes) {
  constexpr std::uint64_t kKiB = 1024;
  std::ostringstream s;
  if (bytes >= kKiB * kKiB * kKiB) {
    s << std::fixed << std::setprecision(1)
      << static_cast<double>(bytes) / static_cast<double>(kKiB * kKiB * kKiB) << " GiB";
  } else if (bytes >= kKiB * kKiB && bytes % (kKiB * kKiB) == 0) {
    s << bytes / (kKiB * kKiB) << " MiB";
  } else if (bytes >= kKiB && bytes % kKiB == 0) {
    s << bytes / kKiB << " KiB";
  } else {
    s << bytes << " B";
  }
  return s.str();
}

std::string cache_text(const std::optional<std::uint64_t>& bytes) {
  return bytes ? bytes_text(*bytes) : "unknown";
}

std::string cell(int value) { return value < 0 ? "-" : std::to_string(value); }

void print_summary(const TopologySummary& s, std::ostream& out) {
  out << "topology: " << s.source << "\n"
      << "  packages " << s.packages << ", NUMA nodes " << s.numa_nodes << ", cores " << s.cores
      << ", PUs " << s.pus << " (up to " << s.max_smt << " per core)\n"
      << "  caches: L1d " << cache_text(s.l1d_bytes) << ", L2 " << cache_text(s.l2_bytes) << ", L3 "
      << cache_text(s.l3_bytes) << "\n";
  for (const NumaNodeSummary& n : s.nodes) {
    out << "  node " << n.os_index << ": " << n.cores << " cores, " << n.pus << " PUs (CPUs "
        << format_cpu_list(n.cpus) << "), memory "
        << (n.memory_bytes > 0 ? bytes_text(n.memory_bytes) : "unknown") << "\n";
  }
}

void print_plan(const PlacementOptions& options, const PlacementPlan& plan, std::ostream& out) {
  out << "plan: --placement " << placement_to_string(options) << " --smt "
      << smt_order_name(options.smt) << ", " << plan.size() << " workers\n";
  constexpr int kWidth = 10;
  out << std::setw(kWidth) << "worker" << std::setw(kWidth) << "cpu" << std::setw(kWidth) << "core"
      << std::setw(kWidth) << "numa_node" << std::setw(kWidth) << "package"
      << "\n";
  for (const CpuSlot& slot : plan) {
    out << std::setw(kWidth) << slot.worker << std::setw(kWidth) << cell(slot.cpu)
        << std::setw(kWidth) << cell(slot.core) << std::setw(kWidth) << cell(slot.numa_node)
        << std::setw(kWidth) << cell(slot.package) << "\n";
  }
  if (options.policy == PlacementPolicy::kNone) {
    out << "(none: workers are not pinned; the OS places them)\n";
  }
}

int run(const TopoArgs& args, std::ostream& out) {
  if (args.help) {
    out << topo_help();
    return 0;
  }
  const Topology topology = args.synthetic ? Topology::synthetic(*args.synthetic)
                            : args.xml     ? Topology::from_xml(*args.xml)
                                           : Topology::this_machine();
  std::optional<PlacementOptions> options = args.placement;
  PlacementPlan plan;
  if (options) {
    if (args.smt) options->smt = *args.smt;
    plan = plan_placement(topology.pus(), *options, *args.threads);
  }
  if (args.json) {
    nlohmann::json doc{{"topology", topology.summary()}, {"pus", topology.pus()}};
    if (options) {
      doc["plan"] = {{"policy", placement_to_string(*options)},
                     {"smt", smt_order_name(options->smt)},
                     {"threads", *args.threads},
                     {"planned", plan}};
    }
    out << doc.dump(2) << "\n";
    return 0;
  }
  print_summary(topology.summary(), out);
  if (options) print_plan(*options, plan, out);
  return 0;
}

}  // namespace

std::string topo_help() {
  return R"(usage: psgd topo [--synthetic DESC | --xml FILE]
                 [--threads N --placement POLICY [--smt ORDER]] [--json]

Prints a machine's topology as the placement planner sees it: packages, NUMA nodes,
cores, hardware threads (PUs), cache sizes, and each NUMA node's CPUs and memory.
With --threads and --placement it also prints the plan: which CPU, core, NUMA node and
package each worker would be pinned to. Nothing is pinned; this command only plans.

  --synthetic DESC   plan on an hwloc synthetic topology instead of this machine,
                     e.g. "pack:2 numa:2 core:8 pu:2" (hwloc synthetic syntax)
  --xml FILE         plan on a topology exported by `lstopo FILE.xml` on another machine
  --threads N        number of workers to plan for (N >= 1)
  --placement POLICY none | compact | scatter | explicit:CPULIST
                       none      not pinned; the OS schedules (any N)
                       compact   fill NUMA node 0's physical cores, then node 1's, ...
                                 (the UMA layout while the workers fit on one node)
                       scatter   round-robin over NUMA nodes (the NUMA layout)
                       explicit  worker w on the w-th CPU of CPULIST (OS numbers,
                                 e.g. explicit:0,2,4-7; a longer list is fine)
                     compact and scatter need N <= number of PUs.
  --smt ORDER        where SMT siblings come (default: last)
                       last        every physical core first, SMT siblings after
                       interleave  hwloc order: a core's hardware threads back to back
  --json             print one JSON document {"topology", "pus", "plan"} instead of tables
  --help             this text

Options take their value as --opt VALUE or --opt=VALUE. Errors print one line on stderr
and exit 2 (bad arguments) or 3 (the machine's topology cannot be read).
)";
}

int run_topo_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    return run(parse_args(args), out);
  } catch (const ConfigError& e) {
    err << "psgd topo: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    err << "psgd topo: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

int topo_main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return run_topo_command(args, std::cout, std::cerr);
}

}  // namespace psgd
