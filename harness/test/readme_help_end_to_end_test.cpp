// harness/test/readme_help_end_to_end_test.cpp — docs/running.md's copy of `psgd run --help`
// (linked from the README) is the manual users read first; copied by hand, it had fallen behind the
// binary by seven options and one stale line. `make readme-help` now writes it between two marker
// lines, and this test fails while the block differs from what the binary prints in any byte, so a
// new option, a changed default or an algorithm added to the registry shows up as a failing
// test until the block is regenerated.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

// The marker lines, as the Makefile's readme-help target writes them.
constexpr const char* kBegin = "<!-- run-help begin: written by make readme-help -->\n```\n";
constexpr const char* kEnd = "```\n<!-- run-help end -->\n";

TEST(ReadmeEndToEnd, HelpBlockIsTheBinarysHelpExactly) {
  const ProcessResult help = run_psgd("run --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  // One literal, not `std::string(dir) + "/docs/running.md"`: GCC 12 reports a false -Warray-bounds
  // inside that concatenation where libstdc++ comes from a precompiled header (the tsan preset).
  const std::string page = slurp(PSGD_SOURCE_DIR "/docs/running.md");
  ASSERT_FALSE(page.empty()) << "docs/running.md not found under " << PSGD_SOURCE_DIR;
  const std::size_t begin = page.find(kBegin);
  ASSERT_NE(begin, std::string::npos) << "docs/running.md lacks the line before the block:\n"
                                      << kBegin;
  ASSERT_EQ(page.find(kBegin, begin + 1), std::string::npos) << "two blocks in docs/running.md";
  const std::size_t from = begin + std::string(kBegin).size();
  const std::size_t end = page.find(kEnd, from);
  ASSERT_NE(end, std::string::npos) << "docs/running.md lacks the line after the block:\n" << kEnd;
  EXPECT_EQ(page.substr(from, end - from), help.out)
      << "docs/running.md's `psgd run --help` differs from the binary's: run `make readme-help`";
  // Guards the comparison against an empty help: the binary lists every option of psgd run.
  std::istringstream lines(help.out);
  int options = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) == 0) ++options;
  }
  EXPECT_GT(options, 40) << "fewer option lines than psgd run has: is the help format changed?";
}

}  // namespace
}  // namespace psgd::test
