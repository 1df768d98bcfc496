// harness/test/limits_end_to_end_test.cpp — numbers at the edge of what a clock, a wait or a
// Slurm time limit can hold, through the real binary: each case once exited 0 with a wrong
// result (a run cut short, a run far past its limit, a negated benchmark judged "same", a
// negative Slurm time), and is now either exact or one line and exit 2.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kLimitsRun =
    "run --dataset synthetic-dense:64x4x2 --model linear --batch 4 --placement none";

TEST(LimitsEndToEnd, ATimeLimitBeyondTheClockRunsTheWholeBudget) {
  const fs::path dir = scratch_dir("limits_time");
  for (const char* limit : {"1e10", "1e308"}) {
    const fs::path out = dir / (std::string(limit) + ".json");
    const ProcessResult r =
        run_psgd(kLimitsRun + " --algo leashed --threads 2 --updates 400 --time-limit " + limit +
                 " --out " + out.string());
    ASSERT_EQ(r.exit_code, 0) << limit << ": " << r.err;
    const json doc = json::parse(slurp(out));
    EXPECT_EQ(doc["stop_reason"], "budget") << limit;
    EXPECT_EQ(doc["updates"]["applied"], 400) << limit;
  }
}

// The longest delay psgd accepts (10 s per pull and push) with a 1 s limit: the run ends near
// its limit, not after the delay in flight (it once took 20.2 s). 8 s is a loose bound.
TEST(LimitsEndToEnd, ADelayedRunEndsAtItsTimeLimit) {
  const fs::path out = scratch_dir("limits_delay") / "run.json";
  const auto t0 = std::chrono::steady_clock::now();
  const ProcessResult r = run_psgd(kLimitsRun + " --algo mutex --threads 1 --updates 100 " +
                                   "--delay fixed:1e7 --time-limit 1 --out " + out.string());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(seconds, 8.0);
  EXPECT_EQ(json::parse(slurp(out))["stop_reason"], "time_limit");
}

json nightly_sample_doc(double sample) {
  return {{"schema_version", 1},
          {"kind", "psgd-nightly"},
          {"context", {{"cpu", "X"}, {"hardware_threads", 2}}},
          {"benchmarks",
           {{{"name", "micro/a"},
             {"unit", "GFLOP/s"},
             {"higher_is_better", true},
             {"samples", {sample, sample, sample, sample, sample}}}}},
          {"deterministic", json::array()}};
}

TEST(LimitsEndToEnd, CompareRefusesSamplesThatAreNoMeasurement) {
  const fs::path dir = scratch_dir("limits_compare");
  const fs::path good = dir / "good.json";
  const fs::path negated = dir / "negated.json";
  std::ofstream(good) << nightly_sample_doc(100.0).dump();
  std::ofstream(negated) << nightly_sample_doc(-100.0).dump();
  for (const std::string& args :
       {good.string() + " " + negated.string(), good.string() + " /dev/zero",
        good.string() + " " + dir.string()}) {
    const ProcessResult r = run_psgd("compare " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out << r.err;
    EXPECT_TRUE(one_line(r.err)) << args << ": " << r.err;
  }
}

TEST(LimitsEndToEnd, SweepTimeoutsBeyondAYearAreRefused) {
  const fs::path dir = scratch_dir("limits_sweep");
  const auto spec = [&](const std::string& extra) {
    const fs::path p = dir / "spec.json";
    std::ofstream(p) << R"({"name": "t", "base": {"dataset": "synthetic-dense:64x4x2",
      "model": "linear", "updates": 10, "placement": "none"}, "axes": {"batch": [4]})" +
                            extra + "}";
    return p.string();
  };
  const std::string results = " --results-dir " + (dir / "results").string() + " --dry-run";
  for (const std::string& args :
       {"sweep " + spec("") + results + " --backend slurm --timeout 1e300",
        "sweep " + spec("") + results + " --timeout 1e17",
        "sweep " + spec(R"(, "timeout_seconds": 1e17)") + results}) {
    const ProcessResult r = run_psgd(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out << r.err;
    EXPECT_TRUE(one_line(r.err)) << args << ": " << r.err;
    EXPECT_NE(r.err.find("a year"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace psgd::test
