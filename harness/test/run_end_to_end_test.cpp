// End-to-end tests of `psgd run`: the real binary, its exit codes, stderr and JSON document.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using psgd::test::count_lines;
using psgd::test::run_psgd;
using psgd::test::scratch_dir;
using psgd::test::slurp;
using Result = psgd::test::ProcessResult;

constexpr const char* kTinyRun =
    "run --dataset synthetic-dense:1024x16x4 --model linear --batch 16 --step 0.1 --epochs 3 ";

TEST(RunEndToEnd, WritesTheDocumentedSchema) {
  const Result r = run_psgd(std::string(kTinyRun) + "--checkpoints 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema_version"], 3);
  for (const char* key :
       {"status", "context", "config", "data", "model", "algorithm", "series", "metrics",
        "throughput", "updates", "staleness", "contention", "resources", "oversubscribed"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  for (const char* key : {"git_sha", "git_dirty", "compiler", "cxx_flags", "host", "cpu",
                          "hardware_threads", "date"}) {
    EXPECT_TRUE(doc["context"].contains(key)) << key;
  }
  EXPECT_NE(doc["context"]["cxx_flags"].get<std::string>().find("-ffp-contract=off"),
            std::string::npos);
  // Which GEMM ran the model's products, and OpenBLAS's core exactly when that GEMM is OpenBLAS.
  // linear's 10-row forward product is too thin for the own kernel: "own+eigen" where it is built.
  const std::string gemm = doc["context"]["gemm"];
  EXPECT_TRUE(gemm == "eigen" || gemm == "own" || gemm == "own+eigen" || gemm == "openblas")
      << gemm;
  EXPECT_EQ(doc["context"]["openblas_core"].is_string(), gemm == "openblas")
      << doc["context"]["openblas_core"];
#if defined(PSGD_TEST_EXPECT_OPENBLAS)
  EXPECT_EQ(gemm, "openblas") << "linear runs on OpenBLAS in a build that links it";
#endif
  const std::string status = doc["status"];
  EXPECT_TRUE(status == "converged" || status == "not_converged") << status;
  // 1024 / 16 = 64 updates per epoch, 3 epochs, 2 checkpoints per epoch: 0, 32, ..., 192.
  EXPECT_EQ(doc["updates"]["budget"], 192);
  EXPECT_EQ(doc["updates"]["applied"], 192);
  EXPECT_EQ(doc["updates"]["computed"], 192);
  const json& series = doc["series"];
  ASSERT_EQ(series.size(), 7U);
  for (std::size_t i = 0; i < series.size(); ++i) {
    EXPECT_EQ(series[i]["updates"], 32 * static_cast<int>(i));
    for (const char* key :
         {"seconds", "running_loss", "train_loss", "test_loss", "test_accuracy"}) {
      EXPECT_TRUE(series[i].contains(key)) << key;
    }
  }
  EXPECT_TRUE(series[0]["running_loss"].is_null());  // nothing ran before the first snapshot
  EXPECT_LT(series.back()["train_loss"].get<double>(), series[0]["train_loss"].get<double>());
  EXPECT_EQ(doc["staleness"]["max"], 0);
  EXPECT_EQ(doc["staleness"]["count"], 192);
  EXPECT_EQ(doc["metrics"]["initial_train_loss"], series[0]["train_loss"]);
  for (const char* key : {"50%", "25%", "20%"}) {  // the default targets
    EXPECT_TRUE(doc["metrics"]["time_to_epsilon"].contains(key)) << key;
    EXPECT_TRUE(doc["metrics"]["epsilon_reached"].contains(key)) << key;
  }
  EXPECT_GT(doc["throughput"]["samples_per_second"].get<double>(), 0.0);
  EXPECT_GT(doc["resources"]["peak_rss_bytes"].get<double>(), 0.0);
  EXPECT_EQ(doc["config"]["batch"], 16);
  EXPECT_EQ(doc["config"]["precision"], "float");  // the default
  EXPECT_EQ(doc["model"]["dtype"], "float32");
}

TEST(RunEndToEnd, SameSeedSameNumbers) {
  const json a = json::parse(run_psgd(std::string(kTinyRun) + "--seed 7").out);
  const json b = json::parse(run_psgd(std::string(kTinyRun) + "--seed 7").out);
  const json c = json::parse(run_psgd(std::string(kTinyRun) + "--seed 8").out);
  EXPECT_EQ(a["metrics"]["final_train_loss"], b["metrics"]["final_train_loss"]);
  EXPECT_NE(a["metrics"]["final_train_loss"], c["metrics"]["final_train_loss"]);
}

TEST(RunEndToEnd, DivergenceGivesValidJsonWithoutInfOrNan) {
  const fs::path dir = scratch_dir("psgd_diverge");
  const Result r = run_psgd(
      "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --step 1e4 --epochs 2 "
      "--out " +
      (dir / "d.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = slurp(dir / "d.json");
  // No bare non-finite token anywhere (strings such as "inf" for an option value are fine).
  EXPECT_FALSE(std::regex_search(text, std::regex(R"([:\[,]\s*-?(nan|NaN|inf|Infinity))")));
  const json doc = json::parse(text);
  EXPECT_EQ(doc["status"], "diverged");
}

TEST(RunEndToEnd, FileOutputIsAtomicAndPrintsASummary) {
  const fs::path dir = scratch_dir("psgd_out");
  const Result r = run_psgd(std::string(kTinyRun) + "--out " + (dir / "r.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("status"), std::string::npos);
  EXPECT_LT(count_lines(r.err), 25);  // one screen
  EXPECT_TRUE(json::accept(slurp(dir / "r.json")));
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename(), "r.json");  // no temporary left behind
  }
}

TEST(RunEndToEnd, SaveParamsWritesRawFloatsAndLayout) {
  const fs::path dir = scratch_dir("psgd_params");
  const Result r = run_psgd(std::string(kTinyRun) + "--save-params " + (dir / "p.bin").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json side = json::parse(slurp(dir / "p.bin.json"));
  const auto n = side["num_params"].get<std::size_t>();
  EXPECT_EQ(n, 16U * 4U + 4U);  // linear: weights {4,16} and biases {4}
  EXPECT_EQ(fs::file_size(dir / "p.bin"), n * sizeof(float));
  EXPECT_EQ(side["blocks"].size(), 2U);
  EXPECT_EQ(side["dtype"], "float32");
}

// --precision: recorded in config, model.dtype and --save-params' dtype; double parameters are
// 8 bytes each; and on this small problem the two precisions end at nearly the same loss (the
// same data, initial point up to float rounding, and batches).
TEST(RunEndToEnd, PrecisionDoubleIsRecordedSavedAndCloseToFloat) {
  const fs::path dir = scratch_dir("psgd_precision");
  const Result f = run_psgd(std::string(kTinyRun) + "--algo leashed --init normal:0.01");
  ASSERT_EQ(f.exit_code, 0) << f.err;
  const Result d = run_psgd(std::string(kTinyRun) + "--algo leashed --init normal:0.01 " +
                            "--precision double --save-params " + (dir / "p.bin").string());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const json fd = json::parse(f.out);
  const json dd = json::parse(d.out);
  EXPECT_EQ(fd["config"]["precision"], "float");
  EXPECT_EQ(dd["config"]["precision"], "double");
  EXPECT_EQ(fd["model"]["dtype"], "float32");
  EXPECT_EQ(dd["model"]["dtype"], "float64");
  const json side = json::parse(slurp(dir / "p.bin.json"));
  EXPECT_EQ(side["dtype"], "float64");
  EXPECT_EQ(fs::file_size(dir / "p.bin"), side["num_params"].get<std::size_t>() * sizeof(double));
  const double lf = fd["series"].back()["train_loss"].get<double>();
  const double ld = dd["series"].back()["train_loss"].get<double>();
  EXPECT_LT(ld, dd["series"][0]["train_loss"].get<double>());  // it trained
  EXPECT_NEAR(lf, ld, 1e-3 * ld);
  EXPECT_NE(lf, ld);  // the double run really computed in double
}

// ---- bad input: one line on stderr, exit 2 (arguments) or 3 (environment and data) ----

void expect_error(const std::string& args, int code, const std::string& needle) {
  const Result r = run_psgd(args);
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(RunEndToEnd, BadArgumentsExitTwoWithOneLine) {
  expect_error("run --algo bogus", 2, "unknown algorithm 'bogus'; valid: seq");
  expect_error("run --model bogus --dataset synthetic-dense", 2, "unknown model 'bogus'");
  expect_error("run --dataset bogus", 2, "bogus");
  expect_error("run --batch -4", 2, "--batch must be a positive integer");
  expect_error("run --frobnicate", 2, "unknown option '--frobnicate'");
  expect_error("run --init normal:-1 --dataset synthetic-dense", 2, "normal");
  expect_error("run --dataset synthetic-dense:64x4x2 --batch 100 --model linear", 2, "exceeds");
  expect_error("frobnicate", 2, "unknown command");
  // Every enum option names its choices the same way (common/name_table.hpp).
  expect_error("run --activation tanh", 2, "--activation must be relu or sigmoid, got 'tanh'");
  expect_error("run --placement spread", 2,
               "--placement must be none, compact, scatter or explicit:CPULIST, got 'spread'");
  expect_error("run --smt first", 2, "--smt must be last or interleave, got 'first'");
  expect_error("run --memory remote", 2,
               "--memory must be local, interleave or bind:NODE, got 'remote'");
  // Injected heterogeneity and the step schedule (algorithms/pace.hpp).
  for (const char* bad : {"--slowdown 1", "--slowdown 0:0.5", "--slowdown 0:2,0:3",
                          "--slowdown x:2", "--slowdown 0:1e9"}) {
    expect_error(std::string("run ") + bad, 2, "--slowdown must be none or W:FACTOR");
  }
  expect_error("run --threads 2 --slowdown 2:4", 2, "--slowdown names worker 2, but --threads 2");
  for (const char* bad : {"--delay 5", "--delay fixed:-1", "--delay exp:0", "--delay poisson:3",
                          "--delay fixed:1e12"}) {
    expect_error(std::string("run ") + bad, 2, "--delay must be none, fixed:US or exp:MEAN_US");
  }
  for (const char* bad : {"--comm-delay fixed", "--comm-delay exp:0", "--comm-delay lan:5"}) {
    expect_error(std::string("run ") + bad, 2,
                 "--comm-delay must be none, fixed:US or exp:MEAN_US");
  }
  expect_error("run --step-decay 1", 2, "--step-decay must be a fraction in [0, 1)");
  expect_error("run --step-decay -0.1", 2, "--step-decay must be a fraction in [0, 1)");
  expect_error("run --algo nonblocking --mini-batches 0", 2,
               "--mini-batches must be a positive integer");
  expect_error("run --algo nonblocking --combine sum", 2, "--combine");
  expect_error("run --algo seq --mini-batches 4", 2, "--mini-batches applies to: nonblocking");
}

// What was injected is in config and in the pace block, with the time it cost; nonblocking's
// accounting is in its algorithm block.
TEST(RunEndToEnd, SlowdownAndDelayAreRecorded) {
  const Result r = run_psgd(std::string(kTinyRun) +
                            "--algo nonblocking --mini-batches 4 --threads 2 --placement none "
                            "--slowdown 1:3 --delay fixed:20 --step-decay 0.01 "
                            "--comm-delay fixed:30");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["config"]["slowdown"], "1:3");
  EXPECT_EQ(doc["config"]["delay"], "fixed:20");
  EXPECT_EQ(doc["config"]["step_decay"], 0.01);
  const json& pace = doc["pace"];
  EXPECT_EQ(pace["slowdown"], "1:3");
  EXPECT_EQ(pace["delay"], "fixed:20");
  const std::int64_t computed = doc["updates"]["computed"];
  // Every gradient waits at least 20 us before and after.
  EXPECT_GE(pace["delay_seconds"].get<double>(), 2 * 20e-6 * static_cast<double>(computed));
  EXPECT_GT(pace["slowdown_seconds"].get<double>(), 0.0);
  // One exchange per worker per round, each waiting at least 30 us.
  EXPECT_EQ(doc["config"]["comm_delay"], "fixed:30");
  EXPECT_EQ(pace["comm_delay"], "fixed:30");
  EXPECT_EQ(pace["exchanges"], 2 * doc["algorithm"]["rounds"].get<std::int64_t>());
  EXPECT_GE(pace["comm_delay_seconds"].get<double>(),
            30e-6 * static_cast<double>(pace["exchanges"].get<std::int64_t>()));
  ASSERT_EQ(pace["computed_per_worker"].size(), 2U);
  const json& nb = doc["algorithm"];
  std::int64_t contributed = 0;
  std::int64_t abandoned = 0;
  for (const auto& v : nb["contributed"]) contributed += v.get<std::int64_t>();
  for (const auto& v : nb["abandoned"]) abandoned += v.get<std::int64_t>();
  EXPECT_EQ(contributed + abandoned + doc["updates"]["discarded_at_end"].get<std::int64_t>(),
            computed)
      << nb.dump();
  EXPECT_EQ(nb["wasted_samples"], abandoned * 16);
}

TEST(RunEndToEnd, BadDataExitsThreeNamingTheFile) {
  const fs::path missing = scratch_dir("psgd_missing");
  expect_error("run --dataset idx --data-dir " + missing.string(), 3, "train-images-idx3-ubyte");
  const fs::path corrupt = scratch_dir("psgd_corrupt");
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::ofstream(corrupt / name) << "this is not an IDX file";
  }
  expect_error("run --dataset idx --data-dir " + corrupt.string(), 3, "magic");
}

TEST(RunEndToEnd, AnUnknownPrecisionIsOneLineNamingTheChoices) {
  expect_error("run --precision half", 2, "float or double");
}

TEST(RunEndToEnd, ErrorsAreAlsoWrittenAsErrorDocuments) {
  const fs::path dir = scratch_dir("psgd_errdoc");
  const Result r = run_psgd("run --algo bogus --out " + (dir / "e.json").string());
  EXPECT_EQ(r.exit_code, 2);
  const json doc = json::parse(slurp(dir / "e.json"));
  EXPECT_EQ(doc["status"], "error");
  EXPECT_EQ(doc["error"]["kind"], "config");
  EXPECT_NE(doc["error"]["message"].get<std::string>().find("bogus"), std::string::npos);
}

TEST(RunEndToEnd, HelpAndListTellTheTruth) {
  const Result help = run_psgd("run --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--batch=N"), std::string::npos);
  const Result list = run_psgd("list");
  EXPECT_EQ(list.exit_code, 0);
  for (const char* name :
       {"seq", "mutex", "rwlock", "hogwild", "hogwild-atomic", "leashed", "sync", "mlp:", "cnn",
        "lenet", "fashion-mnist", "synthetic-dense", "scatter", "interleave", "exponential"}) {
    EXPECT_NE(list.out.find(name), std::string::npos) << name;
  }
}

TEST(RunEndToEnd, DryRunPlansOnASyntheticTopology) {
  const Result r = run_psgd(
      "run --dry-run --topology-synthetic 'pack:2 numa:1 core:4 pu:2' "
      "--placement scatter --algo seq --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["status"], "dry_run");
  EXPECT_EQ(doc["placement"]["topology"]["numa_nodes"], 2);
  EXPECT_EQ(doc["placement"]["planned"].size(), 1U);
}

TEST(RunEndToEnd, PinnedRunsRecordPlannedAndObservedPlacement) {
  const Result r = run_psgd(std::string(kTinyRun) + "--placement explicit:0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  const json& p = doc["placement"];
  EXPECT_EQ(p["policy"], "explicit:0");
  EXPECT_EQ(p["planned"][0]["cpu"], 0);
  EXPECT_EQ(p["observed"][0]["cpu"], 0);
  EXPECT_EQ(p["observed"][0]["bound_cpus"], json::array({0}));
  EXPECT_EQ(p["memory"]["policy"], "local");
  EXPECT_FALSE(doc["oversubscribed"]);
}

// --memory places every shared allocation of the algorithm (all of Leashed's pool), and the JSON
// says where the pages are. This machine may have one node: the pages are then all on node 0.
TEST(RunEndToEnd, MemoryPolicyPlacesAndRecordsEverySharedPage) {
  for (const std::string memory : {"bind:0", "interleave", "local"}) {
    SCOPED_TRACE(memory);
    const Result r =
        run_psgd(std::string(kTinyRun) + "--algo leashed --threads 2 --memory " + memory);
    if (r.exit_code == 3 && r.err.find("NUMA support") != std::string::npos) {
      GTEST_SKIP() << "no NUMA support on this machine: " << r.err;
    }
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json doc = json::parse(r.out);
    const json& m = doc["placement"]["memory"];
    EXPECT_EQ(m["policy"], memory);
    const json& observed = m["observed"];
    ASSERT_TRUE(observed.is_object()) << m.dump();
    if (!observed["supported"].get<bool>()) continue;  // move_pages refused: nothing to compare
    // linear 16x4 = 68 parameters: one page per vector; Leashed's pool is 3N = 6 vectors, all
    // allocated (and so touched) before the run.
    EXPECT_GE(observed["pages_sampled"].get<int>(), 1);
    EXPECT_EQ(observed["unknown"], 0);
    std::int64_t on_allowed = 0;
    for (const auto& [node, pages] : observed["per_node"].items()) {
      const bool allowed = memory != "bind:0" || node == "0";
      EXPECT_TRUE(allowed) << "page on node " << node;
      on_allowed += pages.get<std::int64_t>();
    }
    EXPECT_EQ(on_allowed, observed["pages_sampled"].get<std::int64_t>());
  }
}

// resources.shared_bytes is what each method holds in shared storage, measured through the one
// allocation path: a lock-based method one parameter vector whatever the thread count, Leashed
// its pool of 3N vectors, sync one vector plus one gradient slot per worker.
TEST(RunEndToEnd, SharedBytesCountEveryMethodsSharedStorage) {
  constexpr std::int64_t kVectorBytes = (16 * 4 + 4) * 4;  // linear 16x4: 68 float parameters
  auto shared_bytes = [](const std::string& algo, int threads) {
    const Result r = run_psgd(std::string(kTinyRun) + "--placement none --algo " + algo +
                              " --threads " + std::to_string(threads));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out)["resources"]["shared_bytes"].get<std::int64_t>();
  };
  const std::int64_t mutex1 = shared_bytes("mutex", 1);
  EXPECT_GE(mutex1, kVectorBytes);
  EXPECT_LT(mutex1, 2 * kVectorBytes);
  EXPECT_EQ(shared_bytes("mutex", 3), mutex1);
  EXPECT_EQ(shared_bytes("rwlock", 3), mutex1);
  EXPECT_EQ(shared_bytes("hogwild", 3), mutex1);
  for (const int threads : {1, 3}) {
    EXPECT_GE(shared_bytes("leashed", threads), 3 * threads * kVectorBytes) << threads;
    EXPECT_EQ(shared_bytes("sync", threads), (1 + threads) * mutex1) << threads;
  }
}

// The reference framework's settings: a fixed number of updates per epoch and one shared batch
// order; with one thread the shared order is deterministic too.
TEST(RunEndToEnd, ReferenceEpochAndBatchOrder) {
  const std::string args = std::string(kTinyRun) +
                           "--updates-per-epoch 10 --batch-order shared --algo mutex --threads 1 ";
  const Result a = run_psgd(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const json doc = json::parse(a.out);
  EXPECT_EQ(doc["updates"]["per_epoch"], 10);
  EXPECT_EQ(doc["updates"]["budget"], 30);  // --epochs 3
  EXPECT_EQ(doc["updates"]["applied"], 30);
  EXPECT_EQ(doc["config"]["batch_order"], "shared");
  EXPECT_EQ(doc["config"]["updates_per_epoch"], 10);
  EXPECT_DOUBLE_EQ(doc["series"].back()["epoch"].get<double>(), 3.0);
  const Result b = run_psgd(args);
  EXPECT_EQ(json::parse(b.out)["metrics"]["final_train_loss"], doc["metrics"]["final_train_loss"]);
  expect_error("run --batch-order random", 2,
               "--batch-order must be default, worker, shared or shard");
  expect_error("run --updates-per-epoch 0", 2, "--updates-per-epoch must be a positive integer");
}

// The averaging methods shard the training set by default; --batch-order wins; the document says
// which order was used and whether it was the method's default. A slice under one batch: exit 2.
TEST(RunEndToEnd, BatchOrderDefaultsPerMethodAndShardsMustHoldABatch) {
  const std::string run = std::string(kTinyRun) + "--placement none --threads 2 ";
  for (const auto& [args, order, source] :
       {std::tuple{"--algo local-sgd", "shard", "method default"},
        std::tuple{"--algo async-exchange", "shard", "method default"},
        std::tuple{"--algo mutex", "worker", "method default"},
        std::tuple{"--algo local-sgd --batch-order worker", "worker", "--batch-order"},
        std::tuple{"--algo mutex --batch-order shard", "shard", "--batch-order"}}) {
    const Result r = run_psgd(run + args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
    const json doc = json::parse(r.out);
    EXPECT_EQ(doc["config"]["batch_order"], order) << args;
    EXPECT_EQ(doc["algorithm"]["batch_order_source"], source) << args;
  }
  // 1024 samples over 3 workers: slices of 341, 341 and 342.
  expect_error(
      "run --dataset synthetic-dense:1024x16x4 --model linear --batch 342 --algo local-sgd "
      "--placement none --threads 3",
      2,
      "--batch-order shard: 1024 training samples over 3 workers leave a slice of 341 "
      "samples, fewer than one batch of 342");
  // The parameter server's slot 0 reads no batch: its 2 workers get slices of 512, which fit.
  const Result ps = run_psgd(
      "run --dataset synthetic-dense:1024x16x4 --model linear --batch 342 --algo param-server "
      "--batch-order shard --placement none --threads 3");
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
}

TEST(RunEndToEnd, MoreThreadsThanHardwareIsRecordedAsOversubscribed) {
  const unsigned threads = std::thread::hardware_concurrency() + 1;
  const Result r = run_psgd(std::string(kTinyRun) + "--algo leashed --placement none --threads " +
                            std::to_string(threads));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_TRUE(doc["oversubscribed"]);
  EXPECT_EQ(doc["updates"]["applied"], 192);
  EXPECT_EQ(doc["placement"]["observed"].size(), threads);
  EXPECT_EQ(doc["placement"]["planned"][0]["cpu"], -1);  // none: nobody is pinned
  // Pinning policies refuse to put two workers on one hardware thread.
  expect_error(std::string(kTinyRun) + "--algo leashed --placement compact --threads " +
                   std::to_string(threads),
               2, "--placement none");
}

TEST(RunEndToEnd, PlacementErrorsAreClear) {
  expect_error("run --placement diagonal", 2, "compact");
  expect_error("run --memory sideways", 2, "interleave");
  expect_error("run --topology-synthetic 'pack:2 core:2 pu:1' --dry-run --placement explicit:99", 2,
               "99");
}

// The foundation's acceptance run: sequential SGD on Fashion-MNIST reaches >= 0.83 test accuracy
// in two epochs at batch 32, step 0.05 (PyTorch reaches about 0.85), within 200 MiB peak RSS.
TEST(RunEndToEndFashionMnist, SequentialMlpReachesTheAcceptedAccuracy) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (make deps installs it)";
  }
  const Result r = run_psgd(
      "run --algo seq --model mlp:128x128x128 --batch 32 --step 0.05 --epochs 2 --checkpoints 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_GE(doc["metrics"]["final_test_accuracy"].get<double>(), 0.83);
  EXPECT_LE(doc["resources"]["peak_rss_bytes"].get<double>(), 200.0 * 1024 * 1024);
  EXPECT_EQ(doc["data"]["train_samples"], 60000);
  EXPECT_EQ(doc["updates"]["applied"], 2 * 1875);
}

}  // namespace
