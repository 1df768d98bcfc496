// Tests of a run's configuration as a file: the recorded `config` block (snake_case, no null),
// `--config` reading it back from a run document of any schema version, the command line
// overriding the file, and the `--print-config` template.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {
namespace {

using nlohmann::json;

RunConfig parse_file_args(std::vector<std::string_view> args) { return parse_run_args(args); }

// Writes text to a file of the test's temporary folder and returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/psgd_config_file_" + name;
  std::ofstream(path) << text;
  return path;
}

// Every key snake_case and no value null, at the top of the block.
void expect_complete(const json& config, const std::string& what) {
  ASSERT_TRUE(config.is_object()) << what;
  EXPECT_GT(config.size(), 40U) << what;  // every option of the table, not a few
  for (const auto& [key, value] : config.items()) {
    EXPECT_EQ(key.find('-'), std::string::npos) << what << ": " << key;
    EXPECT_FALSE(value.is_null()) << what << ": " << key;
  }
}

TEST(RunConfigFile, RecordedConfigIsCompleteAndReadsBackAsItWas) {
  const std::vector<std::vector<std::string_view>> lines = {
      {},
      {"--gradients=10", "--time-limit=2.5", "--target-accuracy=0.8,0.9"},
      {"--updates=7", "--updates-per-epoch=5", "--batch-order=shard", "--algo=leashed"},
      {"--epochs=0.25", "--algo=sync", "--threads=2", "--raw-pixels"}};
  for (const std::vector<std::string_view>& line : lines) {
    const json recorded = config_to_json(parse_file_args(line));
    const std::string what = recorded.dump();
    expect_complete(recorded, what);
    const std::string path = write_file("recorded.json", recorded.dump(2));
    EXPECT_EQ(config_to_json(parse_file_args({"--config", path})), recorded) << what;
  }
  // With no budget given, the budget used is recorded: one epoch, and no other.
  const json defaults = config_to_json(parse_file_args({}));
  EXPECT_EQ(defaults["epochs"], 1.0);
  EXPECT_EQ(defaults["gradients"], "none");
  EXPECT_EQ(defaults["time_limit"], "none");
  EXPECT_EQ(defaults["updates_per_epoch"], "auto");
  EXPECT_EQ(defaults["target_accuracy"], "none");
  EXPECT_EQ(config_to_json(parse_file_args({"--gradients=10"}))["epochs"], "none");
  // A time limit alone is a time budget, not one epoch: re-read, it stays one.
  const json timed = config_to_json(parse_file_args({"--time-limit=3"}));
  EXPECT_EQ(timed["epochs"], "none");
  const RunConfig reread = parse_file_args({"--config", write_file("timed.json", timed.dump())});
  EXPECT_FALSE(reread.epochs.has_value());
  EXPECT_EQ(reread.time_limit_seconds, 3.0);
}

TEST(RunConfigFile, PrintedTemplateIsCommentedAndReadsBackAsTheDefaults) {
  const std::string text = config_template(parse_file_args({}));
  EXPECT_EQ(text.rfind("// ", 0), 0U);
  // One comment line at least per option before its key.
  const json defaults = config_to_json(parse_file_args({}));
  for (const auto& [key, value] : defaults.items()) {
    EXPECT_NE(text.find("\n  \"" + key + "\": "), std::string::npos) << key;
  }
  const std::string path = write_file("template.json", text);
  EXPECT_EQ(config_to_json(parse_file_args({"--config", path})), defaults);
  // A template of other options keeps them.
  const RunConfig given = parse_file_args({"--algo=leashed", "--threads=2", "--persistence=4"});
  const std::string given_path = write_file("given.json", config_template(given));
  EXPECT_EQ(config_to_json(parse_file_args({"--config", given_path})), config_to_json(given));
}

TEST(RunConfigFile, RunDocumentGivesItsConfigLessItsOutputPaths) {
  const json config =
      config_to_json(parse_file_args({"--batch=7", "--out=run.json", "--save-params=theta.bin"}));
  const json doc = {{"schema_version", 3}, {"status", "converged"}, {"config", config}};
  const RunConfig c = parse_file_args({"--config", write_file("doc.json", doc.dump())});
  EXPECT_EQ(c.batch, 7);
  EXPECT_EQ(c.out, "-");  // a re-run never writes over the document it reads
  EXPECT_TRUE(c.save_params.empty());
  // An error document whose options did not parse has no configuration to take.
  const json error = {{"schema_version", 3}, {"status", "error"}, {"config", nullptr}};
  try {
    parse_file_args({"--config", write_file("error.json", error.dump())});
    ADD_FAILURE() << "an error document without a config was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("without a configuration"), std::string::npos);
  }
}

// A plan's document re-runs as training, a crashed run's without its injected fault, and a
// batch order the method chose is left to the re-run's method; one the user gave is kept.
TEST(RunConfigFile, RunDocumentLeavesOutWhatMadeItNoTrainingRunAndTheMethodsOwnOrder) {
  const json config = config_to_json(
      parse_file_args({"--algo=local-sgd", "--threads=2", "--batch-order=shard", "--dry-run",
                       "--topology-synthetic=pack:2 core:2 pu:1", "--test-fault=abort"}));
  json doc = {{"schema_version", 3},
              {"status", "dry_run"},
              {"config", config},
              {"algorithm", {{"name", "local-sgd"}, {"batch_order_source", "method default"}}}};
  RunConfig c = parse_file_args({"--config", write_file("plan.json", doc.dump())});
  EXPECT_FALSE(c.dry_run);
  EXPECT_TRUE(c.topology_synthetic.empty());
  EXPECT_EQ(c.test_fault, "none");
  EXPECT_FALSE(c.batch_order.has_value()) << "the method's own order is the re-run method's";
  EXPECT_EQ(c.algorithm, "local-sgd");
  doc["algorithm"]["batch_order_source"] = "--batch-order";
  c = parse_file_args({"--config", write_file("given.json", doc.dump())});
  ASSERT_TRUE(c.batch_order.has_value());
  EXPECT_EQ(*c.batch_order, BatchOrder::kShard);
}

// Schema 1 and 2 documents spelled the keys as the options and held null for an unset option
// and "" for no --target-accuracy: they read back all the same.
TEST(RunConfigFile, OlderDocumentsReadBack) {
  const json old = {{"schema_version", 2},
                    {"status", "not_converged"},
                    {"config",
                     {{"algo", "hogwild"},
                      {"batch-order", "worker"},
                      {"epochs", nullptr},
                      {"gradients", 50},
                      {"time-limit", nullptr},
                      {"updates-per-epoch", nullptr},
                      {"target-accuracy", ""},
                      {"out", "results/x.json"}}}};
  const RunConfig c = parse_file_args({"--config", write_file("old.json", old.dump())});
  EXPECT_EQ(c.algorithm, "hogwild");
  EXPECT_EQ(c.gradients, 50);
  EXPECT_FALSE(c.epochs.has_value());
  EXPECT_FALSE(c.time_limit_seconds.has_value());
  EXPECT_TRUE(c.target_accuracies.empty());
  EXPECT_EQ(c.out, "-");
  // A committed schema-1 example, as psgd sweep wrote it.
  const RunConfig example =
      parse_file_args({"--config", std::string(PSGD_SOURCE_DIR) +
                                       "/results/examples/threads-quick/"
                                       "algo-hogwild_placement-compact_threads-1__r0-2fcb02.json"});
  EXPECT_EQ(example.algorithm, "hogwild");
  EXPECT_EQ(example.batch, 128);
  EXPECT_EQ(example.epochs, 0.5);
  EXPECT_EQ(example.eval_samples, 5000);
  EXPECT_EQ(example.checkpoints, 24);
}

TEST(RunConfigFile, CommandLineOverridesTheFileAndItsBudgetReplacesTheFiles) {
  const std::string path = write_file("base.json", R"({"batch": 7, "epochs": 2, "threads": 2})");
  // Wherever --config stands, the command line wins.
  EXPECT_EQ(parse_file_args({"--batch=9", "--config", path}).batch, 9);
  EXPECT_EQ(parse_file_args({"--config", path, "--batch=9"}).batch, 9);
  EXPECT_EQ(parse_file_args({"--config", path, "--threads=1"}).epochs, 2.0);
  // A budget on the command line replaces the file's instead of contradicting it.
  const RunConfig g = parse_file_args({"--config", path, "--gradients=10"});
  EXPECT_EQ(g.gradients, 10);
  EXPECT_FALSE(g.epochs.has_value());
  // Two budgets on the command line itself still contradict each other.
  try {
    parse_file_args({"--config", path, "--gradients=10", "--updates=5"});
    ADD_FAILURE() << "two budgets were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("both set a budget"), std::string::npos);
  }
}

}  // namespace
}  // namespace psgd
