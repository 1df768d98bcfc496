// Tests of the option table: parsing, rejection with clear messages, --help and the JSON config.
#include "harness/run/run_config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/errors.hpp"

namespace psgd {
namespace {

RunConfig parse(std::vector<std::string_view> args) { return parse_run_args(args); }

std::string error_of(std::vector<std::string_view> args) {
  try {
    parse(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RunConfig, DefaultsAreTheDocumentedOnes) {
  const RunConfig c = parse({});
  EXPECT_EQ(c.algorithm, "seq");
  EXPECT_EQ(c.model, "mlp:128x128x128");
  EXPECT_EQ(c.dataset, "fashion-mnist");
  EXPECT_EQ(c.batch, 32);
  EXPECT_EQ(c.checkpoints, 4);
  ASSERT_EQ(c.epsilons.size(), 3U);
  EXPECT_EQ(c.epsilons[0].text(), "50%");
  EXPECT_EQ(c.out, "-");
}

TEST(RunConfig, AcceptsBothValueForms) {
  const RunConfig c = parse({"--batch=64", "--step", "0.01", "--raw-pixels", "--epsilon=50%,0.3"});
  EXPECT_EQ(c.batch, 64);
  EXPECT_DOUBLE_EQ(c.step, 0.01);
  EXPECT_TRUE(c.raw_pixels);
  ASSERT_EQ(c.epsilons.size(), 2U);
  EXPECT_TRUE(c.epsilons[0].relative);
  EXPECT_DOUBLE_EQ(c.epsilons[0].value, 0.5);
  EXPECT_FALSE(c.epsilons[1].relative);
  EXPECT_DOUBLE_EQ(c.epsilons[1].value, 0.3);
}

TEST(RunConfig, RejectsBadValuesWithOneLineNamingTheOption) {
  EXPECT_EQ(error_of({"--batch=-3"}), "--batch must be a positive integer, got '-3'");
  EXPECT_EQ(error_of({"--batch=0"}), "--batch must be a positive integer, got '0'");
  EXPECT_EQ(error_of({"--batch=12x"}), "--batch must be a positive integer, got '12x'");
  EXPECT_EQ(error_of({"--step=nan"}), "--step must be a positive number, got 'nan'");
  EXPECT_EQ(error_of({"--step=-1"}), "--step must be a positive number, got '-1'");
  EXPECT_NE(error_of({"--epsilon=150%"}).find("below 100%"), std::string::npos);
  EXPECT_NE(error_of({"--epsilon=50%,,3"}).find("comma-separated"), std::string::npos);
  EXPECT_EQ(error_of({"--batch"}), "--batch needs a value (N)");
  EXPECT_EQ(error_of({"--raw-pixels=1"}), "--raw-pixels takes no value");
  EXPECT_EQ(error_of({"batch=3"}), "unexpected argument 'batch=3'; options look like --name=value");
  EXPECT_NE(error_of({"--epochs=1", "--updates=5"}).find("give one of them"), std::string::npos);
  EXPECT_NE(error_of({"--topology-synthetic=pack:2"}).find("--dry-run"), std::string::npos);
  EXPECT_NE(error_of({"--test-fault=boom"})
                .find("none, abort, hang, exit:N, worker-throw, kill-rank:R or slow-rank:R"),
            std::string::npos);
}

TEST(RunConfig, UnknownOptionListsTheValidOnes) {
  const std::string e = error_of({"--bogus=1"});
  EXPECT_NE(e.find("unknown option '--bogus'"), std::string::npos);
  for (const OptionSpec& o : run_options()) {
    EXPECT_NE(e.find("--" + std::string(o.name)), std::string::npos) << o.name;
  }
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(RunConfig, HelpDocumentsEveryOptionWithItsDefault) {
  const std::string help = run_help();
  for (const OptionSpec& o : run_options()) {
    EXPECT_NE(help.find("--" + std::string(o.name)), std::string::npos) << o.name;
  }
  EXPECT_NE(help.find("--batch=N"), std::string::npos);
  EXPECT_NE(help.find("[32]"), std::string::npos);  // the batch default
  EXPECT_NE(help.find("[mlp:128x128x128]"), std::string::npos);
}

TEST(RunConfig, EveryDocumentedOptionParsesItsOwnDefault) {
  // The help shows get(defaults); feeding that back through set must be accepted, so the
  // help, the parser and the JSON config cannot drift apart.
  const RunConfig defaults;
  for (const OptionSpec& o : run_options()) {
    if (!o.get) continue;  // --config: not a setting of its own
    const nlohmann::json v = o.get(defaults);
    if (o.is_flag() || v.is_null() || (v.is_string() && v.get<std::string>().empty())) continue;
    RunConfig c;
    EXPECT_NO_THROW(o.set(c, v.is_string() ? v.get<std::string>() : v.dump())) << o.name;
    EXPECT_EQ(o.get(c), v) << o.name;
  }
}

TEST(RunConfig, JsonConfigRoundTripsThroughConfigFile) {
  RunConfig c = parse({"--batch=7", "--step=0.25", "--model=linear", "--raw-pixels"});
  const nlohmann::json j = config_to_json(c);
  EXPECT_EQ(j["batch"], 7);
  EXPECT_EQ(j["model"], "linear");
  EXPECT_EQ(j["raw_pixels"], true);
  const std::string path = ::testing::TempDir() + "/psgd_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"batch": 7, "step": 0.25, "model": "linear", "raw-pixels": true})";
  }
  const RunConfig from_file = parse({"--config", path});
  EXPECT_EQ(config_to_json(from_file), j);
}

// The batch order: the method's default unless --batch-order is given; every method accepts all
// three; the config block records the order used.
TEST(RunConfig, BatchOrderIsTheMethodsDefaultUnlessGiven) {
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) {
    const std::string algo = "--algo=" + std::string(e.name);
    const bool averaging = e.name == "local-sgd" || e.name == "async-exchange";
    const RunConfig by_default = parse({algo});
    EXPECT_FALSE(by_default.batch_order.has_value()) << e.name;
    EXPECT_EQ(batch_order_of(by_default), averaging ? BatchOrder::kShard : BatchOrder::kWorker)
        << e.name;
    EXPECT_EQ(config_to_json(by_default)["batch_order"], averaging ? "shard" : "worker") << e.name;
    for (const char* order : {"worker", "shared", "shard"}) {
      const RunConfig given = parse({algo, "--batch-order=" + std::string(order)});
      EXPECT_EQ(name_of(kBatchOrders, batch_order_of(given)), order) << e.name;
      EXPECT_EQ(config_to_json(given)["batch_order"], order) << e.name;
    }
  }
  EXPECT_NE(error_of({"--batch-order=random"})
                .find("--batch-order must be default, worker, shared or shard"),
            std::string::npos);
}

TEST(RunConfig, ConfigFileRejectsUnknownKeys) {
  const std::string path = ::testing::TempDir() + "/psgd_config_bad.json";
  {
    std::ofstream out(path);
    out << R"({"batch": 7, "bacth": 8})";
  }
  EXPECT_NE(error_of({"--config", path}).find("unknown option '--bacth'"), std::string::npos);
}

}  // namespace
}  // namespace psgd
