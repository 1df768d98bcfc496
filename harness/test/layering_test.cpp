// The include graph matches the link order: common <- models <- algorithms <- harness. A file of
// a layer (its sources, tests and benchmarks) includes project headers of its own layer and of
// the layers below only, so a model never sees an algorithm and neither sees the harness.
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

// Each layer and the project folders its files may include from.
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> layers = {
      {"common", {"common"}},
      {"models", {"common", "models"}},
      {"algorithms", {"common", "models", "algorithms"}},
      {"harness", {"common", "models", "algorithms", "harness"}},
  };
  return layers;
}

TEST(Layering, NoIncludePointsUp) {
  const fs::path root = PSGD_SOURCE_DIR;
  const std::regex include(R"re(^\s*#\s*include\s*"([a-z_]+)/[^"]+")re");
  std::size_t files = 0;
  for (const auto& [layer, may_include] : allowed()) {
    for (const auto& entry : fs::recursive_directory_iterator(root / layer)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
      ++files;
      std::ifstream in(entry.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        EXPECT_TRUE(may_include.contains(m[1].str()))
            << fs::relative(entry.path(), root).string() << ":" << number << " includes "
            << m[1].str() << "/ from the " << layer << " layer";
      }
    }
  }
  EXPECT_GT(files, 50U);  // the walk found the sources
}

}  // namespace
}  // namespace psgd
