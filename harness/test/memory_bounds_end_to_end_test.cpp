// harness/test/memory_bounds_end_to_end_test.cpp — per-worker and per-round bookkeeping that once
// had no bound in any estimate, through the real binary (#26 items 6 and 10):
// `--algo nonblocking --mini-batches 2^63-1` aborted on length_error (exit 134) and 2^31 grew
// toward 16 GiB (a histogram of K + 1 counters); `--staleness-bins 1048576` at 4,096 threads
// (64 GiB of histograms) passed a sweep's --dry-run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "harness/run/memory_check.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class MemoryBoundsEndToEnd : public ScratchDirTest {};

TEST_F(MemoryBoundsEndToEnd, NonblockingMiniBatchCountsBeyondTheBoundAreOneLine) {
  const std::string out = (scratch_ / "run.json").string();
  for (const char* k : {"9223372036854775807", "2147483648", "1048577"}) {
    const ProcessResult r = run_psgd(
        std::string("run --dataset synthetic-dense:64x4x2 --model linear --batch 4 --updates 20 "
                    "--placement none --algo nonblocking --threads 2 --mini-batches ") +
        k + " --out " + out);
    EXPECT_EQ(r.exit_code, 2) << k << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--mini-batches must be a positive integer up to 1048576"));
  }
  const ProcessResult ok = run_psgd(
      "run --dataset synthetic-dense:64x4x2 --model linear --batch 4 --updates 20 "
      "--placement none --algo nonblocking --threads 2 --mini-batches 1048576 --out " +
      out);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(MemoryBoundsEndToEnd, StalenessHistogramsBeyondMemoryAreRefusedAtASweepsDryRun) {
  RunConfig cfg;
  cfg.threads = 4096;
  cfg.staleness_bins = 1048576;
  if (histogram_bytes(cfg) <= physical_memory_bytes()) {
    GTEST_SKIP() << "this machine has more memory than 4,096 threads' histograms take";
  }
  const fs::path spec = write_text(scratch_ / "spec.json", R"({"name": "bins",
      "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "algo": "mutex", "updates": 10,
               "placement": "none", "staleness-bins": 1048576},
      "axes": {"threads": [1, 4096]}})");
  const ProcessResult r = run_psgd("sweep " + spec.string() + " --dry-run --results-dir " +
                                   (scratch_ / "results").string());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--staleness-bins 1048576 with 4096 thread(s): the staleness "
                               "histograms need at least"));
  EXPECT_FALSE(fs::exists(scratch_ / "results" / "bins"));
}

}  // namespace
}  // namespace psgd::test
