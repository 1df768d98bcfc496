// harness/test/sweep_exclude_hint_end_to_end_test.cpp — a grid that crosses `algo` with an option
// one of its algorithms lacks is refused in one line that names the exclude rule to add, as spec
// text that, added as given, makes the same grid plan.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;

std::string spec_text(const std::string& exclude) {
  return R"({"name": "hint",
      "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "updates": 10,
               "placement": "none", "threads": 2},
      "axes": {"algo": ["leashed", "mutex"], "persistence": [2, "inf"]})" +
         exclude + "}";
}

TEST(SweepExcludeHintEndToEnd, TheRefusalNamesTheExcludeRuleThatSkipsThePoint) {
  const fs::path dir = scratch_dir("sweep_exclude_hint");
  const fs::path spec = write_text(dir / "spec.json", spec_text(""));
  const ProcessResult r =
      run_psgd("sweep " + spec.string() + " --dry-run --results-dir " + (dir / "results").string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("--persistence applies to: leashed, replicated (not --algo mutex)"),
            std::string::npos)
      << r.err;
  const std::string rule = R"("exclude": [{"algo":"mutex","persistence":2}])";
  ASSERT_NE(r.err.find(rule), std::string::npos) << r.err;
  // The suggestion, added as given, makes the grid plan (mutex at inf, the default, stays).
  const fs::path fixed = write_text(dir / "fixed.json", spec_text(", " + rule));
  const ProcessResult ok = run_psgd("sweep " + fixed.string() + " --dry-run --results-dir " +
                                    (dir / "results").string());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace psgd::test
