// Sweep specs: validation errors, scales, expansion, stable run ids and the index's option
// columns; every experiment spec valid at every scale.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "common/errors.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/sweep_test_spec.hpp"

namespace psgd {
namespace {

using nlohmann::ordered_json;
using ::testing::HasSubstr;

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
  for (const char* owned : {"seed", "out", "dry-run", "print-config"}) {
    ordered_json doc = minimal_spec();
    const bool flag = owned == std::string("dry-run") || owned == std::string("print-config");
    doc["base"][owned] = flag ? ordered_json(true) : ordered_json("1");
    EXPECT_THAT(spec_error(doc), HasSubstr("set by the sweep itself")) << owned;
  }
}

// Each owned option is refused with its own reason: "out" and "config" once got the seeds'.
TEST(SweepSpec, OwnedOptionsAreRefusedWithTheirOwnReason) {
  for (const char* owned : {"out", "config", "save-params"}) {
    ordered_json doc = minimal_spec();
    doc["base"][owned] = "x.json";
    const std::string msg = spec_error(doc);
    EXPECT_THAT(msg, HasSubstr("option '" + std::string(owned) + "' is set by the sweep itself"));
    EXPECT_THAT(msg, testing::Not(HasSubstr("seed"))) << owned;
  }
  ordered_json doc = minimal_spec();
  doc["base"]["seed"] = 3;
  EXPECT_THAT(spec_error(doc), HasSubstr("seeds come from 'seeds' or 'seed_base'"));
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
  // Not [1, 2, null]: null is the default 1, and two points of one configuration are refused.
  doc["axes"]["threads"] = ordered_json::parse("[4, 2, null]");
  doc["exclude"] = ordered_json::parse(R"([{"threads": 2, "epochs": "0.5"}])");
  const SweepSpec spec = parse_sweep_spec(doc, "");
  const std::vector<PlannedRun> runs = expand(spec);
  // 2 x 3 points, minus the excluded one (null threads resolves to the default 1, so the
  // exclude rule for threads 2 does not match it).
  EXPECT_EQ(runs.size(), (2u * 3u - 1u) * 2u);
  EXPECT_EQ(runs[0].point_id, "updates-10_threads-4");
  EXPECT_EQ(runs[3].point_id, "updates-0.5-2_threads-4");
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

// An unset --batch-order is the method's default (shard for local-sgd), so an exclude rule on
// batch-order matches a point that leaves it unset, and the index column shows the order used.
TEST(SweepSpec, ExcludesMatchTheMethodsDefaultBatchOrder) {
  ordered_json doc = minimal_spec();
  doc["axes"] = ordered_json::object();
  doc["axes"]["algo"] = {"seq", "local-sgd"};
  doc["exclude"] = ordered_json::parse(R"([{"batch-order": "shard"}])");
  const std::vector<PlannedRun> runs = expand(parse_sweep_spec(doc, ""));
  ASSERT_EQ(runs.size(), 2u);  // local-sgd's point excluded, seq's two repetitions kept
  EXPECT_EQ(runs[0].point_id, "algo-seq");
  EXPECT_EQ(option_text(runs[0], "batch-order"), "worker");
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
  const std::string path = ::testing::TempDir() + "sweep_bad_spec.json";
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

}  // namespace
}  // namespace psgd
