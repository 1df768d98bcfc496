// End-to-end tests of `psgd compare` on training runs (the real binary): two sweep folders of
// identical builds pass with no difference, a build whose runs are 30% slower is flagged with
// exit 1, a truncated result is one line and exit 2, and two run documents compare too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "harness/test/psgd_process.hpp"
#include "harness/test/run_document_fixture.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class CompareTrainingEndToEnd : public test::ScratchDirTest {
 protected:
  test::ProcessResult compare(const fs::path& a, const fs::path& b) const {
    return test::run_psgd("compare " + a.string() + " " + b.string());
  }
};

TEST_F(CompareTrainingEndToEnd, IdenticalBuildsExitZeroWithNoDifference) {
  test::write_sweep_folder(scratch_ / "a", 3, 5, 1.0, "b0");
  test::write_sweep_folder(scratch_ / "b", 3, 5, 1.0, "b1");
  const test::ProcessResult r = compare(scratch_ / "a", scratch_ / "b");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("12 compared: 0 WORSE, 0 better, 12 same, 0 not comparable -> PASS"));
  EXPECT_THAT(r.out, HasSubstr("threads-3/samples_per_second"));
  EXPECT_THAT(r.out, HasSubstr("psgd-runs"));
}

TEST_F(CompareTrainingEndToEnd, AThirtyPercentSlowerBuildIsFlaggedWithExitOne) {
  // The same sweep folder's two builds: the old one moved to superseded/<build id>/.
  test::write_sweep_folder(scratch_ / "s" / "superseded" / "old", 3, 5, 1.0, "old");
  test::write_sweep_folder(scratch_ / "s", 3, 5, 1.3, "new");
  const test::ProcessResult r = compare(scratch_ / "s" / "superseded" / "old", scratch_ / "s");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Per point: the time to target and the throughput are worse; loss and accuracy the same.
  EXPECT_THAT(r.out, HasSubstr("6 WORSE, 0 better, 6 same, 0 not comparable -> FAIL"));
  EXPECT_THAT(r.out, HasSubstr("WORSE (+30%)"));
  EXPECT_THAT(r.out, HasSubstr("build old"));
  EXPECT_THAT(r.out, HasSubstr("build new"));
}

TEST_F(CompareTrainingEndToEnd, ATruncatedResultIsOneLineAndExitTwo) {
  test::write_sweep_folder(scratch_ / "a", 1, 5, 1.0, "b0");
  test::write_sweep_folder(scratch_ / "b", 1, 5, 1.0, "b1");
  const fs::path victim = scratch_ / "b" / "threads-1__r2-abcdef.json";
  const std::string whole = test::slurp(victim);
  std::ofstream(victim, std::ios::trunc) << whole.substr(0, whole.size() / 3);
  const test::ProcessResult r = compare(scratch_ / "a", scratch_ / "b");
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err, "psgd compare: " + victim.string() + ": not valid JSON: it ends at byte " +
                       std::to_string(whole.size() / 3) +
                       " before the document is complete (truncated?)\n");
  EXPECT_THAT(r.err, Not(HasSubstr("json.exception")));
  // A truncated single document, and a folder with no runs, likewise.
  const test::ProcessResult file = compare(victim, scratch_ / "a" / "threads-1__r0-abcdef.json");
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_THAT(file.err, HasSubstr("(truncated?)"));
  fs::create_directories(scratch_ / "empty");
  const test::ProcessResult empty = compare(scratch_ / "a", scratch_ / "empty");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_THAT(empty.err, HasSubstr("no run document"));
}

TEST_F(CompareTrainingEndToEnd, TwoRunDocumentsCompareAsOneRepetitionEach) {
  test::write_sweep_folder(scratch_ / "a", 1, 1, 1.0, "b0");
  test::write_sweep_folder(scratch_ / "b", 1, 1, 1.3, "b1");
  const test::ProcessResult r = compare(scratch_ / "a" / "threads-1__r0-abcdef.json",
                                        scratch_ / "b" / "threads-1__r0-abcdef.json");
  // One repetition a side is no basis for a test: shown, not judged.
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 WORSE, 0 better, 0 same, 4 not comparable -> PASS"));
  EXPECT_THAT(r.out, HasSubstr("1.300"));  // the ratio is still shown
}

}  // namespace
}  // namespace psgd
