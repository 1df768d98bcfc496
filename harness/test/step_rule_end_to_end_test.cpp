// End-to-end: `psgd run --step-rule` records the rule and the effective steps beside the
// staleness histogram, and a method without per-update staleness refuses a rule with exit 2.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace {

using nlohmann::json;
using psgd::test::run_psgd;

constexpr const char* kTinyStepRuleRun =
    "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 --updates 200 "
    "--checkpoints 2 --placement none ";

TEST(StepRuleEndToEnd, TheDocumentRecordsTheRuleAndTheEffectiveSteps) {
  const auto r =
      run_psgd(std::string(kTinyStepRuleRun) + "--algo mutex --threads 2 --step-rule inverse");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["config"]["step_rule"], "inverse");
  EXPECT_EQ(doc["algorithm"]["step_rule"]["rule"], "inverse");
  const json& e = doc["effective_step"];
  ASSERT_TRUE(e.is_object()) << doc.dump();
  EXPECT_EQ(e["count"], doc["updates"]["applied"]);
  // inverse's factors are 1 / max(1, tau): their sum is the staleness histogram's, weighted.
  const json& bins = doc["staleness"]["histogram"];
  double want = 0.0;
  for (std::size_t tau = 0; tau < bins.size(); ++tau) {
    want += bins[tau].get<double>() / static_cast<double>(tau > 1 ? tau : 1);
  }
  EXPECT_NEAR(e["factor_sum"].get<double>(), want, 1e-9 * 200);
  std::int64_t binned = e["overflow"].get<std::int64_t>();
  for (const json& c : e["histogram"]) binned += c.get<std::int64_t>();
  EXPECT_EQ(binned, e["count"].get<std::int64_t>());
}

TEST(StepRuleEndToEnd, AMethodWithoutPerUpdateStalenessRefusesARuleWithExitTwo) {
  const auto r =
      run_psgd(std::string(kTinyStepRuleRun) + "--algo sync --threads 2 --step-rule tail");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--step-rule applies to: mutex, rwlock, hogwild, hogwild-atomic, leashed, "
                       "param-server, hybrid, async-exchange, replicated (not --algo sync)"),
            std::string::npos)
      << r.err;
  // Methods without rules record no effective steps.
  const auto seq = run_psgd(std::string(kTinyStepRuleRun) + "--algo seq");
  ASSERT_EQ(seq.exit_code, 0) << seq.err;
  EXPECT_TRUE(json::parse(seq.out)["effective_step"].is_null());
}

}  // namespace
