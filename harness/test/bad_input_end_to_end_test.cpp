// End-to-end tests of `psgd run` under hostile input and a hostile environment (docs/bad-input.md,
// "What bad input gets"): one clear line and exit 2 or 3, never a hang, a crash or a clobbered
// file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using psgd::test::count_lines;
using psgd::test::run_psgd;
using psgd::test::scratch_dir;
using psgd::test::slurp;

constexpr const char* kTiny =
    "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 ";

// A hang shows as exit 128 + 9 instead of a test stuck until ctest's timeout.
constexpr const char* kWatchdog = "timeout -s KILL 60";

TEST(BadInputEndToEnd, AWorkerThreadThatCannotBeCreatedIsExitThreeWithinSeconds) {
  const fs::path dir = scratch_dir("spawn_failure");
  // K = 1: the very first worker fails (was SIGABRT); K = 3: two workers already wait at the
  // start barrier (was a hang).
  for (const int k : {1, 3}) {
    SCOPED_TRACE("pthread_create fails from call " + std::to_string(k));
    const fs::path out = dir / ("k" + std::to_string(k) + ".json");
    // OPENBLAS_NUM_THREADS=1: where psgd links OpenBLAS (the pthread build), its library
    // constructor starts a pool of nproc - 1 threads at load, before main(), which would take
    // call 1 and die in OpenBLAS's own init; one thread makes it start none, so the calls
    // counted are psgd's workers'.
    const std::string env =
        std::string("OPENBLAS_NUM_THREADS=1 ") +
        "ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD=" + PSGD_FAIL_PTHREAD_SHIM +
        " PSGD_FAIL_PTHREAD_CREATE=" + std::to_string(k) + " " + kWatchdog;
    const auto r =
        run_psgd(std::string(kTiny) + "--algo hogwild --threads 4 --placement none --updates 50 " +
                     "--out " + out.string(),
                 env);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    // The header, printed before training, then the one error line.
    EXPECT_EQ(count_lines(r.err), 2) << r.err;
    EXPECT_EQ(r.err.rfind("psgd run: hogwild, linear on ", 0), 0U) << r.err;
    EXPECT_NE(r.err.find("cannot create worker thread " + std::to_string(k) + " of 4 (" +
                         std::to_string(k - 1) + " started): errno 11"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("ulimit -u"), std::string::npos) << r.err;
    const json doc = json::parse(slurp(out));
    EXPECT_EQ(doc["status"], "error");
    EXPECT_EQ(doc["error"]["kind"], "environment");
  }
}

}  // namespace

// Was SIGSEGV: a checkpoint slot past the 65,536-slot cap, and version * K overflowing 64 bits.
TEST(BadInputEndToEnd, HugeCheckpointCountsAndBudgetsRunAndEndWithTheFinalState) {
  for (const char* args :
       {"--checkpoints 10000000", "--updates 4611686018427387904 --time-limit 0.2",
        "--updates 9223372036854775807 --time-limit 0.2"}) {
    SCOPED_TRACE(args);
    const auto r = run_psgd(std::string(kTiny) + args, kWatchdog);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json doc = json::parse(r.out);
    EXPECT_EQ(doc["series"].back()["updates"], doc["updates"]["applied"]);
    EXPECT_GT(doc["updates"]["applied"].get<std::int64_t>(), 0);
  }
}

// Was a silent wrong result: past the snapshot cap the final metrics came from the last stored
// snapshot (update 65,535 of 300,001). Now the snapshots are thinned evenly and the final state
// is always evaluated; the JSON says so.
TEST(BadInputEndToEnd, PastTheSnapshotCapTheSeriesIsThinnedAndEndsAtTheFinalState) {
  // 64 updates per epoch, a checkpoint after each: 300,001 checkpoints for 65,536 slots.
  const auto r = run_psgd(std::string(kTiny) + "--updates 300001 --checkpoints 64", kWatchdog);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  const json& cp = doc.at("checkpoints");  // at(): a missing block fails, not asserts
  EXPECT_EQ(cp["thinned"], true);
  EXPECT_EQ(cp["kept_every"], 8);  // 300,001 / 8 < 65,536 <= 300,001 / 4
  EXPECT_EQ(cp["final_state_separate"], true);
  const json& series = doc["series"];
  EXPECT_EQ(cp["evaluated"], series.size());
  for (std::size_t i = 1; i + 1 < series.size(); ++i) {
    ASSERT_EQ(series[i]["updates"].get<std::int64_t>(), static_cast<std::int64_t>(i) * 8);
  }
  EXPECT_EQ(series.back()["updates"], 300001);
  EXPECT_EQ(doc["metrics"]["final_train_loss"], series.back()["train_loss"]);
}

// Was SIGABRT (uncaught std::bad_alloc or std::ios_failure).
TEST(BadInputEndToEnd, ImpossibleModelsAndDirectoriesAsFilesAreOneLineErrors) {
  const fs::path dir = scratch_dir("abort_cases");
  const struct {
    std::string args;
    int code;
    std::string says;
  } cases[] = {
      {"run --dataset synthetic-dense:1024x16x4 --batch 16 --step 0.1 --model mlp:100000x100000", 3,
       "parameters need at least"},
      {std::string(kTiny) + "--config " + dir.string(), 3, "is a directory"},
      {"sweep " + dir.string(), 3, "is a directory"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const auto r = run_psgd(c.args, kWatchdog);
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
}

// Links to devices, not the devices themselves: the code this replaced renamed its temporary
// over the path, which as root would have replaced /dev/null itself.
TEST(BadInputEndToEnd, SpecialOutputFilesAreWrittenNeverReplaced) {
  const fs::path dir = scratch_dir("special_out");
  fs::create_symlink("/dev/null", dir / "null");
  fs::create_symlink("/dev/full", dir / "full");
  auto ok = run_psgd(std::string(kTiny) + "--out " + (dir / "null").string(), kWatchdog);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(fs::is_symlink(dir / "null"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  const auto full = run_psgd(std::string(kTiny) + "--out " + (dir / "full").string(), kWatchdog);
  EXPECT_EQ(full.exit_code, 3);
  EXPECT_EQ(count_lines(full.err), 2) << full.err;  // the header, then the one error line
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  EXPECT_TRUE(fs::is_symlink(dir / "full"));
  // A FIFO: written directly, to the reader at its other end.
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = slurp(fifo); });
  ok = run_psgd(std::string(kTiny) + "--out " + fifo.string(), kWatchdog);
  reader.join();
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(json::parse(received)["schema_version"], 3);
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

// Checked before the data is loaded (the data directory here does not exist either: the output
// path's error comes first), once, naming the path the user gave.
TEST(BadInputEndToEnd, OutputPathsAreCheckedBeforeAnyWork) {
  const fs::path dir = scratch_dir("out_paths");
  const std::string no_data = "run --dataset idx --data-dir " + (dir / "no-data").string() + " ";
  auto r = run_psgd(no_data + "--out " + (dir / "missing/o.json").string());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--out: cannot write '" + (dir / "missing/o.json").string() + "': folder"),
            std::string::npos)
      << r.err;
  r = run_psgd(no_data + "--out " + (dir / "o.json").string() + " --save-params " +
               (dir / "missing/p").string());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("--save-params: cannot write"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(slurp(dir / "o.json"))["status"], "error");
  r = run_psgd(no_data + "--out " + (dir / "same").string() + " --save-params " +
               (dir / "same").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("would overwrite the --out document"), std::string::npos) << r.err;
  r = run_psgd(no_data + "--out " + dir.string());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("it is a directory"), std::string::npos) << r.err;
}

// Integers are range-checked before any cast, and resources are bounded by what the run uses.
TEST(BadInputEndToEnd, OutOfRangeNumbersAreRefusedNotTruncated) {
  for (const char* args : {"--threads 4294967297", "--threads 40000", "--checkpoints 4294967296",
                           "--checkpoints 2147483648", "--seed 1180591620717411303424",
                           "--staleness-bins 1000000000", "--epochs 8e16",
                           // INT64_MAX is kNoGradientCap ("no cap"): bounded like --epochs.
                           "--gradients 9223372036854775807", "--gradients 1125899906842625"}) {
    SCOPED_TRACE(args);
    const auto r = run_psgd(std::string(kTiny) + args, kWatchdog);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  }
}

TEST(BadInputEndToEnd, TheStalenessHistogramIsNoLargerThanTheBudget) {
  const auto r = run_psgd(std::string(kTiny) + "--staleness-bins 1000000 --updates 100", kWatchdog);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["staleness"]["bins"], 101);
}
