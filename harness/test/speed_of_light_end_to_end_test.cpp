// harness/test/speed_of_light_end_to_end_test.cpp — `psgd topo --measure` (briefly: its duration
// is an option) writes the machine's limits under results/, and a run in that folder reports its
// speed_of_light fractions within a loose bound for the MLP and the CNN; without a cache they are
// null with a reason, and a bad cache stops the run with one line. The efficiency split is in
// the same documents.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

using ::testing::HasSubstr;

// The loose bound of the acceptance: a fraction above 1 is measurement noise between the run and
// the brief measurement (a busy 2-core machine), not a run faster than the machine.
constexpr double kMostFraction = 1.1;

void put_be32(std::ofstream& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.write(bytes, 4);
}

// `n` 28x28 images of a ramp, labels cycling over 10 classes, in IDX files of standard names, so
// the CNN has image-shaped input (synthetic-dense is 1x1xD).
void write_idx_set(const std::filesystem::path& dir, const char* images, const char* labels,
                   std::uint32_t n) {
  std::ofstream img(dir / images, std::ios::binary);
  put_be32(img, 0x00000803U);
  put_be32(img, n);
  put_be32(img, 28);
  put_be32(img, 28);
  for (std::uint32_t i = 0; i < n * 28 * 28; ++i)
    img.put(static_cast<char>((i * 7 + i / 784) % 256));
  std::ofstream lab(dir / labels, std::ios::binary);
  put_be32(lab, 0x00000801U);
  put_be32(lab, n);
  for (std::uint32_t i = 0; i < n; ++i) lab.put(static_cast<char>(i % 10));
}

class SpeedOfLightEndToEnd : public test::ScratchDirTest {
 protected:
  // `psgd run ARGS --out run.json` inside `folder`, its document.
  nlohmann::json run_in(const std::filesystem::path& folder, const std::string& args,
                        std::string* err = nullptr) {
    const test::ProcessResult r = test::run_shell("cd '" + folder.string() + "' && " + PSGD_BINARY +
                                                  " run " + args + " --out run.json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (err != nullptr) *err = r.err;
    return nlohmann::json::parse(test::slurp(folder / "run.json"));
  }

  static void expect_fractions_within_bound(const nlohmann::json& doc, const std::string& what) {
    const nlohmann::json& light = doc["speed_of_light"];
    ASSERT_TRUE(light["gemm_fraction"].is_number()) << what << ": " << light.dump();
    ASSERT_TRUE(light["bandwidth_fraction"].is_number()) << what << ": " << light.dump();
    for (const char* key : {"gemm_fraction", "bandwidth_fraction"}) {
      EXPECT_GT(light[key].get<double>(), 0.0) << what << " " << key;
      EXPECT_LE(light[key].get<double>(), kMostFraction) << what << " " << key;
    }
  }
};

TEST_F(SpeedOfLightEndToEnd, MeasuredOnceThenEveryRunReportsFractionsWithinBound) {
  const test::ProcessResult measured = test::run_psgd(
      "topo --measure --measure-seconds 0.03 --results '" + (scratch_ / "results").string() + "'");
  ASSERT_EQ(measured.exit_code, 0) << measured.err;
  EXPECT_THAT(measured.out, HasSubstr("reference GEMM"));
  ASSERT_TRUE(std::filesystem::exists(scratch_ / "results" / "machines"));

  std::string err;
  const nlohmann::json mlp =
      run_in(scratch_,
             "--dataset synthetic-dense:1024x64x4 --model mlp:64 --algo mutex --threads 2 "
             "--batch 16 --step 0.1 --epochs 1",
             &err);
  expect_fractions_within_bound(mlp, "mlp");
  EXPECT_THAT(err, HasSubstr("light"));
  EXPECT_THAT(err, HasSubstr("efficiency"));
  const nlohmann::json& cs = mlp["speed_of_light"]["critical_section"];
  ASSERT_TRUE(cs.is_object());
  EXPECT_GE(cs["speedup_bound"].get<double>(), 1.0);
  EXPECT_GT(cs["timed_updates"].get<std::int64_t>(), 0);

  const std::filesystem::path data = scratch_ / "idx";
  std::filesystem::create_directories(data);
  write_idx_set(data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 256);
  write_idx_set(data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 64);
  const nlohmann::json cnn = run_in(scratch_,
                                    "--dataset idx --data-dir idx --model cnn --algo hogwild "
                                    "--threads 2 --batch 16 --step 0.01 --epochs 1");
  expect_fractions_within_bound(cnn, "cnn");
  // The document names the model's GEMM: cnn's dense head runs on the builtin kernel, never on
  // OpenBLAS, even in a build whose mlp does (models/gemm.hpp).
  const std::string cnn_gemm = cnn["context"]["gemm"];
  EXPECT_TRUE(cnn_gemm == "eigen" || cnn_gemm == "own" || cnn_gemm == "own+eigen") << cnn_gemm;
  EXPECT_TRUE(cnn["context"]["openblas_core"].is_null());
#if defined(PSGD_TEST_EXPECT_OPENBLAS)
  EXPECT_EQ(mlp["context"]["gemm"], "openblas");
  EXPECT_TRUE(mlp["context"]["openblas_core"].is_string());
#endif
  EXPECT_TRUE(cnn["speed_of_light"]["critical_section"].is_null()) << "hogwild takes no lock";
  // ... but splits its updates: every applied update timed, the parts within the workers' time.
  const nlohmann::json& split = cnn["speed_of_light"]["update_split"];
  ASSERT_TRUE(split.is_object()) << cnn["speed_of_light"].dump();
  EXPECT_EQ(split["timed_updates"], cnn["work"]["contributed"]) << split.dump();
  for (const char* part :
       {"read_seconds_per_update", "gradient_seconds_per_update", "apply_seconds_per_update"}) {
    EXPECT_GT(split[part].get<double>(), 0.0) << part;
  }
  EXPECT_GT(split["accounted_fraction"].get<double>(), 0.0);
  EXPECT_LE(split["accounted_fraction"].get<double>(), 1.0);
  EXPECT_TRUE(mlp["speed_of_light"]["update_split"].is_object()) << "mutex splits its updates too";
}

TEST_F(SpeedOfLightEndToEnd, WithoutACacheNullWithAReasonAndTheSplitAllTheSame) {
  const nlohmann::json doc =
      run_in(scratch_,
             "--dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 "
             "--epochs 2 --epsilon 90%,1e-9");
  const nlohmann::json& light = doc["speed_of_light"];
  EXPECT_TRUE(light["gemm_fraction"].is_null());
  EXPECT_THAT(light["reason"].get<std::string>(), HasSubstr("psgd topo --measure"));
  EXPECT_GT(light["flops_per_gradient"].get<double>(), 0.0);
  EXPECT_FALSE(std::filesystem::exists(scratch_ / "results")) << "a run never measures unasked";
  const nlohmann::json& e = doc["efficiency"];
  ASSERT_TRUE(e["passes_to_target"]["epsilon"]["90%"].is_number()) << e.dump();
  for (const auto& [label, passes] : e["passes_to_target"]["epsilon"].items()) {
    if (label != "90%") {
      EXPECT_TRUE(passes.is_null()) << "unreached " << label << ": " << e.dump();
    }
  }
  EXPECT_EQ(e["passes_to_target"]["epsilon"].size(), 2U);
  EXPECT_NEAR(e["passes"].get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(e["seconds_per_pass"].get<double>(),
              doc["metrics"]["wall_seconds"].get<double>() / 2.0, 1e-12);
}

TEST_F(SpeedOfLightEndToEnd, ABadCacheStopsTheRunWithOneLine) {
  const test::ProcessResult measured = test::run_psgd(
      "topo --measure --measure-seconds 0.001 --results '" + (scratch_ / "results").string() + "'");
  ASSERT_EQ(measured.exit_code, 0) << measured.err;
  for (const auto& entry : std::filesystem::directory_iterator(scratch_ / "results" / "machines")) {
    test::write_text(entry.path(), "{\"format\": \"psgd machine limits 1\"}");
  }
  const test::ProcessResult r = test::run_shell(
      "cd '" + scratch_.string() + "' && " + PSGD_BINARY +
      " run --dataset synthetic-dense:64x4x2 --model linear --epochs 1 --out run.json");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(test::one_line(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("psgd topo --measure"));
}

TEST_F(SpeedOfLightEndToEnd, MeasureRefusesAnotherMachine) {
  const test::ProcessResult r =
      test::run_psgd("topo --measure --synthetic 'pack:1 core:2 pu:1' --measure-seconds 0.001");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(test::one_line(r.err)) << r.err;
  const test::ProcessResult bad = test::run_psgd("topo --measure --measure-seconds 0");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("measure-seconds"));
  const test::ProcessResult days = test::run_psgd("topo --measure --measure-seconds 6000");
  EXPECT_EQ(days.exit_code, 2);
  EXPECT_TRUE(test::one_line(days.err)) << days.err;
  EXPECT_THAT(days.err, HasSubstr("--measure-seconds must be a number of seconds in (0, 60]"));
}

}  // namespace
}  // namespace psgd
