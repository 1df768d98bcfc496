// The run's record and its document: the reader is the writer's inverse, non-finite numbers are
// null, absent blocks stay absent, targets are listed loosest first.
#include "harness/run/run_record.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "harness/run/report.hpp"

namespace psgd {
namespace {

using nlohmann::json;

HistogramRecord histogram(std::int64_t count) {
  return {count, 0.5, 3, 1, std::nullopt, {4, 2, 0, 1}, 4, 2, std::nullopt};
}

// A record with every typed field set, as make_run_record would fill it.
RunRecord full_record() {
  RunRecord r;
  r.status = "not_converged";
  r.stop_reason = "budget";
  r.context = {{"hardware_threads", 8}, {"load_avg", {1.5, 1.0, 0.5}}};
  r.config = {{"algo", "leashed"}, {"threads", 2}, {"batch", 32}, {"step", 0.05}};
  r.algorithm = {{"name", "leashed"}, {"pool", 6}};
  r.placement = nullptr;
  r.data = {"fashion-mnist", "idx", "[0,1]", 60000, 10000, 10, {1, 28, 28}};
  r.model = {"mlp:128", "relu", "he", "float32", 101770};
  r.oversubscribed = false;
  r.series = {{0, 0.0, 0.0, std::nullopt, 2.3, 2.3, 0.1}, {100, 1.0, 1.5, 0.6, 0.5, 0.55, 0.82}};
  MetricsRecord m;
  m.initial_train_loss = 2.3;
  m.final_train_loss = 0.5;
  m.final_test_loss = 0.55;
  m.final_test_accuracy = 0.82;
  m.wall_seconds = 1.5;
  m.epsilon = {{"50%", 1.15, 0.75, 40, true}, {"10%", 0.23, std::nullopt, std::nullopt, false}};
  m.epsilon_targets_reached = 1;
  m.accuracy = {{"80%", 0.8, 1.5, 100, std::nullopt}};
  r.metrics = m;
  r.checkpoints = CheckpointRecord{4, 4, 64, 1, 2, false, true};
  r.work = WorkDoneRecord{
      BudgetRecord{"epochs", 1.5, 100, 1}, 104, 3328, 100, LostRecord{3, 0, 1, 4}, 0.0555};
  r.updates = WorkRecord{100, 100, 104, 3, 1, 100};
  r.throughput = ThroughputRecord{66.5, 2133.25};
  r.staleness = histogram(7);
  r.staleness_per_worker = {histogram(3), histogram(4)};
  r.staleness_per_worker[0].worker = 0;
  r.staleness_per_worker[1].worker = 1;
  r.contention = ContentionRecord{5, 0, 2, 1, histogram(100), 0.01, 0.0, 3, 5};
  r.pace = PaceRecord{"none", "none", 0.0, 0.0, 0.0, {52, 52}, "fixed:5", 0.0006, 104};
  r.resources = ResourceRecord{104857600, 4096, 2.5, 1.66};
  return r;
}

TEST(RunRecord, ReadingADocumentBackWritesTheSameDocument) {
  const json doc = build_report(full_record());
  const RunRecord back = read_run_record(doc);
  EXPECT_EQ(build_report(back), doc);
  EXPECT_EQ(back.setup.algo, "leashed");
  EXPECT_EQ(back.setup.threads, 2);
  EXPECT_EQ(back.load_average, 1.5);
  EXPECT_EQ(back.hardware_threads, 8);
  ASSERT_TRUE(back.contention);
  EXPECT_EQ(back.contention->peak_live_vectors, 5);
  ASSERT_TRUE(back.staleness);
  EXPECT_FALSE(back.staleness->p99.has_value());  // null: in the overflow bin
  EXPECT_EQ(doc["staleness"]["p99"], nullptr);
  EXPECT_EQ(doc["staleness"]["per_worker"][1]["worker"], 1);
  EXPECT_FALSE(doc["staleness"].contains("worker"));
  ASSERT_TRUE(back.work);
  EXPECT_EQ(back.work->lost_fraction(), 4.0 / 104.0);
  EXPECT_EQ(doc["work"]["budget"]["kind"], "epochs");
  EXPECT_EQ(doc["work"]["lost"]["total"], 4);
  EXPECT_EQ(doc["work"]["passes"], 0.0555);
}

TEST(RunRecord, BudgetAmountsAreWholeForGradientsAndUpdates) {
  RunRecord r = full_record();
  r.work->budget = BudgetRecord{"gradients", 96.0, 96, 1};
  EXPECT_TRUE(build_report(r)["work"]["budget"]["amount"].is_number_integer());
  r.work->budget = BudgetRecord{"time", 2.5, std::nullopt, 3};
  const json doc = build_report(r);
  EXPECT_EQ(doc["work"]["budget"]["amount"], 2.5);
  EXPECT_TRUE(doc["work"]["budget"]["gradients"].is_null());
  EXPECT_EQ(read_run_record(doc).work->budget->gradients_per_update, 3);
}

TEST(RunRecord, NonFiniteNumbersAreWrittenAsNullAndReadAsAbsent) {
  RunRecord r = full_record();
  r.metrics->final_train_loss = std::numeric_limits<double>::quiet_NaN();
  r.metrics->epsilon[0].value = std::numeric_limits<double>::infinity();
  const json doc = build_report(r);
  EXPECT_EQ(doc["metrics"]["final_train_loss"], nullptr);
  EXPECT_EQ(doc["metrics"]["epsilon_targets"]["50%"], nullptr);
  EXPECT_EQ(doc.dump().find("nan"), std::string::npos);
  const RunRecord back = read_run_record(doc);
  EXPECT_FALSE(back.metrics->final_train_loss.has_value());
  EXPECT_FALSE(back.metrics->epsilon.back().value.has_value());  // unknown sorts as 0: last
}

TEST(RunRecord, ADocumentWithoutBlocksReadsAsAbsentNotAsZero) {
  const RunRecord r = read_run_record(json::parse(R"({"status": "crashed", "crash": {}})"));
  EXPECT_EQ(r.status, "crashed");
  EXPECT_FALSE(r.stop_reason);
  EXPECT_FALSE(r.metrics);
  EXPECT_FALSE(r.updates);
  EXPECT_FALSE(r.staleness);
  EXPECT_FALSE(r.contention);
  EXPECT_FALSE(r.resources);
  EXPECT_FALSE(r.oversubscribed);
  EXPECT_TRUE(r.series.empty());
  EXPECT_EQ(read_run_record(json::array()).status, "");  // not even an object: never throws
  // A key of another type (an older schema) is absent too.
  const RunRecord odd = read_run_record(json::parse(R"({"updates": {"applied": "many"}})"));
  ASSERT_TRUE(odd.updates);
  EXPECT_FALSE(odd.updates->applied.has_value());
}

TEST(RunRecord, TargetsAreListedLoosestFirstAndOnceEach) {
  MetricsRecord m;
  m.epsilon = {{"5%", 0.1, {}, {}, {}},
               {"50%", 1.0, {}, {}, {}},
               {"10%", 0.2, {}, {}, {}},
               {"50%", 1.0, {}, {}, {}}};
  m.accuracy = {{"90%", 0.9, {}, {}, {}}, {"100%", 1.0, {}, {}, {}}, {"85%", 0.85, {}, {}, {}}};
  order_targets(m);
  ASSERT_EQ(m.epsilon.size(), 3u);
  EXPECT_EQ(m.epsilon[0].label, "50%");
  EXPECT_EQ(m.epsilon[1].label, "10%");
  EXPECT_EQ(m.epsilon[2].label, "5%");
  EXPECT_EQ(m.accuracy[0].label, "85%");
  EXPECT_EQ(m.accuracy[2].label, "100%");
}

}  // namespace
}  // namespace psgd
