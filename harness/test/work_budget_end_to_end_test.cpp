// End-to-end tests of the work block and the budgets (#21 item 1): every registered method, run
// through the real binary, counts its work the same way, and --epochs means passes over the
// data for all of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "harness/test/psgd_process.hpp"

namespace {

using nlohmann::json;
using psgd::AlgorithmEntry;
using psgd::builtin_algorithms;
using psgd::test::run_psgd;

// 1,024 samples, b = 16: one pass is 64 gradients.
constexpr std::int64_t kSamples = 1024;
constexpr std::int64_t kBatch = 16;
constexpr std::int64_t kPass = kSamples / kBatch;
// --placement none: 3 workers oversubscribe a 2-core machine.
constexpr const char* kData =
    "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 "
    "--checkpoints 2 --placement none ";

// Every registered method at its defaults, and the settings under which a method that is
// otherwise one gradient per update combines several (the parameter server's sync rounds).
std::vector<std::string> methods() {
  std::vector<std::string> m;
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) m.emplace_back(e.name);
  m.emplace_back("param-server --ps-mode sync");
  return m;
}

json run_ok(const std::string& args) {
  const psgd::test::ProcessResult r = run_psgd(std::string(kData) + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json::object();
}

// "param-server --ps-mode sync" -> "param_server_ps_mode_sync".
std::string test_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string s;
  for (const char c : p.param) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (word) s += c;
    if (!word && !s.empty() && s.back() != '_') s += '_';
  }
  return s;
}

class EqualWorkEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  [[nodiscard]] const AlgorithmEntry& entry() const {
    return builtin_algorithms().at(GetParam().substr(0, GetParam().find(' ')));
  }
  // 1, 2 and 3 workers where the method runs with them (oversubscribed on a small machine).
  [[nodiscard]] std::vector<int> threads() const {
    std::vector<int> t;
    for (int n = 1; n <= 3; ++n) {
      if (n >= entry().min_threads && n <= entry().max_threads) t.push_back(n);
    }
    return t;
  }
};

// work.gradients x b == work.samples (worker order: every batch full), gradients == contributed +
// lost, lost == the sum of its causes, passes == samples / N; and one epoch is one pass: the
// gradients within one batch per worker of N/b.
TEST_P(EqualWorkEndToEnd, OneEpochIsOnePassWithItsWorkAccounted) {
  for (const int w : threads()) {
    SCOPED_TRACE(GetParam() + " at " + std::to_string(w) + " thread(s)");
    const json doc =
        run_ok("--algo " + GetParam() + " --threads " + std::to_string(w) + " --epochs 1");
    ASSERT_TRUE(doc.contains("work"));
    const json& work = doc["work"];
    const auto gradients = work["gradients"].get<std::int64_t>();
    const json& lost = work["lost"];
    EXPECT_EQ(gradients * kBatch, work["samples"].get<std::int64_t>());
    EXPECT_EQ(gradients,
              work["contributed"].get<std::int64_t>() + lost["total"].get<std::int64_t>());
    EXPECT_EQ(lost["total"].get<std::int64_t>(), lost["dropped"].get<std::int64_t>() +
                                                     lost["abandoned"].get<std::int64_t>() +
                                                     lost["discarded_at_end"].get<std::int64_t>());
    EXPECT_GE(work["contributed"].get<std::int64_t>(), 0);
    EXPECT_DOUBLE_EQ(work["passes"].get<double>(),
                     static_cast<double>(work["samples"].get<std::int64_t>()) / kSamples);
    EXPECT_EQ(doc["updates"]["computed"], gradients);
    EXPECT_EQ(work["budget"]["kind"], "epochs");
    EXPECT_EQ(work["budget"]["amount"], 1.0);
    EXPECT_EQ(work["budget"]["gradients"], kPass);
    EXPECT_LE(std::abs(gradients - kPass), w) << "computed " << gradients << " gradients";
    EXPECT_NEAR(work["passes"].get<double>(), 1.0, static_cast<double>(w * kBatch) / kSamples);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, EqualWorkEndToEnd, ::testing::ValuesIn(methods()),
                         test_name);

// A method of one gradient per update: --gradients G and --epochs G / (N/b) are the same run,
// and both are the update budget G it always had (study 004's counting, bit for bit).
TEST(BudgetsEndToEnd, GradientsAndEpochsAreTheSameRunForOneGradientMethods) {
  for (const char* algo : {"seq", "mutex", "hogwild"}) {
    SCOPED_TRACE(algo);
    const std::string common = std::string("--algo ") + algo + " --threads 1 ";
    const json by_epochs = run_ok(common + "--epochs 1.5");
    const json by_gradients = run_ok(common + "--gradients 96");
    const json by_updates = run_ok(common + "--updates 96");
    EXPECT_EQ(by_epochs["updates"]["budget"], 96);
    EXPECT_EQ(by_epochs["updates"]["applied"], 96);
    ASSERT_EQ(by_epochs["series"].size(), by_gradients["series"].size());
    for (std::size_t i = 0; i < by_epochs["series"].size(); ++i) {
      for (const char* key : {"updates", "epoch", "running_loss", "train_loss"}) {
        EXPECT_EQ(by_epochs["series"][i][key], by_gradients["series"][i][key]) << key;
      }
    }
    for (const char* key : {"final_train_loss", "final_test_loss", "final_test_accuracy"}) {
      EXPECT_EQ(by_epochs["metrics"][key], by_gradients["metrics"][key]) << key;
      EXPECT_EQ(by_epochs["metrics"][key], by_updates["metrics"][key]) << key;
    }
    EXPECT_EQ(by_gradients["work"]["budget"]["kind"], "gradients");
    EXPECT_EQ(by_gradients["work"]["budget"]["amount"], 96);
    EXPECT_EQ(by_updates["work"]["budget"]["kind"], "updates");
    EXPECT_TRUE(by_updates["work"]["budget"]["gradients"].is_null());
  }
}

// A round-based method: an epoch is one pass in gradients, not N/b rounds of W gradients each (at
// 3 workers sync used to compute 3 passes per epoch), and its snapshots still come K per pass.
TEST(BudgetsEndToEnd, SyncEpochCountsGradientsNotRounds) {
  const json doc = run_ok("--algo sync --threads 3 --epochs 1");
  EXPECT_EQ(doc["work"]["budget"]["gradients_per_update"], 3);
  EXPECT_LE(doc["work"]["gradients"].get<std::int64_t>(), kPass + 2);
  EXPECT_GE(doc["work"]["gradients"].get<std::int64_t>(), kPass);
  EXPECT_EQ(doc["updates"]["applied"], (kPass + 2) / 3);  // ceil(64 / 3) rounds
  EXPECT_EQ(doc["updates"]["per_epoch"], 21);             // round(64 / 3)
  // 2 checkpoints per pass of 21 rounds: after rounds 10 and 21, and the final state (22).
  const json& series = doc["series"];
  ASSERT_EQ(series.size(), 4U);
  EXPECT_EQ(series[1]["updates"], 10);
  EXPECT_EQ(series[2]["updates"], 21);
  EXPECT_EQ(series[3]["updates"], 22);
  // --updates still counts rounds: 22 of them, 66 gradients.
  const json rounds = run_ok("--algo sync --threads 3 --updates 22");
  EXPECT_EQ(rounds["updates"]["applied"], 22);
  EXPECT_EQ(rounds["work"]["gradients"], 66);
}

TEST(BudgetsEndToEnd, BadBudgetsAreOneLineErrors) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {
           Case{"--epochs 1 --gradients 10", "--epochs and --gradients both set a budget"},
           Case{"--gradients 10 --updates 10", "--gradients and --updates both set a budget"},
           Case{"--epochs 1 --updates 10", "--epochs and --updates both set a budget"},
           Case{"--gradients 0", "--gradients"},
           Case{"--gradients -3", "--gradients"},
           Case{"--gradients 1.5", "--gradients"},
           Case{"--gradients lots", "--gradients"},
           Case{"--gradients 99999999999999999999999", "--gradients"},
           Case{"--epochs 1e300", "out of range"},
       }) {
    SCOPED_TRACE(c.args);
    const psgd::test::ProcessResult r = run_psgd(std::string(kData) + c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// The one-line summary (stderr) shows the passes and the lost fraction.
TEST(BudgetsEndToEnd, SummaryShowsPassesAndLostFraction) {
  const psgd::test::ProcessResult r = run_psgd(std::string(kData) + "--epochs 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("work        2.00 passes, 128 gradients, 0.0% lost"), std::string::npos)
      << r.err;
}

}  // namespace
