// End-to-end tests of what `psgd` tells the terminal: the run summary on stderr whatever --out
// is, the per-target fields behind it, --target-accuracy, and `psgd --version`.
#include <gtest/gtest.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

using nlohmann::json;
using test::count_lines;
using test::run_psgd;

constexpr const char* kTinyTerminalRun =
    "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 --epochs 3 "
    "--checkpoints 2 ";

bool output_has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(TerminalEndToEnd, SummaryGoesToStderrAlsoWhenTheJsonGoesToStdout) {
  const test::ProcessResult r = run_psgd(std::string(kTinyTerminalRun) + "--out -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::accept(r.out)) << "stdout must hold the JSON document alone";
  for (const char* line : {"status", "staleness", "contention", "throughput"}) {
    EXPECT_TRUE(output_has(r.err, std::string("\n  ") + line)) << line << "\n" << r.err;
  }
  EXPECT_TRUE(output_has(r.err, "epsilon targets reached")) << r.err;
  EXPECT_LT(count_lines(r.err), 25);  // one screen
}

TEST(TerminalEndToEnd, EveryEpsilonTargetSaysWhetherItWasReached) {
  // 1e-9 is not reachable by a linear model on noisy labels; 90% of the initial loss is.
  const test::ProcessResult r = run_psgd(std::string(kTinyTerminalRun) + "--epsilon 90%,1e-09");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json m = json::parse(r.out)["metrics"];
  EXPECT_EQ(m["epsilon_reached"]["90%"], true);
  EXPECT_EQ(m["epsilon_reached"]["1e-09"], false);
  EXPECT_EQ(m["epsilon_targets_reached"], 1);
  EXPECT_EQ(json::parse(r.out)["status"], "not_converged");
  EXPECT_TRUE(output_has(r.err, "not_converged: 1 of 2 epsilon targets reached")) << r.err;
}

TEST(TerminalEndToEnd, TimeToAccuracyIsReportedPerTarget) {
  const test::ProcessResult r =
      run_psgd(std::string(kTinyTerminalRun) + "--target-accuracy 0.01,1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  const json& m = doc["metrics"];
  EXPECT_EQ(m["accuracy_targets"], json::parse(R"({"1%": 0.01, "100%": 1.0})"));
  // Every evaluated snapshot has an accuracy of at least 1%: the first one (update 0) reaches it.
  EXPECT_EQ(m["updates_to_accuracy"]["1%"], 0);
  EXPECT_EQ(m["time_to_accuracy"]["1%"], doc["series"][0]["seconds"]);
  EXPECT_EQ(doc["config"]["target_accuracy"], "0.01,1");
  EXPECT_TRUE(output_has(r.err, "test accuracy 1% at")) << r.err;
  // Without the option: empty maps, nothing in the summary.
  const test::ProcessResult plain = run_psgd(kTinyTerminalRun);
  const json pm = json::parse(plain.out)["metrics"];
  EXPECT_TRUE(pm["time_to_accuracy"].empty());
  EXPECT_FALSE(output_has(plain.err, "test accuracy")) << plain.err;
}

TEST(TerminalEndToEnd, BadTargetAccuracyIsOneLineAndExitTwo) {
  for (const char* bad : {"1.5", "-0.1", "x", "0", "0.8,", "0.8,,0.9"}) {
    const test::ProcessResult r =
        run_psgd(std::string(kTinyTerminalRun) + "--target-accuracy=" + bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << bad << "\n" << r.err;
    EXPECT_TRUE(output_has(r.err, "--target-accuracy must be")) << r.err;
  }
}

TEST(TerminalEndToEnd, VersionNamesTheBuild) {
  const test::ProcessResult r = run_psgd("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* field : {"psgd ", "source:", "compiler:", "build:", "flags:", "targets:",
                            "cpu has:", "-ffp-contract=off"}) {
    EXPECT_TRUE(output_has(r.out, field)) << field << "\n" << r.out;
  }
  // The same compiler and flags a run records in its context block.
  const json context = json::parse(run_psgd(kTinyTerminalRun).out)["context"];
  EXPECT_TRUE(output_has(r.out, context["compiler"].get<std::string>())) << r.out;
  EXPECT_TRUE(output_has(r.out, context["cxx_flags"].get<std::string>())) << r.out;
  // The version's gemm line names the build's kernel for mlp and linear exactly: the first of an
  // MLP's kernels, given one product wide enough for any kernel (32 and 64 rows; its 4-class
  // layer's forward product is too thin for the own kernel's tile and names Eigen's after it).
  const std::size_t line_start = r.out.find("gemm:      ");
  ASSERT_NE(line_start, std::string::npos) << r.out;
  const std::string gemm_line = r.out.substr(line_start, r.out.find('\n', line_start) - line_start);
  const std::string mlp_gemm = json::parse(run_psgd("run --dataset synthetic-dense:256x64x4 "
                                                    "--model mlp:32 --batch 16 --step 0.1 "
                                                    "--epochs 1")
                                               .out)["context"]["gemm"];
  const std::string first = mlp_gemm.substr(0, mlp_gemm.find('+'));
  EXPECT_EQ(gemm_line.rfind("gemm:      " + first + " for mlp and linear, ", 0), 0U)
      << gemm_line << " against " << mlp_gemm;
  if (mlp_gemm.find("+eigen") != std::string::npos) {
    EXPECT_TRUE(output_has(gemm_line, "eigen for double and for products of fewer than"))
        << gemm_line;
  }
  if (context["git_sha"].is_string()) {
    EXPECT_TRUE(output_has(r.out, context["git_sha"].get<std::string>())) << r.out;
  }
  EXPECT_TRUE(output_has(run_psgd("version").out, "compiler:"));  // the same, as a command
}

}  // namespace
}  // namespace psgd
