// Unit tests of comparing training runs (harness/compare/training_results.hpp): run documents
// and sweep folders read into per-point measures, and the verdicts on two builds' repetitions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "harness/compare/compare_report.hpp"
#include "harness/compare/comparison.hpp"
#include "harness/compare/result_set.hpp"
#include "harness/compare/training_results.hpp"
#include "harness/test/run_document_fixture.hpp"
#include "models/test/test_support.hpp"

namespace psgd {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

ResultSet point_set(int repetitions, double slowdown, const std::string& build = "b0") {
  std::vector<json> docs;
  for (int r = 0; r < repetitions; ++r)
    docs.push_back(test::run_document("threads-1", r, slowdown, build));
  return parse_run_documents(docs, {}, build);
}

const Measure* find(const ResultSet& set, const std::string& name) {
  for (const Measure& m : set.measures) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const ComparisonRow& row(const Comparison& c, const std::string& name) {
  for (const ComparisonRow& r : c.rows) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no row " << name;
  return c.rows.front();
}

TEST(CompareTraining, ReadsEachPointsMeasuresPerRepetition) {
  const ResultSet set = point_set(5, 1.0);
  EXPECT_EQ(set.format, kTrainingFormat);
  EXPECT_EQ(set.machine, "Test CPU x 2");
  EXPECT_EQ(set.git_sha, "0123456789abcdef");
  EXPECT_EQ(set.build, "build b0 (git 0123456789ab)");
  EXPECT_EQ(set.date, "2026-12-06T06:00:04Z");  // the latest run
  ASSERT_EQ(set.measures.size(), 4u);           // the 20% target no run reached is absent
  EXPECT_EQ(set.measures[0].name, "threads-1/time_to_epsilon/50%");
  EXPECT_EQ(set.measures[1].name, "threads-1/final_train_loss");
  EXPECT_EQ(set.measures[2].name, "threads-1/final_test_accuracy");
  EXPECT_EQ(set.measures[3].name, "threads-1/samples_per_second");
  for (const Measure& m : set.measures) EXPECT_EQ(m.samples.size(), 5u) << m.name;
  EXPECT_FALSE(set.measures[0].higher_is_better);
  EXPECT_TRUE(set.measures[2].higher_is_better);
  EXPECT_TRUE(set.measures[3].higher_is_better);
}

TEST(CompareTraining, AMissedTargetOrADivergedLossIsTheWorstValueACrashOrAStopIsNoRepetition) {
  std::vector<json> docs;
  for (int r = 0; r < 3; ++r) docs.push_back(test::run_document("p", r));
  docs[1]["metrics"]["time_to_epsilon"]["50%"] = nullptr;  // not reached
  docs[2]["metrics"]["final_train_loss"] = "nan";          // diverged: no number
  json crashed = test::run_document("p", 3);
  crashed["status"] = "crashed";
  crashed.erase("metrics");
  crashed.erase("throughput");
  docs.push_back(crashed);
  json stopped = test::run_document("p", 4);  // SIGINT: metrics of part of the budget
  stopped["status"] = "stopped";
  docs.push_back(stopped);
  const ResultSet set = parse_run_documents(docs, {}, "x");
  const auto infinities = [](const Measure* m) {
    return std::count_if(m->samples.begin(), m->samples.end(),
                         [](double v) { return std::isinf(v) && v > 0.0; });
  };
  const Measure* time = find(set, "p/time_to_epsilon/50%");
  ASSERT_NE(time, nullptr);
  EXPECT_EQ(time->samples.size(), 3u);
  EXPECT_EQ(infinities(time), 1);
  const Measure* loss = find(set, "p/final_train_loss");
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->samples.size(), 3u);
  EXPECT_EQ(infinities(loss), 1);
  EXPECT_EQ(find(set, "p/samples_per_second")->samples.size(), 3u);
  EXPECT_EQ(find(set, "p/time_to_epsilon/20%"), nullptr);  // no repetition reached it
}

// The bias a missed target must not give: a build whose fast repetitions reach the target and
// whose others miss it is not better than one that reaches it every time; missing it in most
// repetitions is worse.
TEST(CompareTraining, ABuildThatMissesTheTargetMoreOftenIsNeverBetter) {
  const auto with_misses = [](int misses, const std::string& build) {
    std::vector<json> docs;
    for (int r = 0; r < 6; ++r) {
      docs.push_back(test::run_document("threads-1", r, r < 6 - misses ? 0.8 : 1.0, build));
      if (r >= 6 - misses) docs.back()["metrics"]["time_to_epsilon"]["50%"] = nullptr;
    }
    return parse_run_documents(docs, {}, build);
  };
  const ResultSet always = with_misses(0, "b0");
  const Comparison some = compare_results(always, with_misses(2, "b1"), {});
  EXPECT_NE(row(some, "threads-1/time_to_epsilon/50%").verdict, Verdict::kImproved);
  const ResultSet mostly_missed = with_misses(5, "b1");
  const Comparison most = compare_results(always, mostly_missed, {});
  EXPECT_EQ(row(most, "threads-1/time_to_epsilon/50%").verdict, Verdict::kRegression);
  EXPECT_THAT(format_text_report(most, always, mostly_missed), HasSubstr("missed (6)"));
}

// A point pairs by its id, which names only the sweep's axes: the same spec at another scale
// must be refused, not compared.
TEST(CompareTraining, APointThatRanOtherSettingsOnTheOtherSideIsRefused) {
  const auto with_epochs = [](const std::string& epochs, const std::string& build) {
    std::vector<json> docs;
    for (int r = 0; r < 3; ++r) {
      docs.push_back(test::run_document("threads-1", r, 1.0, build));
      docs.back()["sweep"]["options"] = {{"epochs", epochs}, {"threads", "1"}};
    }
    return parse_run_documents(docs, {}, build);
  };
  const ResultSet quick = with_epochs("0.5", "b0");
  EXPECT_NO_THROW(compare_results(quick, with_epochs("0.5", "b1"), {}));
  try {
    (void)compare_results(quick, with_epochs("5", "b1"), {});
    ADD_FAILURE() << "compared two scales";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("point threads-1 ran other settings"));
    EXPECT_THAT(e.what(), HasSubstr("epochs 0.5 vs 5"));
  }
  std::vector<json> mixed;
  for (int r = 0; r < 2; ++r) {
    mixed.push_back(test::run_document("threads-1", r));
    mixed.back()["sweep"]["options"] = {{"epochs", r == 0 ? "0.5" : "5"}};
  }
  EXPECT_THROW((void)parse_run_documents(mixed, {}, "x"), ConfigError);
}

TEST(CompareTraining, IdenticalBuildsShowNoDifference) {
  const Comparison c = compare_results(point_set(5, 1.0), point_set(5, 1.0, "b1"), {});
  EXPECT_TRUE(c.training);
  EXPECT_EQ(c.rows.size(), 4u);
  EXPECT_EQ(c.count(Verdict::kSame), 4u);
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_THAT(summary_line(c),
              HasSubstr("4 compared: 0 WORSE, 0 better, 4 same, 0 not comparable -> PASS"));
}

TEST(CompareTraining, ThirtyPercentSlowerBuildIsWorse) {
  const ResultSet base = point_set(5, 1.0);
  const ResultSet slow = point_set(5, 1.3, "b1");
  const Comparison c = compare_results(base, slow, {});
  EXPECT_EQ(row(c, "threads-1/time_to_epsilon/50%").verdict, Verdict::kRegression);
  EXPECT_EQ(row(c, "threads-1/samples_per_second").verdict, Verdict::kRegression);
  EXPECT_NEAR(row(c, "threads-1/samples_per_second").worse_by, 0.3, 1e-9);
  // The training itself is the same: loss and accuracy do not move.
  EXPECT_EQ(row(c, "threads-1/final_train_loss").verdict, Verdict::kSame);
  EXPECT_EQ(row(c, "threads-1/final_test_accuracy").verdict, Verdict::kSame);
  EXPECT_EQ(c.exit_code(), 1);
  const std::string text = format_text_report(c, base, slow);
  EXPECT_THAT(text, HasSubstr("WORSE (+30%)"));
  EXPECT_THAT(text, HasSubstr("point/measure"));
  EXPECT_THAT(text, HasSubstr("(5)"));  // the repetitions behind each median
  EXPECT_THAT(text, HasSubstr("build b1"));
  EXPECT_THAT(text, HasSubstr("2 WORSE, 0 better, 2 same, 0 not comparable -> FAIL"));
  EXPECT_THAT(format_markdown_report(c, base, slow), HasSubstr("**WORSE (+30%)**"));
  // And the other way round it is better, which fails nothing.
  const Comparison back = compare_results(slow, base, {});
  EXPECT_EQ(back.count(Verdict::kImproved), 2u);
  EXPECT_EQ(back.exit_code(), 0);
  EXPECT_THAT(format_text_report(back, slow, base), HasSubstr("better (-23%)"));
}

TEST(CompareTraining, TooFewRepetitionsOrOneSidedMeasuresAreNotComparable) {
  // Two repetitions a side can never reach p < 0.05: a 30% slowdown is not judged.
  const Comparison few = compare_results(point_set(2, 1.0), point_set(2, 1.3, "b1"), {});
  EXPECT_EQ(few.count(Verdict::kTooFew), 4u);
  EXPECT_EQ(few.exit_code(), 0);
  EXPECT_THAT(summary_line(few), HasSubstr("0 WORSE, 0 better, 0 same, 4 not comparable"));
  // A target only the new build reached.
  ResultSet now = point_set(5, 1.0, "b1");
  ResultSet base = now;
  base.measures.erase(base.measures.begin());
  const Comparison one_sided = compare_results(base, now, {});
  EXPECT_EQ(row(one_sided, "threads-1/time_to_epsilon/50%").verdict, Verdict::kNew);
  EXPECT_THAT(format_text_report(one_sided, base, now), HasSubstr("not comparable (new only)"));
}

TEST(CompareTraining, ARunDocumentWithoutASweepBlockIsThePointRun) {
  json doc = test::run_document("p", 0);
  doc.erase("sweep");
  const ResultSet set = parse_result_set(doc, "run.json");
  EXPECT_EQ(set.format, kTrainingFormat);
  EXPECT_EQ(set.measures.front().name, "run/time_to_epsilon/50%");
  EXPECT_EQ(set.build, "unrecorded build (git 0123456789ab)");
}

TEST(CompareTraining, RejectsWhatIsNoComparableSetOfRuns) {
  json a = test::run_document("p", 0);
  EXPECT_THAT(test::config_error_of([&] {
                parse_run_documents({a, a}, {"a", "b"}, "x");
              }),
              HasSubstr("b: run p__r0-abcdef appears twice"));
  json other = test::run_document("p", 1);
  other["context"]["cpu"] = "Other CPU";
  EXPECT_THAT(test::config_error_of([&] {
                parse_run_documents({a, other}, {"a", "b"}, "x");
              }),
              HasSubstr("b: ran on Other CPU x 2, an earlier document on Test CPU x 2"));
  EXPECT_THAT(test::config_error_of([&] {
                parse_run_documents({json{{"status", "x"}}}, {"h"}, "x");
              }),
              HasSubstr("h: not a run document"));
  json crashed = a;
  crashed.erase("metrics");
  crashed.erase("throughput");
  EXPECT_THAT(test::config_error_of([&] { parse_run_documents({crashed}, {"c"}, "x"); }),
              HasSubstr("x: no run with a measure"));
}

// Where nlohmann's parser stops on text (0 when it parses).
std::size_t parse_error_byte(const std::string& text) {
  try {
    const json doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return e.byte;
  }
  return 0;
}

TEST(CompareTraining, ATruncatedDocumentIsOneLineThatSaysSo) {
  const std::string text = test::run_document("p", 0).dump();
  const std::string cut = text.substr(0, text.size() / 2);
  EXPECT_EQ(json_error_line("r.json", cut, parse_error_byte(cut)),
            "r.json: not valid JSON: it ends at byte " + std::to_string(cut.size()) +
                " before the document is complete (truncated?)");
  const std::string bad = "{\"a\": x}";
  const std::string message = json_error_line("r.json", bad, parse_error_byte(bad));
  EXPECT_EQ(message, "r.json: not valid JSON at byte 7 of 8");
  EXPECT_THAT(message, Not(HasSubstr("json.exception")));
}

class CompareTrainingFolder : public test::ScratchDirTest {};

TEST_F(CompareTrainingFolder, ReadsTheRunsButNotSweepJsonNorSubfoldersNorLaterCopies) {
  test::write_sweep_folder(scratch_, 2, 3, 1.0, "b0");
  // A superseded build's results sit below; a run moved there twice has a .2 copy.
  test::write_sweep_folder(scratch_ / "superseded" / "old", 1, 3, 2.0, "old");
  std::filesystem::copy_file(scratch_ / "superseded" / "old" / "threads-1__r0-abcdef.json",
                             scratch_ / "superseded" / "old" / "threads-1__r0-abcdef.2.json");
  const ResultSet set = read_result_set(scratch_.string());
  EXPECT_EQ(set.measures.size(), 8u);
  for (const Measure& m : set.measures) EXPECT_EQ(m.samples.size(), 3u) << m.name;
  const ResultSet old = read_result_set((scratch_ / "superseded" / "old").string());
  EXPECT_EQ(old.measures.size(), 4u);
  EXPECT_EQ(old.build, "build old (git 0123456789ab)");
  EXPECT_EQ(old.measures.front().samples.size(), 3u);
}

TEST_F(CompareTrainingFolder, AFolderWithoutRunsOrWithABrokenOneIsBadInput) {
  EXPECT_THAT(test::config_error_of([&] { read_result_set(scratch_.string()); }),
              HasSubstr("no run document (<run-id>.json) in the folder"));
  test::write_sweep_folder(scratch_, 1, 2, 1.0, "b0");
  const std::string cut = R"({"schema_version": 2, "sta)";
  std::ofstream(scratch_ / "threads-1__r9-abcdef.json") << cut;
  EXPECT_THAT(
      test::config_error_of([&] { read_result_set(scratch_.string()); }),
      HasSubstr("threads-1__r9-abcdef.json: not valid JSON: it ends at byte " +
                std::to_string(cut.size()) + " before the document is complete (truncated?)"));
}

}  // namespace
}  // namespace psgd
