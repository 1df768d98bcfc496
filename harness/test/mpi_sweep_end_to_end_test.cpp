// harness/test/mpi_sweep_end_to_end_test.cpp — sweeps with a `ranks` axis (issue #22, item 4):
// the local backend starts each point with ranks under mpirun; a rank killed by the per-rank test
// fault makes its run `crashed` within seconds while the sweep's other runs complete with their
// `ranks` blocks adding up; the index has a ranks column; a resumed sweep redoes nothing; a
// method without an MPI combine is refused at plan time with an exclude rule to add, and a sweep
// without mpirun on PATH stops before anything runs (exit 3). Suites Mpi*:
// labelled `mpi`, serial, not in the sanitizer presets (CMakeLists.txt). Skipped, with the
// reason, without mpirun or without MPI built in.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// Three tiny points: sync on 2 ranks and on 3 ranks x 1 thread (2 passes of a synthetic set,
// about a second each), and 2 ranks whose rank 1 kills itself 1 s into a 30 s run.
constexpr const char* kRanksSpec = R"({
  "name": "mpi-ranks",
  "base": {"dataset": "synthetic-dense:1024x16x4", "model": "mlp:32", "batch": 16, "step": 0.1,
           "placement": "none", "algo": "sync", "threads": 1},
  "axes": {"ranks": [{"ranks": 2, "epochs": 2}, {"ranks": 3, "epochs": 2},
                     {"ranks": 2, "time-limit": 30, "test-fault": "kill-rank:1"}]},
  "timeout_seconds": 60
})";

std::string missing_mpi_for_sweeps() {
  if (!ProcessGroup::built_in()) return "psgd was built without MPI";
  if (run_shell("command -v mpirun").exit_code != 0) return "mpirun is not installed";
  return "";
}

class MpiSweepEndToEnd : public ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    if (const std::string why = missing_mpi_for_sweeps(); !why.empty()) GTEST_SKIP() << why;
  }
  std::string write_spec(const std::string& text) {
    return write_text(scratch_ / "spec.json", text).string();
  }
  ProcessResult sweep(const std::string& spec, const std::string& extra = "") {
    return run_psgd("sweep " + spec + " --results-dir " + (scratch_ / "results").string() + " " +
                    extra);
  }
  json doc(const std::string& run_id) {
    return json::parse(slurp(scratch_ / "results" / "mpi-ranks" / (run_id + ".json")));
  }
};

// The per-worker sums of the ranks block: every rank's gradients add up to the work block's.
void expect_ranks_add_up(const json& d, int ranks) {
  ASSERT_TRUE(d["ranks"].is_array()) << d.dump();
  ASSERT_EQ(d["ranks"].size(), static_cast<std::size_t>(ranks));
  long long gradients = 0;
  for (const json& r : d["ranks"]) gradients += r["gradients"].get<long long>();
  EXPECT_EQ(gradients, d["work"]["gradients"].get<long long>());
}

TEST_F(MpiSweepEndToEnd, AKilledRankCrashesItsRunAndTheOthersComplete) {
  const std::string spec = write_spec(kRanksSpec);
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  ASSERT_EQ(plan.size(), 3U);

  const ProcessResult dry = sweep(spec, "--dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("mpirun"));
  EXPECT_THAT(dry.out, HasSubstr(" -np 3 "));
  EXPECT_THAT(dry.out, HasSubstr("--backend=mpi"));
  EXPECT_THAT(dry.out, ::testing::Not(HasSubstr("--ranks")));  // no psgd run option

  const ProcessResult r = sweep(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err;  // a crash is a result
  for (std::size_t i = 0; i < 2; ++i) {
    const json d = doc(plan[i].run_id);
    EXPECT_THAT(d["status"].get<std::string>(), ::testing::AnyOf("converged", "not_converged"));
    expect_ranks_add_up(d, i == 0 ? 2 : 3);
    EXPECT_EQ(d["sweep"]["options"]["ranks"], i == 0 ? "2" : "3");
    EXPECT_EQ(d["sweep"]["launcher"][0], "mpirun");
  }
  const json crashed = doc(plan[2].run_id);
  EXPECT_EQ(crashed["status"], "crashed");
  // A killed rank ends the job in about 2.5 s (mpi_end_to_end_test.cpp): far from the 30 s the
  // run would take and the 60 s timeout, which would say `timeout`.
  EXPECT_NE(crashed["crash"]["kind"], "timeout");
  EXPECT_LT(crashed["sweep"]["run_seconds"].get<double>(), 25.0);

  // The index: a ranks column, one row per run.
  const std::string index = slurp(scratch_ / "results" / "mpi-ranks" / "index.csv");
  const std::string header = index.substr(0, index.find('\n'));
  EXPECT_THAT(header, HasSubstr(",ranks,"));
  EXPECT_EQ(count_lines(index), 4);

  // Resumed: ranks are part of each run's identity, and nothing is run again.
  const ProcessResult again = sweep(spec, "--dry-run");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("3 done, 0 to run"));
}

using MpiSweepPlanEndToEnd = ScratchDirTest;

// Needs no mpirun for the refusal: it comes from the plan, before anything is launched.
TEST_F(MpiSweepPlanEndToEnd, AMethodWithoutAnMpiCombineIsRefusedWithAnExcludeRule) {
  const std::string spec = write_text(scratch_ / "spec.json", R"({
    "name": "mpi-refused",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "epochs": 1,
             "placement": "none"},
    "axes": {"algo": ["sync", "mutex"], "ranks": [1, 2]}
  })")
                               .string();
  const ProcessResult r =
      run_psgd("sweep " + spec + " --dry-run --results-dir " + (scratch_ / "results").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("point algo-mutex_ranks-2: --backend mpi (ranks 2) applies to: "));
  EXPECT_THAT(r.err, HasSubstr("\"exclude\": [{\"algo\":\"mutex\",\"ranks\":2}]"));
  // With that rule the plan passes: mutex on one rank stays a shared-memory point.
  const std::string excluded = write_text(scratch_ / "excluded.json", R"({
    "name": "mpi-refused",
    "base": {"dataset": "synthetic-dense:256x8x2", "model": "linear", "epochs": 1,
             "placement": "none"},
    "axes": {"algo": ["sync", "mutex"], "ranks": [1, 2]},
    "exclude": [{"algo": "mutex", "ranks": 2}]
  })")
                                   .string();
  // Without mpirun on PATH the sweep stops before anything runs (exit 3), naming it.
  const ProcessResult no_mpirun =
      run_psgd("sweep " + excluded + " --dry-run --results-dir " + (scratch_ / "results").string(),
               "PATH=/nonexistent");
  EXPECT_EQ(no_mpirun.exit_code, 3) << no_mpirun.err;
  EXPECT_THAT(no_mpirun.err, HasSubstr("point algo-sync_ranks-2 runs 2 rank(s) with mpirun, "
                                       "which is not on PATH"));
  const ProcessResult ok =
      run_psgd("sweep " + excluded + " --dry-run --results-dir " + (scratch_ / "results").string());
  if (run_shell("command -v mpirun").exit_code != 0) GTEST_SKIP() << "mpirun is not installed";
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("3 runs (3 points x 1 repetitions)"));
}

// hybrid's never-switches warning counts every rank's slots: 2 ranks x 2 threads are 3 gradient
// sources (K0 = 1 switches), where one rank of 2 threads is 1 (it never does); 2 ranks x 1
// thread are 1 again. Plan only: no mpirun needed.
TEST_F(MpiSweepPlanEndToEnd, HybridsWarningCountsEveryRanksWorkers) {
  const std::string spec = write_text(scratch_ / "spec.json", R"({
    "name": "hybrid-ranks",
    "base": {"algo": "hybrid", "dataset": "synthetic-dense:64x4x2", "model": "linear",
             "updates": 10, "placement": "none"},
    "axes": {"threads": [1, 2], "ranks": [1, 2]}
  })")
                               .string();
  const ProcessResult r =
      run_psgd("sweep " + spec + " --dry-run --results-dir " + (scratch_ / "results").string());
  // Exit 3 without mpirun on PATH comes after the warnings.
  EXPECT_THAT(r.err, HasSubstr("point threads-1_ranks-1: hybrid with one gradient source "
                               "(1 thread) never switches"));
  EXPECT_THAT(r.err, HasSubstr("point threads-2_ranks-1: hybrid with one gradient source "
                               "(2 threads, the server only serving) never switches"));
  EXPECT_THAT(r.err, HasSubstr("point threads-1_ranks-2: hybrid with one gradient source "
                               "(2 ranks x 1 thread, the server only serving) never switches"));
  EXPECT_THAT(r.err, Not(HasSubstr("point threads-2_ranks-2"))) << r.err;
}

}  // namespace
}  // namespace psgd::test
