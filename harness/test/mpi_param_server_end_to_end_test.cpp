// harness/test/mpi_param_server_end_to_end_test.cpp — `param-server` and `hybrid` under
// `psgd run --backend mpi` (issue #22): the server on rank 0, workers on every rank's threads,
// pushes and replies through the ServerLink (algorithms/server_link.hpp). One rank is the
// shared-memory run bit for bit; where the shared-memory run is deterministic (one gradient
// source, or the synchronous server's mean in slot order) R ranks x T threads equal one rank of
// R x T threads bit for bit; the accounting adds up across ranks; the run's end (budget, time
// limit, divergence on a remote rank) reaches every rank. Labelled `mpi` like its neighbour
// mpi_end_to_end_test.cpp (CMakeLists.txt: suites Mpi*), serial, skipped without mpirun or
// without MPI built in, and not run by the sanitizer presets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/test/mpi_launch.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

using nlohmann::json;

// A hundred-odd gradients on a small synthetic set: a second or less per launch.
const std::string kServerRun =
    "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --step 0.1 --epochs 2 "
    "--placement none";

std::int64_t sum_of(const json& list) {
  std::int64_t total = 0;
  for (const json& v : list) total += v.get<std::int64_t>();
  return total;
}

class MpiParamServerEndToEnd : public MpiRunTest {
 protected:
  // `local_args` in one process against `mpi_args` under mpirun -np `ranks`: the same final
  // parameters, losses at every checkpoint and work block.
  void expect_same_run(const std::string& local_args, int ranks, const std::string& mpi_args) {
    const ProcessResult local = run("", kServerRun + " " + local_args, "local");
    ASSERT_EQ(local.exit_code, 0) << local.err;
    const ProcessResult mpi =
        run(mpirun_np(ranks), kServerRun + " " + mpi_args + " --backend mpi", "mpi");
    ASSERT_EQ(mpi.exit_code, 0) << mpi.err;
    EXPECT_EQ(params("mpi"), params("local")) << mpi_args << ": final parameters differ";
    EXPECT_EQ(series_without_times(doc("mpi")), series_without_times(doc("local"))) << mpi_args;
    EXPECT_EQ(doc("mpi")["work"], doc("local")["work"]) << mpi_args;
    EXPECT_EQ(doc("mpi")["updates"]["applied"], doc("local")["updates"]["applied"]) << mpi_args;
    EXPECT_EQ(doc("mpi")["ranks"].size(), static_cast<std::size_t>(ranks));
  }
};

// One rank opens no link: every mode is the shared-memory method, bit for bit (the synchronous
// server at 3 threads, whose mean is in slot order; async and hybrid with one gradient worker).
TEST_F(MpiParamServerEndToEnd, OneRankIsTheSharedMemoryRunBitForBit) {
  for (const std::string algo : {"param-server --ps-mode sync --threads 3",
                                 "param-server --threads 2", "hybrid --switch 1,10 --threads 2"}) {
    expect_same_run("--algo " + algo, 1, "--algo " + algo);
  }
}

// The server alone on rank 0 and one worker on rank 1: one gradient source, so each push sees the
// previous update, as the server and its one worker thread of one process do. Every pull after
// the first is a reply's parameters, every gradient a message: bit for bit. Under `shard` the
// one source reads the whole set in both (rank 0's one slot computes nothing, so it is no slice).
TEST_F(MpiParamServerEndToEnd, TwoRanksOfOneThreadAreTheTwoThreadRunBitForBit) {
  for (const std::string algo :
       {"param-server", "hybrid --switch 1,10", "param-server --batch-order shard"}) {
    expect_same_run("--algo " + algo + " --threads 2", 2, "--algo " + algo + " --threads 1");
  }
}

// The synchronous server averages all W gradients in slot order, wherever they came from: 2
// ranks x 2 threads (W = 3: rank 0's thread 1, rank 1's threads 0 and 1) are the 4-thread run
// bit for bit, and K counts every rank's workers.
TEST_F(MpiParamServerEndToEnd, TheSynchronousServerAcrossRanksIsTheOneProcessRunBitForBit) {
  expect_same_run("--algo param-server --ps-mode sync --threads 4", 2,
                  "--algo param-server --ps-mode sync --threads 2");
  EXPECT_EQ(doc("mpi")["algorithm"]["gradient_workers"], 3);
  EXPECT_EQ(doc("mpi")["algorithm"]["k_final"], 3);
}

// 2 ranks x 2 threads, asynchronous and hybrid: every gradient is accounted for (computed =
// contributed + lost, over every rank's workers), the server's count of each slot's contributed
// gradients agrees with the workers' own counts, the ranks block adds up to the work block, and
// rank 1's traffic is its pushes and replies (4 messages per exchange).
TEST_F(MpiParamServerEndToEnd, TheAccountingAddsUpAcrossRanks) {
  for (const std::string algo : {"param-server", "hybrid --switch 1,8",
                                 "param-server "
                                 "--server-trains"}) {
    const ProcessResult r =
        run(mpirun_np(2), kServerRun + " --algo " + algo + " --threads 2 --backend mpi", "mpi");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json d = doc("mpi");
    const json& work = d["work"];
    const std::int64_t gradients = work["gradients"].get<std::int64_t>();
    EXPECT_EQ(gradients,
              work["contributed"].get<std::int64_t>() + work["lost"]["total"].get<std::int64_t>())
        << algo;
    EXPECT_EQ(work["lost"]["dropped"], 0) << algo;
    EXPECT_EQ(work["lost"]["abandoned"], 0) << algo;
    const json& per_slot = d["algorithm"]["contributed"];
    ASSERT_EQ(per_slot.size(), 4U) << algo << ": a slot per worker of every rank";
    EXPECT_EQ(sum_of(per_slot), work["contributed"].get<std::int64_t>()) << algo;
    const json& computed = d["pace"]["computed_per_worker"];
    ASSERT_EQ(computed.size(), 4U) << algo;
    // Each source loses at most one gradient (the one pending or in flight at the end).
    for (std::size_t g = 0; g < 4; ++g) {
      const std::int64_t lost = computed[g].get<std::int64_t>() - per_slot[g].get<std::int64_t>();
      EXPECT_GE(lost, 0) << algo << " slot " << g;
      EXPECT_LE(lost, 1) << algo << " slot " << g;
    }
    const bool trains = algo.find("--server-trains") != std::string::npos;
    EXPECT_EQ(d["algorithm"]["gradient_workers"], trains ? 4 : 3) << algo;
    // A serving-only slot 0 computes nothing. One that trains computes only when it finds fewer
    // than K pushes queued, which three busy workers may never leave it: at load 7 it computed
    // none in one run (2026-12-06), so its count is checked only by the accounting above.
    if (!trains) {
      EXPECT_EQ(computed[0].get<std::int64_t>(), 0) << algo << ": the server's own";
    }
    ASSERT_EQ(d["ranks"].size(), 2U);
    std::int64_t by_rank = 0;
    for (const json& rank : d["ranks"]) by_rank += rank["gradients"].get<std::int64_t>();
    EXPECT_EQ(by_rank, gradients) << algo;
    const json& remote = d["ranks"][1];
    const std::int64_t exchanges =
        computed[2].get<std::int64_t>() + computed[3].get<std::int64_t>();
    EXPECT_EQ(remote["messages"].get<std::int64_t>(), 4 * exchanges) << algo;
    EXPECT_GT(remote["bytes_sent"].get<std::int64_t>(), 0) << algo;
    EXPECT_GT(remote["communication_seconds"].get<double>(), 0.0) << algo;
    EXPECT_EQ(d["ranks"][0]["messages"], remote["messages"]) << algo << ": every message, once";
    EXPECT_EQ(remote["collectives"], 0) << algo;
  }
}

// A time limit ends the run on rank 0, and every remote worker learns it from its next reply:
// the job exits promptly with every gradient accounted for (a sync server of 3 ranks, where a
// remote worker that went away would leave the server waiting for ever).
TEST_F(MpiParamServerEndToEnd, ATimeLimitEndsEveryRank) {
  const ProcessResult r = run(mpirun_np(3),
                              "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 "
                              "--placement none --algo param-server --ps-mode sync --threads 1 "
                              "--epochs 100000 --time-limit 1 --backend mpi",
                              "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  EXPECT_EQ(d["stop_reason"], "time_limit") << d.dump();
  const json& work = d["work"];
  EXPECT_EQ(work["gradients"].get<std::int64_t>(),
            work["contributed"].get<std::int64_t>() + work["lost"]["total"].get<std::int64_t>());
  EXPECT_GT(d["updates"]["applied"].get<std::int64_t>(), 0);
}

// The only gradient source is on rank 1 (the server on rank 0 computes none): its non-finite
// loss reaches the server in its push, which stops the run as diverged on every rank.
TEST_F(MpiParamServerEndToEnd, DivergenceOnARemoteRankStopsTheRun) {
  const ProcessResult r =
      run(mpirun_np(2),
          "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --step 1e30 "
          "--placement none --algo param-server --threads 1 --epochs 50 --backend mpi",
          "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  EXPECT_EQ(d["stop_reason"], "diverged") << d.dump();
  const json& work = d["work"];
  EXPECT_EQ(work["gradients"].get<std::int64_t>(),
            work["contributed"].get<std::int64_t>() + work["lost"]["total"].get<std::int64_t>());
}

}  // namespace
}  // namespace psgd::test
