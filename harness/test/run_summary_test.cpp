// The run summary printed to stderr: a pure function of the run's record, here read from a
// document (the record's reader has its own tests in run_record_test.cpp).
#include "harness/run/run_summary.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "harness/run/report.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// A run document with the fields the summary reads (as build_report writes them).
json fixture() {
  return json::parse(R"({
    "status": "not_converged",
    "config": {"algo": "leashed", "threads": 2, "batch": 32, "step": 0.05},
    "model": {"spec": "mlp:128"}, "data": {"name": "fashion-mnist"},
    "context": {"load_avg": [1.5, 1.0, 0.5], "hardware_threads": 2},
    "series": [{"epoch": 0, "updates": 0, "seconds": 0, "running_loss": null,
                "train_loss": 2.3, "test_loss": 2.3, "test_accuracy": 0.1},
               {"epoch": 1, "updates": 100, "seconds": 1.5, "running_loss": 0.6,
                "train_loss": 0.5, "test_loss": 0.55, "test_accuracy": 0.82}],
    "metrics": {"wall_seconds": 1.5,
                "epsilon_targets": {"50%": 1.15, "25%": 0.575, "10%": 0.23, "5%": 0.115},
                "time_to_epsilon": {"50%": 0.75, "25%": 1.5, "10%": null, "5%": null},
                "epsilon_reached": {"50%": true, "25%": true, "10%": false, "5%": false},
                "accuracy_targets": {"80%": 0.8, "90%": 0.9},
                "time_to_accuracy": {"80%": 1.5, "90%": null}},
    "work": {"gradients": 200, "samples": 6400, "contributed": 190, "passes": 1.0667,
             "lost": {"dropped": 4, "abandoned": 5, "discarded_at_end": 1, "total": 10}},
    "staleness": {"mean": 0.75, "p99": 3, "max": 7},
    "contention": {"failed_attempts_per_update": {"mean": 0.125}, "dropped_gradients": 4,
                   "peak_live_vectors": 5},
    "throughput": {"samples_per_second": 2133.4},
    "resources": {"peak_rss_bytes": 104857600}
  })");
}

std::string run_summary(const json& doc) { return psgd::run_summary(read_run_record(doc)); }
std::string status_words(const json& doc) { return psgd::status_words(read_run_record(doc)); }

bool summary_has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(RunSummary, SaysHowManyEpsilonTargetsWereReachedLoosestFirst) {
  const std::string s = run_summary(fixture());
  EXPECT_TRUE(summary_has(s,
                          "not_converged: 2 of 4 epsilon targets reached "
                          "(50% at 0.750 s, 25% at 1.500 s, 10% not reached, 5% not reached)"))
      << s;
  EXPECT_TRUE(summary_has(s, "test accuracy 80% at 1.500 s, 90% not reached")) << s;
  json all = fixture();
  all["status"] = "converged";
  all["metrics"]["epsilon_reached"] = {{"50%", true}};
  EXPECT_EQ(status_words(all), "converged: all 1 epsilon targets reached");
  all["status"] = "diverged";
  EXPECT_EQ(status_words(all), "diverged");
}

TEST(RunSummary, ShowsStalenessContentionAndLiveVectors) {
  const std::string s = run_summary(fixture());
  EXPECT_TRUE(summary_has(s, "mean 0.75, p99 3, max 7")) << s;
  EXPECT_TRUE(
      summary_has(s, "0.125 failed attempts per update, 4 dropped gradients, peak 5 live vectors"))
      << s;
  EXPECT_TRUE(summary_has(s, "2133 samples/s")) << s;
  EXPECT_TRUE(summary_has(s, "peak RSS 100 MiB")) << s;
  json no_pool = fixture();
  no_pool["contention"]["peak_live_vectors"] = nullptr;  // every method but Leashed
  no_pool["staleness"]["p99"] = nullptr;                 // in the overflow bin
  const std::string t = run_summary(no_pool);
  EXPECT_FALSE(summary_has(t, "live vectors")) << t;
  EXPECT_TRUE(summary_has(t, "p99 in the overflow bin")) << t;
}

TEST(RunSummary, ShowsPassesAndTheLostFraction) {
  const std::string s = run_summary(fixture());
  EXPECT_TRUE(
      summary_has(s,
                  "  work        1.07 passes, 200 gradients, 5.0% lost (4 dropped, 5 abandoned, "
                  "1 discarded at the end)"))
      << s;
  json old = fixture();
  old.erase("work");  // a document without the block (schema 1): dashes, not zeros
  EXPECT_TRUE(summary_has(run_summary(old), "work        - passes, - gradients, -% lost"))
      << run_summary(old);
}

TEST(RunSummary, WarnsOnlyWhenTheLoadAverageExceedsTheHardwareThreads) {
  EXPECT_FALSE(summary_has(run_summary(fixture()), "warning: load average"));
  json busy = fixture();
  busy["context"]["load_avg"] = {3.25, 2.0, 1.0};
  const std::string s = run_summary(busy);
  EXPECT_TRUE(summary_has(s, "warning: load average 3.25")) << s;
  EXPECT_TRUE(summary_has(s, "above the 2 hardware threads")) << s;
  busy["context"]["load_avg"] = nullptr;  // getloadavg failed: nothing to warn about
  EXPECT_FALSE(summary_has(run_summary(busy), "warning: load average"));
}

TEST(RunSummary, ADocumentWithoutMetricsStillPrints) {
  const std::string s = run_summary(json::parse(R"({"status": "converged"})"));
  EXPECT_TRUE(summary_has(s, "status")) << s;
  EXPECT_TRUE(summary_has(s, "staleness   mean -")) << s;
}

}  // namespace
}  // namespace psgd
