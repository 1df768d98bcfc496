// harness/test/ignored_options_end_to_end_test.cpp — options that once were accepted and did
// nothing, through the real binary (#26 item 14): an exit code that wraps to 0, options the run's
// other choices ignore, a --config file with bytes after a NUL, an option given twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kIgnoredOptionsRun =
    "run --dataset synthetic-dense:64x4x2 --model linear --batch 4 --updates 20 --placement none";

class IgnoredOptionsEndToEnd : public ScratchDirTest {
 protected:
  std::string out() const { return (scratch_ / "run.json").string(); }
};

// exit:256 is exit status 0: the test fault "passed" and wrote nothing.
TEST_F(IgnoredOptionsEndToEnd, TestFaultExitCodesOutsideOneTo255AreRefused) {
  for (const char* code : {"256", "0", "1000"}) {
    const ProcessResult r =
        run_psgd(kIgnoredOptionsRun + " --test-fault exit:" + code + " --out " + out());
    EXPECT_EQ(r.exit_code, 2) << code << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("--test-fault")) << r.err;
  }
  const ProcessResult ok = run_psgd(kIgnoredOptionsRun + " --test-fault exit:255 --out " + out());
  EXPECT_EQ(ok.exit_code, 255) << ok.err;
}

TEST_F(IgnoredOptionsEndToEnd, OptionsWithoutEffectSayWhyInOneWarningLineEach) {
  const ProcessResult r = run_psgd(kIgnoredOptionsRun +
                                   " --activation sigmoid --raw-pixels --data-dir /nonexistent "
                                   "--eval-samples 1000000 --out " +
                                   out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("psgd run: warning: --activation sigmoid has no effect: --model "
                               "linear has no hidden layer\n"));
  EXPECT_THAT(r.err, HasSubstr("psgd run: warning: --raw-pixels has no effect"));
  EXPECT_THAT(r.err, HasSubstr("psgd run: warning: --data-dir /nonexistent has no effect"));
  EXPECT_THAT(r.err, HasSubstr("psgd run: warning: --eval-samples 1000000 exceeds the"));
  EXPECT_TRUE(fs::exists(out()));

  // The defaults, and the same options where they matter, warn of nothing.
  const ProcessResult quiet = run_psgd(
      "run --dataset synthetic-dense:64x4x2 --model mlp:4 --activation sigmoid --batch 4 "
      "--updates 20 --placement none --eval-samples 10 --out " +
      out());
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_THAT(quiet.err, Not(HasSubstr("psgd run: warning:")));
}

// The JSON parser took a NUL for the end of the text: what followed was never read.
TEST_F(IgnoredOptionsEndToEnd, AConfigFileWithBytesAfterANulIsRefused) {
  const fs::path config =
      write_text(scratch_ / "c.json", std::string("{\"threads\": 1}\0{\"threads\": 9}", 29));
  const ProcessResult r =
      run_psgd(kIgnoredOptionsRun + " --config " + config.string() + " --out " + out());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("NUL byte at offset 14"));
}

// The last value silently won; now every command refuses a repeated option as it refuses an
// unknown one.
TEST_F(IgnoredOptionsEndToEnd, AnOptionGivenTwiceIsRefusedByEveryCommand) {
  const fs::path spec = write_text(
      scratch_ / "spec.json",
      R"({"name": "twice", "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear"}})");
  const std::string cases[] = {
      kIgnoredOptionsRun + " --threads 2 --threads=1 --out " + out(),
      kIgnoredOptionsRun + " --dry-run --dry-run --out " + out(),
      "topo --json --json",
      "sweep " + spec.string() + " --dry-run --jobs 1 --jobs 2 --results-dir " +
          (scratch_ / "results").string(),
      "compare a.json b.json --alpha 0.05 --alpha 0.01",
  };
  for (const std::string& args : cases) {
    const ProcessResult r = run_psgd(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("is given twice; give each option once")) << args;
  }
  EXPECT_FALSE(fs::exists(scratch_ / "results" / "twice"));
}

}  // namespace
}  // namespace psgd::test
