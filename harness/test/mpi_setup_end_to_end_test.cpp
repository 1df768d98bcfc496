// harness/test/mpi_setup_end_to_end_test.cpp — how `psgd run --backend mpi` ends when its set-up
// fails (harness/run/mpi_run.hpp), under Open MPI's mpirun on this host: an error raised on
// every rank alike is one line from rank 0, exit 2 and an error document, every rank ending
// normally (no MPI_Abort); an error on one rank alone names the rank and still ends every rank
// normally; ranks that read the same data from different --data-dir paths may run together.
// Skipped, with the reason, without mpirun or without MPI built in. Suite names start with Mpi:
// labelled `mpi`, run serially, not in the sanitizer presets (CMakeLists.txt).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/test/mpi_launch.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSetupRun =
    "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --step 0.1 "
    "--placement none --algo sync --backend mpi";
// Where Debian's dataset-fashion-mnist installs the four files.
const std::filesystem::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

// The lines psgd printed (mpirun adds its own banner when a rank exits non-zero).
std::vector<std::string> psgd_lines(const std::string& err) {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("psgd run:")) lines.push_back(line);
  }
  return lines;
}

class MpiSetupEndToEnd : public ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    if (const std::string why = why_no_mpi(); !why.empty()) GTEST_SKIP() << why;
  }
  [[nodiscard]] std::string out() const { return (scratch_ / "run.json").string(); }
};

// A batch larger than the data, and a budget out of range, are found after MPI starts, on every
// rank alike: before, each rank called MPI_Abort and printed its own line, and no error document
// was written.
TEST_F(MpiSetupEndToEnd, AnErrorOnEveryRankAlikeIsOneLineExitTwoAndAnErrorDocument) {
  const std::pair<std::string, std::string> cases[] = {
      {" --batch 5000", "--batch 5000 exceeds the 1024 training samples"},
      {" --batch 16 --epochs 1e20", "--epochs 1e+20 is out of range"}};
  for (const auto& [options, message] : cases) {
    std::filesystem::remove(out());
    const ProcessResult r =
        run_shell(mpirun_np(2) + PSGD_BINARY + " " + kSetupRun + options + " --out " + out());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const std::vector<std::string> lines = psgd_lines(r.err);
    ASSERT_EQ(lines.size(), 1U) << r.err;
    EXPECT_THAT(lines[0], HasSubstr(message));
    EXPECT_THAT(lines[0], Not(HasSubstr("rank"))) << "the error is every rank's, not one rank's";
    EXPECT_THAT(r.err + r.out, Not(HasSubstr("MPI_ABORT")));
    const json doc = json::parse(slurp(out()));
    EXPECT_EQ(doc["status"], "error");
    EXPECT_EQ(doc["error"]["kind"], "config");
    EXPECT_THAT(doc["error"]["message"].get<std::string>(), HasSubstr(message));
  }
}

// Rank 1 alone cannot load its data (MPMD: its own command line): every rank learns it at the
// set-up's end, rank 0 names rank 1, and the job ends without MPI_Abort, exit 3.
TEST_F(MpiSetupEndToEnd, AnErrorOnOneRankInTheSetupNamesTheRankAndEndsEveryRankNormally) {
  const std::string missing = (scratch_ / "no-such-dir").string();
  const ProcessResult r =
      run_shell(mpirun_np(1) + std::string(PSGD_BINARY) + " " + kSetupRun + " --batch 16 --out " +
                out() + " : -np 1 " + PSGD_BINARY + " run --dataset idx --data-dir " + missing +
                " --model mlp:32 --placement none --algo sync --backend mpi --batch 16 --out " +
                (scratch_ / "rank1.json").string());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const std::vector<std::string> lines = psgd_lines(r.err);
  ASSERT_EQ(lines.size(), 1U) << r.err;
  EXPECT_THAT(lines[0], HasSubstr("psgd run: rank 1: "));
  EXPECT_THAT(lines[0], HasSubstr(missing));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("MPI_ABORT")));
  EXPECT_EQ(json::parse(slurp(out()))["error"]["kind"], "environment");
}

// Hosts mount the data at different paths: the ranks compare the data (its CRC), not the path.
TEST_F(MpiSetupEndToEnd, RanksMayReadTheSameDataFromDifferentDirectories) {
  if (!std::filesystem::exists(kFashionMnist / "train-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "no " << kFashionMnist << " (make deps installs dataset-fashion-mnist)";
  }
  for (const char* host : {"a", "b"}) {
    std::filesystem::create_directories(scratch_ / host);
    for (const auto& file : std::filesystem::directory_iterator(kFashionMnist)) {
      std::filesystem::create_symlink(file.path(), scratch_ / host / file.path().filename());
    }
  }
  const std::string args =
      " run --dataset fashion-mnist --model mlp:16 --batch 64 --updates 4 --checkpoints 1 "
      "--eval-samples 100 --placement none --algo sync --backend mpi --data-dir ";
  const ProcessResult r =
      run_shell(mpirun_np(1) + std::string(PSGD_BINARY) + args + (scratch_ / "a").string() +
                " --out " + out() + " : -np 1 " + PSGD_BINARY + args + (scratch_ / "b").string() +
                " --out " + (scratch_ / "rank1.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(slurp(out()))["ranks"].size(), 2U);
}

}  // namespace
}  // namespace psgd::test
