// Sweep specs: validation errors, scales, expansion and stable run ids; the results folder's
// documents and index; the child process with its timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "common/errors.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/progress.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using ::testing::HasSubstr;

ordered_json minimal_spec() {
  return ordered_json::parse(R"({
    "name": "tiny",
    "base": {"dataset": "synthetic-dense:256x4x2", "model": "linear", "updates": 20},
    "axes": {"threads": [1, 2], "batch": [8, 16, 32]},
    "repetitions": 2,
    "timeout_seconds": 30,
    "scales": {
      "quick": {"axes": {"batch": [8]}, "repetitions": 1},
      "full": {"base": {"updates": 200, "model": null}, "axes": {"threads": [1, 2, 4]}, "seed_base": 100}
    }
  })");
}

// The ConfigError message parse_sweep_spec throws for doc (fails the test if none is thrown).
std::string spec_error(const ordered_json& doc, std::string_view scale = "") {
  try {
    (void)parse_sweep_spec(doc, scale);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << doc.dump();
  return "";
}

TEST(SweepSpec, UnknownTopLevelKeyListsValidKeys) {
  ordered_json doc = minimal_spec();
  doc["axis"] = ordered_json::object();
  const std::string msg = spec_error(doc);
  EXPECT_THAT(msg, HasSubstr("unknown key 'axis'"));
  for (const std::string& key : spec_keys()) EXPECT_THAT(msg, HasSubstr(key));
}

TEST(SweepSpec, UnknownAxisOptionListsValidOptions) {
  ordered_json doc = minimal_spec();
  doc["axes"]["thread"] = {1, 2};
  const std::string msg = spec_error(doc);
  EXPECT_THAT(msg, HasSubstr("unknown option 'thread'"));
  EXPECT_THAT(msg, HasSubstr("valid: "));
  for (const OptionSpec& o : run_options()) {
    const auto& owned = sweep_owned_options();
    if (std::find(owned.begin(), owned.end(), o.name) == owned.end()) {
      EXPECT_THAT(msg, HasSubstr(std::string(o.name)));
    }
  }
}

TEST(SweepSpec, UnknownBaseOptionIsAnError) {
  ordered_json doc = minimal_spec();
  doc["base"]["stepsize"] = 0.1;
  EXPECT_THAT(spec_error(doc), HasSubstr("unknown option 'stepsize'"));
}

TEST(SweepSpec, BadValueNamesTheKeyAndTheOptionsReason) {
  ordered_json doc = minimal_spec();
  doc["axes"]["threads"] = {1, 0};
  const std::string msg = spec_error(doc);
  EXPECT_THAT(msg, HasSubstr("axes.threads[1]"));
  EXPECT_THAT(msg, HasSubstr("--threads must be a positive integer"));

  doc = minimal_spec();
  doc["base"]["step"] = "fast";
  EXPECT_THAT(spec_error(doc), HasSubstr("base.step"));

  doc = minimal_spec();
  doc["axes"]["batch"] = {8, {1, 2}};
  EXPECT_THAT(spec_error(doc), HasSubstr("must be a string or number"));

  doc = minimal_spec();
  doc["axes"]["batch"] = ordered_json::array();
  EXPECT_THAT(spec_error(doc), HasSubstr("non-empty array"));
}

TEST(SweepSpec, FlagsTakeBooleans) {
  ordered_json doc = minimal_spec();
  doc["base"]["raw-pixels"] = "yes";
  EXPECT_THAT(spec_error(doc), HasSubstr("is a flag: true or false"));
  doc["base"]["raw-pixels"] = true;
  const SweepSpec spec = parse_sweep_spec(doc, "");
  const std::vector<std::string> args = expand(spec).front().run_args("x.json");
  EXPECT_NE(std::find(args.begin(), args.end(), "--raw-pixels"), args.end());
}

TEST(SweepSpec, TargetAccuracyIsARunOptionLikeAnyOther) {
  ordered_json doc = minimal_spec();
  doc["base"]["target-accuracy"] = "0.8,0.85";
  const std::vector<std::string> args =
      expand(parse_sweep_spec(doc, "")).front().run_args("x.json");
  EXPECT_NE(std::find(args.begin(), args.end(), "--target-accuracy=0.8,0.85"), args.end());
}

TEST(SweepSpec, OptionsTheSweepOwnsAreRejected) {
  for (const char* owned : {"seed", "out", "dry-run"}) {
    ordered_json doc = minimal_spec();
    doc["base"][owned] = owned == std::string("dry-run") ? ordered_json(true) : ordered_json("1");
    EXPECT_THAT(spec_error(doc), HasSubstr("set by the sweep itself")) << owned;
  }
}

TEST(SweepSpec, BadScaleListsTheScales) {
  const std::string msg = spec_error(minimal_spec(), "medium");
  EXPECT_THAT(msg, HasSubstr("unknown scale 'medium'"));
  EXPECT_THAT(msg, HasSubstr("quick, full"));

  ordered_json no_scales = minimal_spec();
  no_scales.erase("scales");
  EXPECT_THAT(spec_error(no_scales, "quick"), HasSubstr("the spec has no scales"));

  ordered_json bad_key = minimal_spec();
  bad_key["scales"]["quick"]["name"] = "other";
  const std::string key_msg = spec_error(bad_key, "quick");
  EXPECT_THAT(key_msg, HasSubstr("scales.quick: unknown key 'name'"));
  EXPECT_THAT(key_msg, HasSubstr("repetitions"));

  ordered_json bad_value = minimal_spec();
  bad_value["scales"]["full"]["axes"]["threads"] = {1, -2};
  EXPECT_THAT(spec_error(bad_value, "full"), HasSubstr("(scale full)"));
}

TEST(SweepSpec, OtherTopLevelErrors) {
  ordered_json doc = minimal_spec();
  doc.erase("name");
  EXPECT_THAT(spec_error(doc), HasSubstr("'name'"));
  doc = minimal_spec();
  doc["name"] = "a/b";
  EXPECT_THAT(spec_error(doc), HasSubstr("results folder"));
  doc = minimal_spec();
  doc["repetitions"] = 0;
  EXPECT_THAT(spec_error(doc), HasSubstr("repetitions"));
  doc = minimal_spec();
  doc["seeds"] = {1, 2, 3};
  EXPECT_THAT(spec_error(doc), HasSubstr("seeds has 3 entries"));
  doc = minimal_spec();
  doc["timeout_seconds"] = -1;
  EXPECT_THAT(spec_error(doc), HasSubstr("timeout_seconds"));
  EXPECT_THAT(spec_error(ordered_json::array()), HasSubstr("JSON object"));
}

TEST(SweepSpec, ScalesMergeBaseAndAxesKeyByKey) {
  const SweepSpec quick = parse_sweep_spec(minimal_spec(), "quick");
  EXPECT_EQ(quick.sweep_id(), "tiny-quick");
  ASSERT_EQ(quick.axes.size(), 2u);
  EXPECT_EQ(quick.axes[0].values.size(), 2u);  // threads kept
  EXPECT_EQ(quick.axes[1].values.size(), 1u);  // batch replaced
  EXPECT_EQ(quick.seeds, (std::vector<std::uint64_t>{1}));

  const SweepSpec full = parse_sweep_spec(minimal_spec(), "full");
  EXPECT_EQ(full.base.at("updates"), "200");
  EXPECT_FALSE(full.base.contains("model"));  // null removes a base key
  EXPECT_EQ(full.axes[0].values.size(), 3u);
  EXPECT_EQ(full.seeds, (std::vector<std::uint64_t>{100, 101}));

  const SweepSpec plain = parse_sweep_spec(minimal_spec(), "");
  EXPECT_EQ(plain.sweep_id(), "tiny");
  EXPECT_EQ(plain.scales, (std::vector<std::string>{"quick", "full"}));
  EXPECT_DOUBLE_EQ(plain.timeout_seconds, 30.0);
}

TEST(SweepSpec, ExpansionCountsPointsTimesRepetitionsRepetitionMajor) {
  const std::vector<PlannedRun> runs = expand(parse_sweep_spec(minimal_spec(), ""));
  ASSERT_EQ(runs.size(), 2u * 3u * 2u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(runs[i].repetition, 0);
  for (std::size_t i = 6; i < 12; ++i) EXPECT_EQ(runs[i].repetition, 1);
  EXPECT_EQ(runs[0].seed, 1u);
  EXPECT_EQ(runs[6].seed, 2u);
  // The last axis varies fastest.
  EXPECT_EQ(runs[0].options.at("batch"), "8");
  EXPECT_EQ(runs[1].options.at("batch"), "16");
  EXPECT_EQ(runs[3].options.at("threads"), "2");
  EXPECT_EQ(runs[0].point_id, runs[6].point_id);
  std::set<std::string> ids;
  for (const PlannedRun& r : runs) ids.insert(r.run_id);
  EXPECT_EQ(ids.size(), runs.size());
}

TEST(SweepSpec, RunIdsAreStableReadableAndTrackTheOptions) {
  const std::vector<PlannedRun> a = expand(parse_sweep_spec(minimal_spec(), ""));
  const std::vector<PlannedRun> b = expand(parse_sweep_spec(minimal_spec(), ""));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].run_id, b[i].run_id);
  EXPECT_TRUE(std::regex_match(a[0].run_id, std::regex(R"(threads-1_batch-8__r0-[0-9a-f]{6})")))
      << a[0].run_id;
  EXPECT_EQ(a[0].point_id, "threads-1_batch-8");

  ordered_json changed = minimal_spec();
  changed["base"]["updates"] =
      21;  // a spec edit: same slug, new hash, so old results are not reused
  const std::vector<PlannedRun> c = expand(parse_sweep_spec(changed, ""));
  EXPECT_EQ(c[0].point_id, a[0].point_id);
  EXPECT_NE(c[0].run_id, a[0].run_id);

  ordered_json reseeded = minimal_spec();
  reseeded["seed_base"] = 7;
  EXPECT_NE(expand(parse_sweep_spec(reseeded, ""))[0].run_id, a[0].run_id);
}

TEST(SweepSpec, BundlesExcludesAndNullValues) {
  ordered_json doc = minimal_spec();
  doc["axes"] = ordered_json::object();
  doc["base"].erase("updates");
  doc["axes"]["updates"] =
      ordered_json::parse(R"([{"updates": 10}, {"epochs": 0.5, "checkpoints": 2}])");
  doc["axes"]["threads"] = ordered_json::parse("[1, 2, null]");
  doc["exclude"] = ordered_json::parse(R"([{"threads": 2, "epochs": "0.5"}])");
  const SweepSpec spec = parse_sweep_spec(doc, "");
  const std::vector<PlannedRun> runs = expand(spec);
  // 2 x 3 points, minus the excluded one (null threads resolves to the default 1, so the
  // exclude rule for threads 2 does not match it).
  EXPECT_EQ(runs.size(), (2u * 3u - 1u) * 2u);
  EXPECT_EQ(runs[0].point_id, "updates-10_threads-1");
  EXPECT_EQ(runs[3].point_id, "updates-0.5-2_threads-1");
  EXPECT_EQ(runs[3].options.at("epochs"), "0.5");
  EXPECT_EQ(runs[3].options.at("checkpoints"), "2");
  EXPECT_FALSE(runs[2].options.contains("threads"));  // null: the option's default
  const std::vector<std::string> columns = index_option_columns(spec);
  EXPECT_EQ(columns[0], "updates");
  EXPECT_EQ(columns[1], "checkpoints");
  EXPECT_EQ(columns[2], "epochs");
  EXPECT_EQ(columns[3], "threads");
  EXPECT_NE(std::find(columns.begin(), columns.end(), "algo"), columns.end());
  EXPECT_EQ(option_text(runs[2], "threads"), "1");
}

TEST(SweepSpec, ExpandChecksEachPointsOptionsTogether) {
  ordered_json doc = minimal_spec();
  doc["axes"]["epochs"] = {1};  // with base updates: two budgets
  try {
    (void)expand(parse_sweep_spec(doc, ""));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("--epochs and --updates"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("point threads-1"));
  }
  ordered_json dup = minimal_spec();
  dup["axes"]["batch"] = {8, 8};
  EXPECT_THROW((void)expand(parse_sweep_spec(dup, "")), ConfigError);
}

TEST(SweepSpec, RunArgsCarryEveryOptionTheSeedAndTheOutput) {
  const PlannedRun run = expand(parse_sweep_spec(minimal_spec(), ""))[7];
  const std::vector<std::string> args = run.run_args("r/x.json.part");
  const std::vector<std::string> want = {"--batch=16",         "--dataset=synthetic-dense:256x4x2",
                                         "--model=linear",     "--threads=1",
                                         "--updates=20",       "--seed=2",
                                         "--out=r/x.json.part"};
  EXPECT_EQ(args, want);
  const RunConfig c = run.run_config("r/x.json");
  EXPECT_EQ(c.batch, 16);
  EXPECT_EQ(c.seed, 2u);
  EXPECT_EQ(c.out, "r/x.json");
}

TEST(SweepSpec, LoadReportsFileAndJsonErrors) {
  // A missing file is an environment error (exit 3), like every missing file.
  EXPECT_THROW((void)load_sweep_spec("/nonexistent/spec.json", ""), EnvironmentError);
  const std::string path = testing::TempDir() + "sweep_bad_spec.json";
  std::ofstream(path) << "{\"name\": \"x\",";
  try {
    (void)load_sweep_spec(path, "");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("not valid JSON"));
  }
  std::ofstream(path, std::ios::trunc) << R"({"name": "x", "axes": {"bogus": [1]}})";
  try {
    (void)load_sweep_spec(path, "");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr(path + ": axes: unknown option 'bogus'"));
  }
}

TEST(SweepSpec, EveryExperimentSpecIsValidAtEveryScale) {
  const std::filesystem::path dir = std::filesystem::path(PSGD_SOURCE_DIR) / "experiments";
  std::size_t specs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    ++specs;
    const SweepSpec plain = load_sweep_spec(e.path().string(), "");
    // plots/make_figures.sh relies on the names matching: experiments/X.json -> plots/X.py.
    const std::string stem = e.path().stem().string();
    EXPECT_EQ(plain.name, stem);
    EXPECT_EQ(plain.figure, "plots/" + stem + ".py");
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(PSGD_SOURCE_DIR) / plain.figure))
        << plain.figure;
    EXPECT_NE(std::find(plain.scales.begin(), plain.scales.end(), "quick"), plain.scales.end())
        << e.path();
    EXPECT_NE(std::find(plain.scales.begin(), plain.scales.end(), "full"), plain.scales.end())
        << e.path();
    for (const std::string& scale : plain.scales) {
      EXPECT_NO_THROW((void)expand(load_sweep_spec(e.path().string(), scale)))
          << e.path() << " " << scale;
    }
  }
  EXPECT_GE(specs, 5u);
}

// ---- results folder ----

json finished_doc() {
  return json::parse(R"({
    "schema_version": 1, "status": "converged", "stop_reason": "budget",
    "config": {"out": "x.json.part"},
    "metrics": {"initial_train_loss": 2.3, "final_train_loss": 0.2, "final_test_loss": 0.25,
                "final_test_accuracy": 0.9, "wall_seconds": 1.5,
                "epsilon_targets": {"50%": 1.15, "25%": 0.575},
                "time_to_epsilon": {"50%": 0.5, "25%": null},
                "updates_to_epsilon": {"50%": 40, "25%": null}},
    "updates": {"applied": 100, "computed": 101, "dropped": 1},
    "throughput": {"updates_per_second": 66.6, "samples_per_second": 1000},
    "staleness": {"mean": 0.99, "p50": 1, "p99": 2, "max": 3},
    "contention": {"failed_attempts": 5, "failed_attempts_per_update": {"mean": 0.05},
                   "lock_wait_seconds": 0.01, "backoff_seconds": 0, "dropped_gradients": 1},
    "resources": {"peak_rss_bytes": 1000000, "cpu_utilisation": 1.9},
    "oversubscribed": false
  })");
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cells.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells.emplace_back();
    } else {
      cells.back() += ch;
    }
  }
  return cells;
}

TEST(SweepResults, IndexHasTheDocumentedColumnsAndOneRowPerFinishedRun) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const std::vector<PlannedRun> runs = expand(spec);
  std::vector<std::optional<RunSummary>> summaries(runs.size());
  summaries[0] = summarize(finished_doc());
  ChildOutcome abort_outcome;
  abort_outcome.kind = ChildOutcome::Kind::kSignaled;
  abort_outcome.signal = SIGABRT;
  summaries[2] =
      summarize(crashed_report(spec, runs[2], abort_outcome, "x.json", "boom\n", nullptr));
  const std::string path = testing::TempDir() + "sweep_index_test.csv";
  write_index(path, spec, runs, summaries);

  std::ifstream in(path);
  std::string header_line, row0, row1, extra;
  std::getline(in, header_line);
  std::getline(in, row0);
  std::getline(in, row1);
  EXPECT_FALSE(std::getline(in, extra));
  const std::vector<std::string> header = split_csv_line(header_line);
  const std::vector<std::string> want_prefix = {"run_id",
                                                "point_id",
                                                "repetition",
                                                "seed",
                                                "threads",
                                                "batch",
                                                "algo",
                                                "step",
                                                "placement",
                                                "memory",
                                                "model",
                                                "dataset",
                                                "status",
                                                "stop_reason",
                                                "crash",
                                                "exit_code",
                                                "signal",
                                                "run_seconds",
                                                "wall_seconds",
                                                "initial_train_loss",
                                                "final_train_loss",
                                                "final_test_loss",
                                                "final_test_accuracy",
                                                "time_to_epsilon_50pct",
                                                "time_to_epsilon_25pct",
                                                "updates_to_epsilon_50pct",
                                                "updates_to_epsilon_25pct",
                                                "updates_applied"};
  ASSERT_GE(header.size(), want_prefix.size());
  EXPECT_EQ(std::vector<std::string>(
                header.begin(), header.begin() + static_cast<std::ptrdiff_t>(want_prefix.size())),
            want_prefix);
  for (const char* c : {"staleness_mean", "failed_attempts_per_update", "lock_wait_seconds",
                        "dropped_gradients", "peak_rss_bytes", "file"}) {
    EXPECT_NE(std::find(header.begin(), header.end(), c), header.end()) << c;
  }
  const std::vector<std::string> r0 = split_csv_line(row0);
  const std::vector<std::string> r1 = split_csv_line(row1);
  ASSERT_EQ(r0.size(), header.size());
  ASSERT_EQ(r1.size(), header.size());
  auto cell = [&](const std::vector<std::string>& row, const std::string& column) {
    return row[static_cast<std::size_t>(std::find(header.begin(), header.end(), column) -
                                        header.begin())];
  };
  EXPECT_EQ(cell(r0, "run_id"), runs[0].run_id);
  EXPECT_EQ(cell(r0, "status"), "converged");
  EXPECT_EQ(cell(r0, "time_to_epsilon_50pct"), "0.5");
  EXPECT_EQ(cell(r0, "time_to_epsilon_25pct"), "");
  EXPECT_EQ(cell(r0, "failed_attempts_per_update"), "0.05");
  EXPECT_EQ(cell(r0, "threads"), "1");
  EXPECT_EQ(cell(r0, "algo"), "seq");  // the option table's default
  EXPECT_EQ(cell(r1, "status"), "crashed");
  EXPECT_EQ(cell(r1, "crash"), "signal");
  EXPECT_EQ(cell(r1, "signal"), "SIGABRT");
  EXPECT_EQ(cell(r1, "file"), runs[2].run_id + ".json");
}

TEST(SweepResults, IndexAppendsTargetsReachedAndTimeToAccuracyAfterTheFileColumn) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const std::vector<PlannedRun> runs = expand(spec);
  json doc = finished_doc();
  doc["metrics"]["epsilon_reached"] = {{"50%", true}, {"25%", false}};
  doc["metrics"]["epsilon_targets_reached"] = 1;
  doc["metrics"]["accuracy_targets"] = {{"85%", 0.85}, {"100%", 1.0}};
  doc["metrics"]["time_to_accuracy"] = {{"85%", 1.25}, {"100%", nullptr}};
  doc["metrics"]["updates_to_accuracy"] = {{"85%", 80}, {"100%", nullptr}};
  std::vector<std::optional<RunSummary>> summaries(runs.size());
  summaries[0] = summarize(doc);
  summaries[1] = summarize(finished_doc());  // an older document: the new cells stay empty
  const std::string path = testing::TempDir() + "sweep_index_accuracy_test.csv";
  write_index(path, spec, runs, summaries);
  std::ifstream in(path);
  std::string header_line, row0, row1;
  std::getline(in, header_line);
  std::getline(in, row0);
  std::getline(in, row1);
  const std::vector<std::string> header = split_csv_line(header_line);
  const auto file_at = std::find(header.begin(), header.end(), "file");
  ASSERT_NE(file_at, header.end());
  EXPECT_EQ(std::vector<std::string>(file_at + 1, header.end()),
            (std::vector<std::string>{"epsilon_targets_reached", "epsilon_reached_50pct",
                                      "epsilon_reached_25pct", "time_to_accuracy_85pct",
                                      "time_to_accuracy_100pct", "updates_to_accuracy_85pct",
                                      "updates_to_accuracy_100pct"}));  // lowest target first
  const std::vector<std::string> r0 = split_csv_line(row0);
  const std::vector<std::string> r1 = split_csv_line(row1);
  ASSERT_EQ(r0.size(), header.size());
  ASSERT_EQ(r1.size(), header.size());
  auto cell = [&](const std::vector<std::string>& row, const std::string& column) {
    return row[static_cast<std::size_t>(std::find(header.begin(), header.end(), column) -
                                        header.begin())];
  };
  EXPECT_EQ(cell(r0, "file"), runs[0].run_id + ".json");
  EXPECT_EQ(cell(r0, "epsilon_targets_reached"), "1");
  EXPECT_EQ(cell(r0, "epsilon_reached_50pct"), "true");
  EXPECT_EQ(cell(r0, "epsilon_reached_25pct"), "false");
  EXPECT_EQ(cell(r0, "time_to_accuracy_85pct"), "1.25");
  EXPECT_EQ(cell(r0, "updates_to_accuracy_85pct"), "80");
  EXPECT_EQ(cell(r0, "time_to_accuracy_100pct"), "");
  EXPECT_EQ(cell(r1, "file"), runs[1].run_id + ".json");
  EXPECT_EQ(cell(r1, "epsilon_reached_50pct"), "");
  EXPECT_EQ(cell(r1, "time_to_accuracy_85pct"), "");
}

TEST(SweepResults, CrashedDocumentHasTheRunSkeleton) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const PlannedRun run = expand(spec)[1];
  ChildOutcome timeout;
  timeout.kind = ChildOutcome::Kind::kTimedOut;
  timeout.signal = SIGTERM;
  timeout.seconds = 30.2;
  const json doc = crashed_report(spec, run, timeout, "dir/x.json", "last words", nullptr);
  EXPECT_EQ(doc["status"], "crashed");
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["crash"]["kind"], "timeout");
  EXPECT_DOUBLE_EQ(doc["crash"]["timeout_seconds"].get<double>(), 30.0);
  EXPECT_EQ(doc["crash"]["signal_name"], "SIGTERM");
  EXPECT_EQ(doc["crash"]["stderr_tail"], "last words");
  EXPECT_EQ(doc["config"]["batch"], 16);
  EXPECT_EQ(doc["config"]["seed"], 1);
  EXPECT_EQ(doc["config"]["out"], "dir/x.json");
  EXPECT_TRUE(doc.contains("context"));
  EXPECT_EQ(doc["sweep"]["run_id"], run.run_id);
  EXPECT_EQ(doc["sweep"]["axes"]["batch"], "16");

  ChildOutcome exit3;
  exit3.exit_code = 3;
  const json err = crashed_report(spec, run, exit3, "x.json", "", json{{"kind", "environment"}});
  EXPECT_EQ(err["crash"]["kind"], "exit");
  EXPECT_EQ(err["crash"]["exit_code"], 3);
  EXPECT_EQ(err["crash"]["error"]["kind"], "environment");
}

TEST(SweepResults, TailIsTheLastWholeLinesAsValidUtf8) {
  const std::string path = testing::TempDir() + "sweep_tail.txt";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "line " << i << "\n";
    out << "bad \xff byte\n";
  }
  const std::string tail = read_tail(path, 100);
  EXPECT_LE(tail.size(), 100u);
  EXPECT_EQ(tail.rfind("line ", 0), 0u) << tail;  // starts at a whole line
  EXPECT_THAT(tail, HasSubstr("line 999\nbad ? byte\n"));
  EXPECT_NO_THROW((void)json(tail).dump());
  EXPECT_EQ(read_tail("/nonexistent/file"), "");
}

TEST(SweepResults, EpsilonLabelsBecomeColumnNames) {
  EXPECT_EQ(epsilon_column_suffix("50%"), "50pct");
  EXPECT_EQ(epsilon_column_suffix("0.3"), "0.3");
  EXPECT_EQ(epsilon_column_suffix("a b"), "a_b");
}

TEST(SweepResults, PartialsAreRemovedAndOnlyWholeDocumentsCount) {
  const std::string dir = testing::TempDir() + "sweep_results_dir";
  std::filesystem::remove_all(dir);
  ResultsDir results(dir);
  results.create_and_lock();
  std::ofstream(results.final_path("a"))
      << R"({"schema_version": 1, "status": "converged", "sweep": {"run_id": "a"}})";
  std::ofstream(results.final_path("f")) << R"({"status": "converged"})";  // hand-made
  std::ofstream(results.final_path("g"))
      << R"({"schema_version": 1, "status": "converged", "sweep": {"run_id": "a"}})";
  std::ofstream(results.final_path("b")) << R"({"status": )";
  std::ofstream(results.final_path("c")) << R"({"no_status": 1})";
  std::ofstream(results.part_path("d")) << "{";
  std::ofstream(results.stderr_path("d")) << "x";
  std::ofstream(results.final_path("e") + ".tmp.123") << "{";
  EXPECT_TRUE(results.load_complete("a").has_value());
  EXPECT_FALSE(results.load_complete("b").has_value());
  EXPECT_FALSE(results.load_complete("c").has_value());
  EXPECT_FALSE(results.load_complete("d").has_value());
  EXPECT_FALSE(results.load_complete("f").has_value());  // no identity, no schema
  EXPECT_FALSE(results.load_complete("g").has_value());  // another run's document
  EXPECT_EQ(results.remove_partials().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(results.part_path("d")));
  EXPECT_TRUE(std::filesystem::exists(results.final_path("a")));

  ResultsDir second(dir);
  EXPECT_THROW(second.create_and_lock(), EnvironmentError);  // one sweep per folder
}

// ---- child process ----

TEST(SweepChildProcess, ReportsExitCodesSignalsAndTimeouts) {
  const std::string err = testing::TempDir() + "sweep_child.stderr";
  auto run = [&](const std::string& script, double timeout) {
    ChildProcess child({"/bin/sh", "-c", script}, err, timeout);
    for (;;) {
      if (const auto out = child.poll()) return *out;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  ChildOutcome o = run("echo to-stderr >&2; exit 3", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(read_tail(err), "to-stderr\n");

  o = run("kill -ABRT $$", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kSignaled);
  EXPECT_EQ(o.signal, SIGABRT);

  const auto t0 = std::chrono::steady_clock::now();
  o = run("sleep 30", 0.2);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kTimedOut);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);

  o = run("exit 0", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_EQ(o.exit_code, 0);

  o = run("exec /nonexistent/binary", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_NE(o.exit_code, 0);
}

TEST(SweepChildProcess, TimeoutKillsTheWholeProcessGroup) {
  const std::string err = testing::TempDir() + "sweep_child_group.stderr";
  const std::string pid_file = testing::TempDir() + "sweep_grandchild.pid";
  std::filesystem::remove(pid_file);
  ChildProcess child({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, err, 0.3);
  std::optional<ChildOutcome> o;
  while (!(o = child.poll())) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(o->kind, ChildOutcome::Kind::kTimedOut);
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  // The grandchild was in the child's group: it is gone (or a zombie of init, briefly).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string content;
    std::getline(stat, content);
    gone = !stat || content.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST(SweepProgress, DurationsReadEasily) {
  EXPECT_EQ(SweepProgress::duration_text(4.6), "5s");
  EXPECT_EQ(SweepProgress::duration_text(185), "3m05s");
  EXPECT_EQ(SweepProgress::duration_text(7620), "2h07m");
}

}  // namespace
}  // namespace psgd
