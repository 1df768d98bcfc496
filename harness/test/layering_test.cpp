// The include graph matches the link order: common <- models <- algorithms <- harness. A file of
// a layer (its sources, tests and benchmarks) includes project headers of its own layer and of
// the layers below only, so a model never sees an algorithm and neither sees the harness.
// Inside harness/ the subsystems keep the same discipline: cli/ (what every command shares) <-
// machine/ (topology, placement, NUMA memory) <- run/ (one run) <- sweep/ (many runs) <-
// sweep/slurm/ (the Slurm backend), and compare/ beside them on cli/ alone. So a run never knows
// it is part of a sweep, the local sweep never knows Slurm exists, and compare reads documents
// without the code that writes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace psgd {
namespace {

namespace fs = std::filesystem;

struct Include {
  fs::path file;  // relative to the source root
  int line = 0;
  std::string target;  // as written: "harness/run/report.hpp"
};

// Every project #include of every .cpp/.hpp under root/folder.
std::vector<Include> includes_under(const fs::path& root, const std::string& folder) {
  const std::regex include(R"re(^\s*#\s*include\s*"([a-z_]+/[^"]+)")re");
  std::vector<Include> found;
  for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
    std::ifstream in(entry.path());
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
      std::smatch m;
      if (std::regex_search(text, m, include)) {
        found.push_back({fs::relative(entry.path(), root), number, m[1].str()});
      }
    }
  }
  return found;
}

std::string location(const Include& inc) {
  return inc.file.string() + ":" + std::to_string(inc.line) + " includes " + inc.target;
}

TEST(Layering, NoIncludePointsUp) {
  // Each layer and the project folders its files may include from.
  const std::map<std::string, std::set<std::string>> layers = {
      {"common", {"common"}},
      {"models", {"common", "models"}},
      {"algorithms", {"common", "models", "algorithms"}},
      {"harness", {"common", "models", "algorithms", "harness"}},
  };
  const fs::path root = PSGD_SOURCE_DIR;
  for (const auto& [layer, may_include] : layers) {
    const std::vector<Include> found = includes_under(root, layer);
    EXPECT_FALSE(found.empty()) << layer << "/: the walk found no include (moved?)";
    for (const Include& inc : found) {
      const std::string top = inc.target.substr(0, inc.target.find('/'));
      EXPECT_TRUE(may_include.contains(top)) << location(inc) << " from the " << layer << " layer";
    }
  }
}

// The subsystem of a harness file or include target: "harness/sweep/slurm/task.hpp" is
// "sweep/slurm", "harness/run/report.hpp" is "run", "harness/main.cpp" is "" (no subsystem).
std::string subsystem(const std::string& path) {
  const std::string prefix = "harness/";
  if (path.rfind(prefix, 0) != 0) return "";
  const std::string rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos) return "";
  const std::string first = rest.substr(0, slash);
  if (first == "sweep" && rest.rfind("sweep/slurm/", 0) == 0) return "sweep/slurm";
  return first;
}

TEST(Layering, HarnessSubsystemsIncludeOnlyTheirOwnAndThoseBelow) {
  // Each subsystem and the harness subsystems it may include from. test/, fuzz/ and main.cpp
  // see everything: they assemble the program.
  const std::map<std::string, std::set<std::string>> rules = {
      {"cli", {"cli"}},
      {"machine", {"cli", "machine"}},
      {"run", {"cli", "machine", "run"}},
      {"sweep", {"cli", "machine", "run", "sweep"}},
      {"sweep/slurm", {"cli", "machine", "run", "sweep", "sweep/slurm"}},
      {"compare", {"cli", "compare"}},
      {"report", {"cli", "report"}},
  };
  // The one file that may cross a rule: `psgd sweep` picks the backend, so it sees both.
  const std::set<std::string> backend_chooser = {"harness/sweep/sweep_command.cpp"};

  std::map<std::string, std::size_t> checked;  // per subsystem: its harness includes seen
  for (const Include& inc : includes_under(PSGD_SOURCE_DIR, "harness")) {
    const std::string from = subsystem(inc.file.string());
    const std::string to = subsystem(inc.target);
    if (!rules.contains(from) || to.empty()) continue;
    ++checked[from];
    if (backend_chooser.contains(inc.file.string()) && to == "sweep/slurm") continue;
    EXPECT_TRUE(rules.at(from).contains(to))
        << location(inc) << ": " << from << "/ may not see " << to << "/";
  }
  for (const auto& [name, allowed] : rules) {
    EXPECT_GT(checked[name], 0U) << "harness/" << name << "/: no include checked (moved?)";
  }
}

TEST(Layering, SubsystemOfAPathIsItsFolderUnderHarness) {
  EXPECT_EQ(subsystem("harness/sweep/slurm/task.hpp"), "sweep/slurm");
  EXPECT_EQ(subsystem("harness/sweep/scheduler.hpp"), "sweep");
  EXPECT_EQ(subsystem("harness/run/report.hpp"), "run");
  EXPECT_EQ(subsystem("harness/main.cpp"), "");
  EXPECT_EQ(subsystem("algorithms/runner.hpp"), "");
}

}  // namespace
}  // namespace psgd
