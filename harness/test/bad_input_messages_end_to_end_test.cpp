// End-to-end tests of `psgd run`'s one-line errors (docs/bad-input.md, "What bad input gets"): each
// names the option the user typed and the values it takes, a missing file is exit 3 whichever
// option names it, and a synthetic data set or model that cannot fit in memory is refused before
// anything is generated, with how much it needs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using psgd::test::count_lines;
using psgd::test::run_psgd;
using psgd::test::scratch_dir;
using psgd::test::slurp;

// A hang, or a generator that ran instead of being refused, shows as exit 128 + 9.
constexpr const char* kMessagesWatchdog = "timeout -s KILL 60";

struct Case {
  std::string args;
  int code;
  std::string says;
};

void expect_one_line(const Case& c) {
  SCOPED_TRACE(c.args);
  const auto r = run_psgd(c.args, kMessagesWatchdog);
  EXPECT_EQ(r.exit_code, c.code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
}

// Were: "--synthetic ..." for `psgd run --topology-synthetic`, ConfigError (exit 2) for a missing
// --topology-xml file, and "an integer >= 0" for --persistence, which also takes inf.
TEST(BadInputMessagesEndToEnd, ErrorsNameTheOptionTypedAndEveryValueItTakes) {
  const fs::path dir = scratch_dir("messages");
  const std::string missing = (dir / "missing.xml").string();
  const std::string plan = "run --dry-run --algo hogwild --placement compact --threads 2 ";
  expect_one_line({plan + "--topology-synthetic 'pack:two'", 2,
                   "--topology-synthetic \"pack:two\": not a valid hwloc synthetic description"});
  expect_one_line(
      {plan + "--topology-xml " + missing, 3, "--topology-xml " + missing + ": cannot open"});
  expect_one_line({"run --dry-run --algo leashed --persistence INF", 2,
                   "--persistence must be an integer >= 0 or inf"});
  expect_one_line({"run --dry-run --algo leashed --persistence 99999999999999999999", 2,
                   "(out of range) or inf"});
  // `psgd topo` keeps its own option names.
  expect_one_line({"topo --synthetic 'pack:two'", 2, "--synthetic \"pack:two\""});
  expect_one_line({"topo --xml " + missing, 3, "--xml " + missing + ": cannot open"});
}

// Were: 100 million classes generated W* (1.6 GB) and then the model, for minutes, before
// anything was checked.
TEST(BadInputMessagesEndToEnd, SyntheticDataAndModelsThatCannotFitAreRefusedUpFront) {
  const fs::path dir = scratch_dir("synthetic_memory");
  const fs::path out = dir / "o.json";
  // 4e9 floats of W* (16 GB) and a linear model of 4.1e9 parameters with 64 workers' vectors
  // (3.2 TB): more than any machine this runs on.
  expect_one_line(
      {"run --algo hogwild --threads 64 --placement none --model linear "
       "--dataset synthetic-dense:100x40x100000000 --out " +
           out.string(),
       3,
       "--dataset synthetic-dense:100x40x100000000 with --model linear: 4100000000 "
       "parameters need at least"});
  const json doc = json::parse(slurp(out));
  EXPECT_EQ(doc["status"], "error");
  EXPECT_EQ(doc["error"]["kind"], "environment");
  // Past the format's cap on W* (2^32 floats): a ConfigError, whatever the memory.
  expect_one_line({"run --algo seq --model linear --dataset synthetic-dense:100x400x100000000", 2,
                   "more than 2^32 floats in W*"});
  // A small data set with an impossible model: refused before generating too.
  expect_one_line({"run --algo seq --model mlp:100000x100000 --dataset synthetic-dense:64x8x3", 3,
                   "parameters"});
}

}  // namespace

namespace {

// Was one stderr line per snapshot: 23k lines for `--epochs 1e9 --time-limit 2`. The summary
// shows at most 24 rows, first and last included, and says so; the JSON keeps every snapshot.
TEST(BadInputMessagesEndToEnd, TheSummaryOfAThousandSnapshotsIsAScreenful) {
  const fs::path out = scratch_dir("summary_rows") / "o.json";
  // 64 updates per epoch and a checkpoint after each: 3,000 snapshots.
  const auto r = run_psgd(
      "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 "
      "--updates 3000 --checkpoints 64 --out " +
          out.string(),
      kMessagesWatchdog);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 24 series rows, their header and note, and the summary's lines after them (a dozen at most).
  EXPECT_LE(count_lines(r.err), 40) << r.err;
  EXPECT_NE(r.err.find("(24 of 3001 snapshots shown; all are in the JSON)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" 3000 "), std::string::npos) << r.err;  // the final row is shown
  EXPECT_EQ(json::parse(slurp(out))["series"].size(), 3001U);
}

}  // namespace

namespace {

// A worker whose set-up throws (binding, buffers): the others are released, the exception comes
// back to the main thread, and the run ends with its one line and the error document, never a
// hang or std::terminate.
TEST(BadInputMessagesEndToEnd, AWorkerThatThrowsIsExitThreeWithTheErrorDocument) {
  const fs::path out = scratch_dir("worker_throw") / "o.json";
  const auto r = run_psgd(
      "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 "
      "--algo hogwild --threads 3 --placement none --updates 50 --test-fault worker-throw --out " +
          out.string(),
      kMessagesWatchdog);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 2) << r.err;  // the header, printed before training, then it
  EXPECT_NE(r.err.find("worker 2 of 3: --test-fault worker-throw"), std::string::npos) << r.err;
  const json doc = json::parse(slurp(out));
  EXPECT_EQ(doc["status"], "error");
  EXPECT_EQ(doc["error"]["kind"], "environment");
}

}  // namespace
