// End-to-end tests of a re-run: `psgd run --config RUN.json` takes the configuration a run
// document recorded and reproduces the run bit for bit (one thread, the same seed), and
// `psgd run --print-config` writes a template that `--config` reads back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using psgd::test::run_psgd;
using psgd::test::scratch_dir;
using psgd::test::slurp;
using Result = psgd::test::ProcessResult;

// One asynchronous worker on a small synthetic problem: deterministic for a given seed.
constexpr const char* kRun =
    "run --dataset synthetic-dense:1024x16x4 --model mlp:8 --algo hogwild --threads 1 --batch 16 "
    "--step 0.1 --checkpoints 3 --seed 7 ";

json read_json(const fs::path& path) { return json::parse(slurp(path)); }

TEST(RerunEndToEnd, ConfigOfTheDocumentReproducesTheRunBitForBit) {
  const fs::path dir = scratch_dir("rerun_same_bits");
  const fs::path first = dir / "first.json", second = dir / "second.json";
  const fs::path first_params = dir / "first.bin", second_params = dir / "second.bin";
  const Result a = run_psgd(std::string(kRun) + "--epochs 2 --out " + first.string() +
                            " --save-params " + first_params.string());
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const std::string again = "run --config " + first.string() + " --out " + second.string() +
                            " --save-params " + second_params.string();
  const Result b = run_psgd(again);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const json d1 = read_json(first), d2 = read_json(second);

  // The same configuration, the output paths aside, and the command line of each run.
  json c1 = d1["config"], c2 = d2["config"];
  EXPECT_EQ(c1["out"], first.string());
  EXPECT_EQ(c2["out"], second.string());
  for (json* c : {&c1, &c2}) {
    c->erase("out");
    c->erase("save_params");
  }
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(d2["argv"], json({"psgd", "run", "--config", first.string(), "--out", second.string(),
                              "--save-params", second_params.string()}));
  EXPECT_EQ(d1["argv"][0], "psgd");
  EXPECT_EQ(d1["argv"][1], "run");

  // The same bits: every checkpoint's losses and accuracy, the final ones, the parameters.
  ASSERT_EQ(d1["series"].size(), d2["series"].size());
  ASSERT_GE(d1["series"].size(), 7U);  // 2 epochs x 3 checkpoints + the initial state
  for (std::size_t i = 0; i < d1["series"].size(); ++i) {
    for (const char* key : {"updates", "running_loss", "train_loss", "test_loss", "test_accuracy"})
      EXPECT_EQ(d1["series"][i][key], d2["series"][i][key]) << "series[" << i << "]." << key;
  }
  EXPECT_EQ(d1["metrics"]["final_train_loss"], d2["metrics"]["final_train_loss"]);
  EXPECT_EQ(d1["metrics"]["final_test_accuracy"], d2["metrics"]["final_test_accuracy"]);
  const std::string p1 = slurp(first_params), p2 = slurp(second_params);
  EXPECT_FALSE(p1.empty());
  EXPECT_EQ(p1, p2);

  // The command line overrides the document: another seed gives other bits.
  const fs::path third = dir / "third.json";
  const Result c = run_psgd("run --config " + first.string() + " --seed 8 --out " + third.string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json d3 = read_json(third);
  EXPECT_EQ(d3["config"]["seed"], 8);
  EXPECT_NE(d3["series"].back()["train_loss"], d1["series"].back()["train_loss"]);
}

TEST(RerunEndToEnd, ReRunOfADocumentWritesToStdoutNotOverIt) {
  const fs::path dir = scratch_dir("rerun_stdout");
  const fs::path first = dir / "first.json";
  ASSERT_EQ(run_psgd(std::string(kRun) + "--epochs 0.5 --out " + first.string()).exit_code, 0);
  const std::string before = slurp(first);
  const Result again = run_psgd("run --config " + first.string());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(slurp(first), before);
  EXPECT_EQ(json::parse(again.out)["config"]["out"], "-");
}

TEST(RerunEndToEnd, PrintConfigWritesATemplateThatConfigReadsBack) {
  const Result printed = run_psgd("run --print-config --batch 64");
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_EQ(printed.out.rfind("// ", 0), 0U);
  EXPECT_NE(printed.out.find("  // mini-batch size b\n  \"batch\": 64"), std::string::npos);
  const fs::path file = scratch_dir("print_config") / "template.json";
  std::ofstream(file) << printed.out;
  const Result dry = run_psgd("run --config " + file.string() + " --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const json doc = json::parse(dry.out);
  EXPECT_EQ(doc["config"]["batch"], 64);
  EXPECT_EQ(doc["config"]["epochs"], 1.0);
}

}  // namespace
