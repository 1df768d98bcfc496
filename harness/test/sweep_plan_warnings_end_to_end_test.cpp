// harness/test/sweep_plan_warnings_end_to_end_test.cpp — `psgd sweep --dry-run` warns on stderr,
// once per point, of a hybrid that never switches (K0 >= its gradient sources W: the
// synchronous parameter server from the first update), and still lists the plan and exits 0.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;

// K0 (1 or 2) against W = threads - 1, or threads with --server-trains (1 at one thread), each
// point at two seeds: the hybrid points with K0 >= W warn, once each; the others do not, nor
// does param-server (which is meant to be what it is).
TEST(SweepPlanWarningsEndToEnd, ADryRunWarnsOncePerHybridPointThatNeverSwitches) {
  const fs::path dir = scratch_dir("sweep_plan_warnings");
  const fs::path spec = write_text(dir / "spec.json", R"({"name": "k0",
      "base": {"dataset": "synthetic-dense:64x4x2", "model": "linear", "updates": 10,
               "placement": "none"},
      "axes": {"algo": ["hybrid", "param-server"], "threads": [1, 2, 3, 4],
               "server-trains": [false, true], "switch": [null, "2,100"]},
      "exclude": [{"algo": ["param-server"], "switch": ["2,100"]}],
      "seeds": [1, 2]})");
  const ProcessResult r =
      run_psgd("sweep " + spec.string() + " --dry-run --results-dir " + (dir / "results").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("48 runs (24 points x 2 repetitions)"), std::string::npos) << r.out;
  // K0 = 1 (the default): W = 1 at 1 thread (both) and at 2 threads serving only. K0 = 2: the
  // same three, 2 threads training, 3 threads serving only. Eight points.
  EXPECT_EQ(count_lines(r.err), 8) << r.err;
  const auto lines_with = [&](const std::string& text) {
    int n = 0;
    for (std::size_t at = r.err.find(text); at != std::string::npos;
         at = r.err.find(text, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(lines_with("warning: point "), 8) << r.err;
  EXPECT_EQ(lines_with("one gradient source (1 thread) never switches: it is sequential SGD"), 4);
  EXPECT_EQ(lines_with("one gradient source (2 threads, the server only serving) never"), 2);
  EXPECT_EQ(lines_with("K0 = 2 >= W = 2 gradient sources (2 threads, the server training)"), 1);
  EXPECT_EQ(lines_with("K0 = 2 >= W = 2 gradient sources (3 threads, the server only serving)"), 1);
  EXPECT_EQ(lines_with("never switches: it is the synchronous param-server from the first"), 2);
  EXPECT_FALSE(fs::exists(dir / "results" / "k0"));
}

}  // namespace
}  // namespace psgd::test
