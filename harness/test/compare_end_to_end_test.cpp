// End-to-end tests of `psgd compare` (the real binary: exit codes, the table, the Markdown file,
// one-line errors) and of the nightly job's script (experiments/nightly/run_nightly.py --quick on
// this build's benchmark binaries): its document follows experiments/nightly/nightly.schema.json,
// compares with itself as unchanged, and plots/nightly.py draws its history.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";

using psgd::test::one_line;
using psgd::test::run_shell;
using psgd::test::slurp;
using Result = psgd::test::ProcessResult;

// This test binary's own folder for the files it compares (one process per test under ctest).
fs::path temp_dir() {
  static const fs::path dir = psgd::test::scratch_dir("psgd_compare");
  return dir;
}

Result compare(const std::string& args) { return psgd::test::run_psgd("compare " + args); }

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = temp_dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

// A nightly document: one timed benchmark with 8 repetitions around `time_us`, one exact loss.
json nightly_doc(double time_us, double loss, const std::string& cpu = "Test CPU") {
  json samples = json::array();
  for (const double noise : {0.0, 0.01, -0.01, 0.005, -0.005, 0.002, -0.002, 0.001}) {
    samples.push_back(time_us * (1.0 + noise));
  }
  return {{"schema_version", 1},
          {"kind", "psgd-nightly"},
          {"context", {{"cpu", cpu}, {"hardware_threads", 2}, {"git_sha", "abc"}}},
          {"benchmarks",
           {{{"name", "micro/algorithms/BM_X"},
             {"unit", "us"},
             {"higher_is_better", false},
             {"samples", samples}}}},
          {"deterministic", {{{"name", "e2e/seq/t1/final_train_loss"}, {"values", {loss}}}}}};
}

TEST(CompareEndToEnd, IdenticalFilesPass) {
  const fs::path a = write("a.json", nightly_doc(100.0, 0.5).dump());
  const fs::path md = temp_dir() / "report.md";
  const Result r = compare(a.string() + " " + a.string() + " --markdown " + md.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("micro/algorithms/BM_X"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unchanged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> PASS"), std::string::npos) << r.out;
  const std::string markdown = slurp(md);
  EXPECT_NE(markdown.find(
                "| benchmark | unit | baseline | now | ratio | p-value | min effect | verdict |"),
            std::string::npos)
      << markdown;
}

TEST(CompareEndToEnd, SlowdownAndChangedLossExitOne) {
  const fs::path a = write("base.json", nightly_doc(100.0, 0.5).dump());
  const fs::path slow = write("slow.json", nightly_doc(130.0, 0.5).dump());
  const fs::path md = temp_dir() / "slow.md";
  Result r = compare(a.string() + " " + slow.string() + " --markdown=" + md.string());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("REGRESSION (+30%)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> FAIL"), std::string::npos) << r.out;
  EXPECT_NE(slurp(md).find("**REGRESSION (+30%)**"), std::string::npos);

  const fs::path changed = write("changed.json", nightly_doc(100.0, 0.5000001).dump());
  r = compare(a.string() + " " + changed.string());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("CHANGED"), std::string::npos) << r.out;
}

TEST(CompareEndToEnd, BadInputExitsTwoWithOneLine) {
  const fs::path good = write("good.json", nightly_doc(100.0, 0.5).dump());
  const fs::path not_json = write("not.json", "{\"kind\": ");
  const fs::path no_benchmarks = write("empty.json", R"({"context": {}, "benchmarks": []})");
  json wrong = nightly_doc(100.0, 0.5);
  wrong["benchmarks"][0]["samples"] = "many";
  const fs::path wrong_type = write("wrong.json", wrong.dump());
  const fs::path other_cpu = write("other.json", nightly_doc(100.0, 0.5, "Other CPU").dump());
  for (const std::string& args :
       {good.string() + " " + (temp_dir() / "missing.json").string(),
        good.string() + " " + not_json.string(), no_benchmarks.string() + " " + good.string(),
        good.string() + " " + wrong_type.string(), good.string() + " " + other_cpu.string(),
        good.string(), good.string() + " " + good.string() + " --alpha 2",
        good.string() + " " + good.string() + " --no-such-option"}) {
    const Result r = compare(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out << r.err;
    EXPECT_TRUE(one_line(r.err)) << args << ": " << r.err;
  }
  const Result allowed =
      compare(good.string() + " " + other_cpu.string() + " --allow-different-machine");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_NE(allowed.out.find("DIFFERENT"), std::string::npos) << allowed.out;
  const Result help = compare("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--allow-different-machine"), std::string::npos);
}

// ---- the nightly script ----

class NightlyEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(PSGD_BENCH_DIR) / "psgd_models_bench")) {
      GTEST_SKIP() << "this build has no benchmark binaries (PSGD_BUILD_BENCHMARKS=OFF)";
    }
    if (run_shell(std::string(kPython) + " -c 'import jsonschema, matplotlib'").exit_code != 0) {
      GTEST_SKIP() << kPython << " with jsonschema and matplotlib is needed (make test-deps)";
    }
  }
  static std::string script() {
    return std::string(kPython) + " " + PSGD_SOURCE_DIR + "/experiments/nightly/run_nightly.py";
  }
};

TEST_F(NightlyEndToEnd, QuickRunFollowsTheSchemaAndComparesUnchanged) {
  const fs::path dir = temp_dir() / "nightly";
  fs::remove_all(dir);
  const fs::path out = dir / "2000-01-01-test.json";
  const Result run = run_shell(script() + " --quick --no-compare --repetitions 3 --min-time 0.01" +
                               " --e2e-repetitions 2 --psgd " + PSGD_BINARY + " --bench-dir " +
                               PSGD_BENCH_DIR + " --out " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run_shell(script() + " --validate " + out.string()).exit_code, 0);
  const json doc = json::parse(slurp(out));
  EXPECT_FALSE(doc["deterministic"].empty());
  bool has_fraction = false;
  for (const json& b : doc["benchmarks"]) {
    EXPECT_EQ(b["samples"].size(), b["name"].get<std::string>().starts_with("e2e/") ? 2U : 3U)
        << b["name"];
    has_fraction |= b["name"].get<std::string>().ends_with("/gemm_fraction");
  }
  EXPECT_TRUE(has_fraction) << "the kernel rate as a fraction of the reference GEMM";
  // Same file on both sides: every deterministic result unchanged, nothing regressed.
  const Result same = compare(out.string() + " " + out.string());
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  // The schema rejects what the comparator would misread: exit 2 from the validator.
  json broken = doc;
  broken["benchmarks"][0].erase("higher_is_better");
  const fs::path bad = write("broken_nightly.json", broken.dump());
  EXPECT_EQ(run_shell(script() + " --validate " + bad.string()).exit_code, 2);
  // The history plot draws from the folder.
  const Result plot =
      run_shell(std::string(kPython) + " " + PSGD_SOURCE_DIR + "/plots/nightly.py --results " +
                dir.string() + " --baseline " + out.string() + " --out " + dir.string());
  EXPECT_EQ(plot.exit_code, 0) << plot.err;
  EXPECT_TRUE(fs::exists(dir / "nightly.png"));
}

TEST_F(NightlyEndToEnd, CommittedBaselineFollowsTheSchema) {
  const Result r =
      run_shell(script() + " --validate " + PSGD_SOURCE_DIR + "/experiments/nightly/baseline.json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
