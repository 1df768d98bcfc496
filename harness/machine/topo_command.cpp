// harness/machine/topo_command.cpp — `psgd topo`: its option table, the topology tables and the
// plan.
#include "harness/machine/topo_command.hpp"

#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/cpu_model.hpp"
#include "common/errors.hpp"
#include "common/parse_number.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/cli/option_table.hpp"
#include "harness/machine/machine_limits.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// What the command line asks for; every field is unset until its option is given.
struct TopoArgs {
  std::optional<std::string> synthetic;
  std::optional<std::string> xml;
  std::optional<int> threads;
  std::optional<PlacementOptions> placement;
  std::optional<SmtOrder> smt;
  bool json = false;
  bool measure = false;
  // --measure: each kernel's duration. 0.2 s: ten-odd 512 GEMMs and thousands of passes of the
  // smaller streams, about 5 s in all on the 2-core development machine; tests pass less.
  double measure_seconds = 0.2;
  std::string results = "results";
};

int parse_threads(std::string_view text) {
  return static_cast<int>(parse_int_option("threads", text, 1, kMaxWorkerThreads));
}

template <class T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

// The options in --help order. The placement and SMT help lists each value on a line of its own.
const OptionTable<TopoArgs>& topo_options() {
  static const OptionTable<TopoArgs> table(
      "topo",
      {{"synthetic", "DESC",
        "plan on an hwloc synthetic topology instead of this machine,\n"
        "e.g. \"pack:2 numa:2 core:8 pu:2\" (hwloc synthetic syntax)",
        [](TopoArgs& a, std::string_view v) { a.synthetic = std::string(v); },
        [](const TopoArgs& a) { return optional_json(a.synthetic); }},
       {"xml", "FILE", "plan on a topology exported by `lstopo FILE.xml` on another machine",
        [](TopoArgs& a, std::string_view v) { a.xml = std::string(v); },
        [](const TopoArgs& a) { return optional_json(a.xml); }},
       {"threads", "N", "number of workers to plan for (N >= 1)",
        [](TopoArgs& a, std::string_view v) { a.threads = parse_threads(v); },
        [](const TopoArgs& a) { return optional_json(a.threads); }},
       {"placement", "POLICY",
        "none | compact | scatter | explicit:CPULIST\n"
        "  none      not pinned; the OS schedules (any N)\n"
        "  compact   fill NUMA node 0's physical cores, then node 1's, ...\n"
        "            (the UMA layout while the workers fit on one node)\n"
        "  scatter   round-robin over NUMA nodes (the NUMA layout)\n"
        "  explicit  worker w on the w-th CPU of CPULIST (OS numbers,\n"
        "            e.g. explicit:0,2,4-7; a longer list is fine)\n"
        "compact and scatter need N <= number of PUs.",
        [](TopoArgs& a, std::string_view v) { a.placement = parse_placement(v); },
        [](const TopoArgs& a) {
          return a.placement ? json(placement_to_string(*a.placement)) : json(nullptr);
        }},
       {"smt", "ORDER",
        "where SMT siblings come\n"
        "  last        every physical core first, SMT siblings after\n"
        "  interleave  hwloc order: a core's hardware threads back to back",
        [](TopoArgs& a, std::string_view v) { a.smt = parse_smt_order(v); },
        [](const TopoArgs& a) {
          return json(smt_order_name(a.smt.value_or(PlacementOptions{}.smt)));
        }},
       {"json", "", "print one JSON document {\"topology\", \"pus\", \"plan\"} instead of tables",
        [](TopoArgs& a, std::string_view) { a.json = true; },
        [](const TopoArgs& a) { return json(a.json); }},
       {"measure", "",
        "measure this machine's limits (the reference GEMM per core, copy and\n"
        "triad bandwidth of one core and of all cores) and cache them in\n"
        "RESULTS/machines/CPU-Ncores.json, which every later run reads",
        [](TopoArgs& a, std::string_view) { a.measure = true; },
        [](const TopoArgs& a) { return json(a.measure); }},
       {"measure-seconds", "S", "--measure: seconds per kernel (0 < S <= 60)",
        [](TopoArgs& a, std::string_view v) {
          // Bounded: every kernel at every size runs S seconds, so S = 60 already holds the
          // machine for tens of minutes, and a typo of a few zeros would hold it for days.
          a.measure_seconds = parse_positive_option("measure-seconds", v);
          if (a.measure_seconds > 60.0) {
            bad_option_value("measure-seconds", v, "a number of seconds in (0, 60]");
          }
        },
        [](const TopoArgs& a) { return json(a.measure_seconds); }},
       {"results", "DIR", "--measure: the results folder the cache goes under",
        [](TopoArgs& a, std::string_view v) { a.results = std::string(v); },
        [](const TopoArgs& a) { return json(a.results); }}});
  return table;
}

// Every option applied in order; -h and --help are left for the caller, which shows the help
// only when the rest of the line parses (as this command always has).
TopoArgs parse_topo_args(std::span<const std::string_view> args) {
  TopoArgs parsed;
  topo_options().parse(args, parsed, [](std::string_view arg) {
    if (arg != "-h") {
      throw ConfigError("unknown argument \"" + std::string(arg) + "\" (see psgd topo --help)");
    }
  });
  return parsed;
}

// The checks between options, once all of them are known.
void check_topo_args(const TopoArgs& parsed) {
  if (parsed.synthetic && parsed.xml) {
    throw ConfigError("--synthetic and --xml are alternatives; give one");
  }
  if (parsed.threads.has_value() != parsed.placement.has_value()) {
    throw ConfigError("--threads and --placement go together: give both to print a plan");
  }
  if (parsed.smt && !parsed.placement) throw ConfigError("--smt needs --threads and --placement");
  if (parsed.measure && (parsed.synthetic || parsed.xml)) {
    throw ConfigError("--measure measures this machine; it takes neither --synthetic nor --xml");
  }
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
  if (s.affinity_restricted) {
    out << "  allowed CPUs " << format_cpu_list(s.allowed_cpus)
        << " (this process's affinity mask; plans use only these of the machine's " << s.machine_pus
        << " PUs)\n";
  }
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

std::string limits_rate_text(double bytes_per_second) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << bytes_per_second / 1e9 << " GB/s";
  return s.str();
}

std::string limits_rate_text(const std::optional<double>& bytes_per_second) {
  return bytes_per_second ? limits_rate_text(*bytes_per_second) : std::string("skipped");
}

// --measure: measures, writes the cache (atomically: a reader never sees half of it) and prints
// what it measured.
int measure(const TopoArgs& args, std::ostream& out) {
  const TopologySummary summary = Topology::this_machine().summary();
  const std::string model = cpu_model_name();
  const MachineLimits limits = measure_machine_limits(
      model, summary.cores, bandwidth_sizes(summary.l3_bytes), args.measure_seconds);
  const std::string path =
      machine_limits_path(args.results, machine_limits_key(model, summary.cores));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) throw EnvironmentError("cannot create the folder of " + path + ": " + ec.message());
  write_text_atomically(path, machine_limits_json(limits).dump(2) + "\n");
  if (args.json) {
    out << machine_limits_json(limits).dump(2) << "\n";
    return 0;
  }
  out << "limits of " << model << ", " << summary.cores << " cores, written to " << path << "\n"
      << "  reference GEMM: " << std::fixed << std::setprecision(1)
      << limits.gemm_flops_per_core / 1e9 << " GFLOP/s per core\n";
  for (const BandwidthPoint& p : limits.bandwidth) {
    out << "  " << std::setw(9) << bytes_text(p.bytes) << "  copy "
        << limits_rate_text(p.copy_one_core) << " (1 core), " << limits_rate_text(p.copy_all_cores)
        << " (all);  triad " << limits_rate_text(p.triad_one_core) << " (1 core), "
        << limits_rate_text(p.triad_all_cores) << " (all)\n";
  }
  return 0;
}

int run(const TopoArgs& args, std::ostream& out) {
  if (args.measure) return measure(args, out);
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
    json doc{{"topology", topology.summary()}, {"pus", topology.pus()}};
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
  return "usage: psgd topo [--synthetic DESC | --xml FILE]\n"
         "                 [--threads N --placement POLICY [--smt ORDER]] [--json]\n"
         "       psgd topo --measure [--measure-seconds S] [--results DIR] [--json]\n"
         "\n"
         "Prints a machine's topology as the placement planner sees it: packages, NUMA nodes,\n"
         "cores, hardware threads (PUs), cache sizes, and each NUMA node's CPUs and memory.\n"
         "With --threads and --placement it also prints the plan: which CPU, core, NUMA node and\n"
         "package each worker would be pinned to. Nothing is pinned; this command only plans.\n"
         "With --measure it measures this machine's speed of light instead, once, for every\n"
         "later run's speed_of_light block (docs/performance.md, \"Speed of light\").\n"
         "\n" +
         topo_options().help_lines(TopoArgs{}) +
         "  --help                  this text\n"
         "\n"
         "Options take their value as --opt VALUE or --opt=VALUE. Errors print one line on stderr\n"
         "and exit 2 (bad arguments) or 3 (the machine's topology cannot be read).\n";
}

int run_topo_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  try {
    const TopoArgs parsed = parse_topo_args(views);
    if (wants_help(views)) {
      out << topo_help();
      return 0;
    }
    check_topo_args(parsed);
    return run(parsed, out);
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

CompletionCommand topo_completion() {
  return {"topo",
          "print the machine's topology and a placement plan",
          topo_options().completion_options(),
          false,
          {}};
}

}  // namespace psgd
