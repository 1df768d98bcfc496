// harness/test/readme_help_end_to_end_test.cpp — the README's copy of `psgd run --help` (section
// "Running it") is the manual users read first; it had fallen behind the binary by seven options
// and one stale line. Every option line the binary prints must appear in README.md verbatim.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

TEST(ReadmeEndToEnd, ListsEveryRunOptionExactlyAsHelpPrintsIt) {
  const ProcessResult help = run_psgd("run --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  // One literal, not `std::string(dir) + "/README.md"`: GCC 12 reports a false -Warray-bounds
  // inside that concatenation where libstdc++ comes from a precompiled header (the tsan preset).
  const std::string readme = slurp(PSGD_SOURCE_DIR "/README.md");
  ASSERT_FALSE(readme.empty()) << "README.md not found under " << PSGD_SOURCE_DIR;
  std::istringstream lines(help.out);
  int options = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) != 0) continue;  // usage, headings and blank lines
    ++options;
    EXPECT_NE(readme.find(line + "\n"), std::string::npos)
        << "README.md lacks this line of `psgd run --help`:\n"
        << line;
  }
  EXPECT_GT(options, 40) << "fewer option lines than psgd run has: is the help format changed?";
}

}  // namespace
}  // namespace psgd::test
