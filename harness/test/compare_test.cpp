// The statistics and verdicts of `psgd compare`: the Mann-Whitney U test against scipy's values,
// the verdict rules on synthetic samples, and the comparator on inputs made from the measured
// spread of experiments/nightly/baseline.json (a 30% slowdown is flagged, noise alone is not, a
// changed deterministic loss is a correctness regression).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/random.hpp"
#include "harness/compare/comparison.hpp"
#include "harness/compare/mann_whitney.hpp"
#include "harness/compare/result_set.hpp"
#include "models/test/test_support.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// Reference p-values: scipy.stats.mannwhitneyu 1.10.1 (two-sided), method as named.
TEST(MannWhitney, ExactMatchesScipy) {
  const std::vector<double> a{1, 2, 3, 4, 5};
  const std::vector<double> b{6, 7, 8, 9, 10};
  const MannWhitneyResult separated = mann_whitney_u(a, b);
  EXPECT_TRUE(separated.exact);
  EXPECT_DOUBLE_EQ(separated.u, 0.0);
  EXPECT_NEAR(separated.p_value, 0.007936507936507936, 1e-15);

  const std::vector<double> x{1.1, 2.3, 3.7, 4.2, 5.9, 6.4};
  const std::vector<double> y{3.0, 4.5, 5.1, 7.7, 8.2, 9.9, 10.4};
  const MannWhitneyResult r = mann_whitney_u(x, y);
  EXPECT_DOUBLE_EQ(r.u, 8.0);
  EXPECT_NEAR(r.p_value, 0.07342657342657342, 1e-12);
  // The test is symmetric: swapping the samples gives U' = n1*n2 - U and the same p.
  const MannWhitneyResult swapped = mann_whitney_u(y, x);
  EXPECT_DOUBLE_EQ(swapped.u, 42.0 - 8.0);
  EXPECT_NEAR(swapped.p_value, r.p_value, 1e-12);
}

TEST(MannWhitney, AsymptoticWithTiesMatchesScipy) {
  const std::vector<double> x{1, 2, 2, 3, 3, 3, 4, 5};
  const std::vector<double> y{2, 3, 4, 4, 5, 5, 6, 7, 8};
  const MannWhitneyResult r = mann_whitney_u(x, y);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 13.5);
  EXPECT_NEAR(r.p_value, 0.03186670542703166, 1e-9);
}

TEST(MannWhitney, LargeSamplesUseTheNormalApproximation) {
  // 60 and 55 distinct values: x = 0, 2, 4, ... interleaved below y = 1, 3, 5, ... + shift.
  std::vector<double> x;
  std::vector<double> y;
  for (int i = 0; i < 60; ++i) x.push_back(2.0 * i);
  for (int i = 0; i < 55; ++i) y.push_back(2.0 * i + 1.0);
  const MannWhitneyResult r = mann_whitney_u(x, y);
  EXPECT_FALSE(r.exact);
  // Each x_i beats the y_j < x_i: sum over i of min(i, 55) = 0+1+...+55 + 4*55 = 1760.
  EXPECT_DOUBLE_EQ(r.u, 1760.0);
  EXPECT_GT(r.p_value, 0.05);
  EXPECT_LT(r.p_value, 1.0);
}

TEST(MannWhitney, DegenerateInputs) {
  const std::vector<double> same{3, 3, 3, 3};
  EXPECT_DOUBLE_EQ(mann_whitney_u(same, same).p_value, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney_u({}, same).p_value, 1.0);
  EXPECT_DOUBLE_EQ(min_two_sided_p(3, 3), 0.1);
  EXPECT_NEAR(min_two_sided_p(5, 5), 2.0 / 252.0, 1e-15);
  EXPECT_DOUBLE_EQ(min_two_sided_p(1, 1), 1.0);
}

Measure measure(std::vector<double> samples, bool higher_is_better = false) {
  Measure m;
  m.name = "b";
  m.unit = "us";
  m.higher_is_better = higher_is_better;
  m.samples = std::move(samples);
  return m;
}

TEST(CompareVerdict, RulesOnHandMadeSamples) {
  const CompareOptions o;
  const Measure base = measure({100, 101, 99, 100.5, 99.5, 100.2, 99.8, 100.1});
  EXPECT_EQ(compare_measure(base, base, o).verdict, Verdict::kSame);
  // 30% slower in time: regression, worse_by 0.3.
  const ComparisonRow slow = compare_measure(
      base, measure({130, 131.3, 128.7, 130.65, 129.35, 130.26, 129.74, 130.13}), o);
  EXPECT_EQ(slow.verdict, Verdict::kRegression);
  EXPECT_NEAR(slow.worse_by, 0.3, 1e-9);
  EXPECT_NEAR(*slow.ratio, 1.3, 1e-9);
  // Significant but small (3%): not a regression.
  EXPECT_EQ(
      compare_measure(base, measure({103, 104, 102, 103.5, 102.5, 103.2, 102.8, 103.1}), o).verdict,
      Verdict::kSame);
  // Faster by 30%: improved.
  EXPECT_EQ(
      compare_measure(base, measure({70, 70.7, 69.3, 70.3, 69.6, 70.1, 69.9, 70.05}), o).verdict,
      Verdict::kImproved);
  // A rate that fell to 1/1.3 is the same 30% slowdown.
  const Measure rate = measure({1000, 1010, 990, 1005}, /*higher_is_better=*/true);
  const ComparisonRow slower_rate =
      compare_measure(rate, measure({769.2, 776.9, 761.5, 773.1}, true), o);
  EXPECT_EQ(slower_rate.verdict, Verdict::kRegression);
  EXPECT_NEAR(slower_rate.worse_by, 0.3, 1e-3);
  // Three against three can never reach p < 0.05.
  EXPECT_EQ(compare_measure(measure({1, 1.1, 0.9}), measure({5, 5.1, 4.9}), o).verdict,
            Verdict::kTooFew);
  // A file's own min_effect raises the bar for that benchmark.
  Measure noisy = base;
  noisy.min_effect = 0.5;
  EXPECT_EQ(compare_measure(noisy,
                            measure({130, 131.3, 128.7, 130.65, 129.35, 130.26, 129.74, 130.13}), o)
                .verdict,
            Verdict::kSame);
}

// ---- inputs drawn from the spread measured on this machine ----

json load_baseline() {
  std::ifstream in(std::string(PSGD_SOURCE_DIR) + "/experiments/nightly/baseline.json");
  EXPECT_TRUE(in.good()) << "experiments/nightly/baseline.json is missing (make nightly-baseline)";
  return in.good() ? json::parse(in) : json::object();
}

// A copy of `doc` whose every benchmark has fresh samples: the baseline median times
// exp(spread * N(0, 1)) (times `slowdown` in time terms), as many as the baseline has, where
// spread is the robust log spread measured in the baseline's own repetitions (the noise model
// psgd compare assumes: multiplicative).
json redraw(const json& doc, std::uint64_t seed, double slowdown) {
  json out = doc;
  NormalSource normal(seed);
  for (json& b : out["benchmarks"]) {
    const auto samples = b["samples"].get<std::vector<double>>();
    const double spread = relative_spread(samples);
    const double med = median(samples);
    const double factor = b["higher_is_better"].get<bool>() ? 1.0 / slowdown : slowdown;
    json fresh = json::array();
    for (std::size_t i = 0; i < samples.size(); ++i) {
      fresh.push_back(med * factor * std::exp(spread * normal.next()));
    }
    b["samples"] = fresh;
  }
  return out;
}

TEST(CompareMeasuredNoise, IdenticalInputsPass) {
  const json doc = load_baseline();
  if (doc.empty()) return;
  const ResultSet set = parse_result_set(doc, "baseline.json");
  const Comparison c = compare_results(set, set, CompareOptions{});
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(c.count(Verdict::kRegression) + c.count(Verdict::kChanged), 0U);
  EXPECT_EQ(c.count(Verdict::kUnchanged), set.deterministic.size());
}

TEST(CompareMeasuredNoise, NoiseFromTheMeasuredSpreadPasses) {
  const json doc = load_baseline();
  if (doc.empty()) return;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const ResultSet base = parse_result_set(redraw(doc, 2 * seed, 1.0), "base");
    const ResultSet now = parse_result_set(redraw(doc, 2 * seed + 1, 1.0), "now");
    const Comparison c = compare_results(base, now, CompareOptions{});
    for (const ComparisonRow& r : c.rows) {
      EXPECT_NE(r.verdict, Verdict::kRegression)
          << "seed " << seed << ": " << r.name << " worse by " << r.worse_by << ", p "
          << r.p_value.value_or(1.0);
    }
    EXPECT_EQ(c.exit_code(), 0) << "seed " << seed;
  }
}

// Every benchmark whose repetitions are quiet enough for a 30% slowdown to stand out (minimum
// effect at most 20%: all CPU-timed micro-benchmarks here) must be flagged; the noisier ones (the
// wall-clock end-to-end runs) may not be, by design, but they must not be most of them.
TEST(CompareMeasuredNoise, ThirtyPercentSlowdownIsFlagged) {
  const json doc = load_baseline();
  if (doc.empty()) return;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const ResultSet base = parse_result_set(redraw(doc, 2 * seed, 1.0), "base");
    const ResultSet now = parse_result_set(redraw(doc, 2 * seed + 1, 1.3), "now");
    const Comparison c = compare_results(base, now, CompareOptions{});
    EXPECT_EQ(c.exit_code(), 1);
    std::size_t quiet = 0;
    std::size_t micro = 0;
    for (const ComparisonRow& r : c.rows) {
      if (r.deterministic) continue;
      micro += r.name.starts_with("micro/");
      if (r.min_effect > 0.2) continue;
      ++quiet;
      EXPECT_EQ(r.verdict, Verdict::kRegression)
          << "seed " << seed << ": " << r.name << " worse by " << r.worse_by << ", p "
          << r.p_value.value_or(1.0) << ", min effect " << r.min_effect;
    }
    EXPECT_GE(4 * quiet, 3 * micro) << "fewer than 3/4 of the micro-benchmarks can see a 30% "
                                       "slowdown: the baseline is too noisy";
  }
}

TEST(CompareMeasuredNoise, ChangedDeterministicLossIsACorrectnessRegression) {
  json doc = load_baseline();
  if (doc.empty()) return;
  ASSERT_FALSE(doc["deterministic"].empty());
  const ResultSet base = parse_result_set(doc, "base");
  json& loss = doc["deterministic"][0]["values"][0];
  loss = std::nextafter(loss.get<double>(), 1e9);  // one ulp: any change counts
  const ResultSet now = parse_result_set(doc, "now");
  const Comparison c = compare_results(base, now, CompareOptions{});
  EXPECT_EQ(c.exit_code(), 1);
  EXPECT_EQ(c.count(Verdict::kChanged), 1U);
  EXPECT_EQ(c.count(Verdict::kRegression), 0U);  // the timings are the same files'
}

// ---- reading the two formats ----

json google_benchmark_doc() {
  return json::parse(R"({
    "context": {"num_cpus": 2, "mhz_per_cpu": 2600, "cpu_model": "Test CPU"},
    "benchmarks": [
      {"name": "BM_A", "run_name": "BM_A", "run_type": "iteration", "repetition_index": 0,
       "real_time": 10.0, "cpu_time": 9.0, "time_unit": "ns"},
      {"name": "BM_A", "run_name": "BM_A", "run_type": "iteration", "repetition_index": 1,
       "real_time": 11.0, "cpu_time": 9.5, "time_unit": "ns"},
      {"name": "BM_A_median", "run_name": "BM_A", "run_type": "aggregate",
       "aggregate_name": "median", "real_time": 10.5, "cpu_time": 9.25, "time_unit": "ns"},
      {"name": "BM_B/manual_time", "run_name": "BM_B/manual_time", "run_type": "iteration",
       "real_time": 3.0, "cpu_time": 7.0, "time_unit": "ms"}
    ]})");
}

TEST(CompareReader, GoogleBenchmarkRepetitionsAndTimes) {
  const ResultSet s = parse_result_set(google_benchmark_doc(), "gb.json");
  EXPECT_EQ(s.format, "google-benchmark");
  EXPECT_EQ(s.machine, "Test CPU x 2");
  ASSERT_EQ(s.measures.size(), 2U);
  EXPECT_EQ(s.measures[0].samples, (std::vector<double>{9.0, 9.5}));  // cpu_time, no aggregate
  EXPECT_EQ(s.measures[1].samples, (std::vector<double>{3.0}));       // manual: real_time
  EXPECT_EQ(s.measures[1].unit, "ms");
  EXPECT_FALSE(s.measures[0].higher_is_better);
}

TEST(CompareReader, RejectsMalformedDocuments) {
  const auto rejects = [](const json& doc, const std::string& says) {
    try {
      (void)parse_result_set(doc, "f.json");
      ADD_FAILURE() << "accepted " << doc.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
    }
  };
  rejects(json::array(), "not a JSON object");
  rejects(json{{"hello", 1}}, "neither Google Benchmark JSON");
  json gb = google_benchmark_doc();
  gb["benchmarks"][0]["cpu_time"] = "fast";
  rejects(gb, "must be a number");
  json empty = google_benchmark_doc();
  empty["benchmarks"] = json::array();
  rejects(empty, "no benchmark");
  const json nightly = {
      {"schema_version", 1},
      {"kind", "psgd-nightly"},
      {"context", {{"cpu", "X"}, {"hardware_threads", 2}}},
      {"benchmarks",
       {{{"name", "micro/a"}, {"unit", "ns"}, {"higher_is_better", false}, {"samples", {1.0}}}}},
      {"deterministic", json::array()}};
  EXPECT_EQ(parse_result_set(nightly, "n.json").machine, "X x 2");
  json bad = nightly;
  bad["schema_version"] = 2;
  rejects(bad, "schema_version 2");
  bad = nightly;
  bad["benchmarks"][0]["samples"] = json::array();
  rejects(bad, "non-empty array");
  bad = nightly;
  bad["benchmarks"][0]["headline"] = "yes";
  rejects(bad, "malformed entry");
  bad = nightly;
  bad["benchmarks"].push_back(bad["benchmarks"][0]);
  rejects(bad, "appears twice");
  bad = nightly;
  bad.erase("deterministic");
  rejects(bad, "has no \"deterministic\"");
  // Negated or zero samples are no measurement: compared as ratios they once passed as "same".
  for (const double sample : {-1.0, 0.0, -0.0}) {
    bad = nightly;
    bad["benchmarks"][0]["samples"] = {1.0, sample};
    rejects(bad, "must be positive");
    gb = google_benchmark_doc();
    gb["benchmarks"][0]["cpu_time"] = sample;
    rejects(gb, "must be positive");
  }
}

// A path that is no result file is one line and exit 2 (ConfigError), never a read without end:
// /dev/zero once grew psgd compare at 135-360 MB/s until it was killed.
TEST(CompareReader, ReadsAtMostTheLimitAndNamesWhatIsWrongWithThePath) {
  const auto rejects = [](const std::string& path, const std::string& says) {
    try {
      (void)read_result_set(path);
      ADD_FAILURE() << "accepted " << path;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  rejects("/dev/zero", "larger than 64 MiB");
  // A folder is read as training runs: one without run documents says so.
  rejects(psgd::test::scratch_dir("psgd_compare_empty_folder").string(), "no run document");
  rejects("/nonexistent/result.json", "No such file");
}

TEST(CompareReader, DifferentMachinesAreRefusedUnlessAllowed) {
  const ResultSet a = parse_result_set(google_benchmark_doc(), "a.json");
  json other = google_benchmark_doc();
  other["context"]["cpu_model"] = "Other CPU";
  const ResultSet b = parse_result_set(other, "b.json");
  EXPECT_THROW((void)compare_results(a, b, CompareOptions{}), ConfigError);
  CompareOptions allow;
  allow.allow_different_machine = true;
  EXPECT_EQ(compare_results(a, b, allow).exit_code(), 0);
}

}  // namespace
}  // namespace psgd
