// harness/test/mpi_async_exchange_end_to_end_test.cpp — `psgd run --algo async-exchange
// --backend mpi` under Open MPI's mpirun on this host (issue #22): one rank is the shared-memory
// method bit for bit; across ranks every reserved interval is merged exactly once, the budget is
// exact, the merge counts and the staleness cover every rank's workers, and the accounting adds
// up across ranks. Skipped, with the reason, without mpirun or without MPI built in. Labelled
// `mpi` (the Mpi* suites, CMakeLists.txt), and not run by the sanitizer presets (see there).
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

// 1024 samples at --batch 16: 64 updates per epoch, so --epochs 4 is a budget of 256 updates,
// which --local-steps 3 does not divide (the last interval is shorter). Under a second a launch.
const std::string kExchangeBase =
    "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --epochs 4 "
    "--placement none --algo async-exchange --local-steps 3";
const std::string kExchangeRun = kExchangeBase + " --step 0.1";
constexpr std::int64_t kExchangeBudget = 256;
// Every worker 50 times slower (--slowdown names a rank's local workers, on every rank): without
// it, on this small model, rank 0's workers (no round trip) could spend the whole budget before a
// remote worker's first pull is served, and the test would not see the other ranks' merges.
const std::string kSlowWorkers = " --slowdown 0:50,1:50";

using MpiAsyncExchangeEndToEnd = MpiRunTest;

// One rank has no remote workers: its workers run the shared-memory loop on the local lock, so
// one thread (a deterministic order of merges) gives the same parameters, losses and work.
TEST_F(MpiAsyncExchangeEndToEnd, OneRankReproducesTheSharedMemoryMethodBitForBit) {
  for (const std::string merge : {"average", "delta"}) {
    const std::string args = kExchangeRun + " --threads 1 --merge " + merge;
    const ProcessResult local = run("", args, "local");
    ASSERT_EQ(local.exit_code, 0) << local.err;
    const ProcessResult mpi = run(mpirun_np(1), args + " --backend mpi", "mpi");
    ASSERT_EQ(mpi.exit_code, 0) << mpi.err;
    EXPECT_EQ(params("mpi"), params("local")) << merge << ": parameters differ";
    EXPECT_EQ(series_without_times(doc("mpi")), series_without_times(doc("local"))) << merge;
    EXPECT_EQ(doc("mpi")["work"], doc("local")["work"]) << merge;
    EXPECT_EQ(doc("mpi")["algorithm"]["merges"], doc("local")["algorithm"]["merges"]);
  }
}

// Two ranks of two threads, --merge delta (the request carries the start too): the budget is
// applied exactly, every reserved interval is merged once (ceil(256 / 3) intervals at least,
// one per merge), the merges and their staleness count all four workers, and every gradient of
// every rank is contributed (no stop, so nothing is discarded).
TEST_F(MpiAsyncExchangeEndToEnd, TwoRanksMergeEveryIntervalWithinAnExactBudget) {
  const ProcessResult r =
      run(mpirun_np(2), kExchangeRun + " --threads 2 --merge delta --backend mpi" + kSlowWorkers,
          "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  EXPECT_EQ(d["updates"]["applied"], kExchangeBudget);
  EXPECT_EQ(d["updates"]["budget"], kExchangeBudget);
  const json& a = d["algorithm"];
  const auto per_worker = a["merges_per_worker"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(per_worker.size(), 4U) << "every rank's workers, numbered rank x T + slot";
  const std::int64_t merges = a["merges"].get<std::int64_t>();
  EXPECT_EQ(std::accumulate(per_worker.begin(), per_worker.end(), std::int64_t{0}), merges);
  EXPECT_GE(merges, (kExchangeBudget + 2) / 3);
  EXPECT_EQ(a["merge_staleness"]["count"], merges);
  // One staleness entry per applied update, recorded on the home rank for every rank's merges.
  EXPECT_EQ(d["staleness"]["count"], kExchangeBudget);
  // The accounting: every merged step is one contributed gradient, on whichever rank.
  EXPECT_EQ(d["work"]["contributed"], kExchangeBudget);
  EXPECT_EQ(d["work"]["gradients"], kExchangeBudget);
  EXPECT_EQ(d["work"]["lost"]["total"], 0);
  ASSERT_EQ(d["ranks"].size(), 2U);
  std::int64_t gradients = 0;
  for (const json& rank : d["ranks"]) gradients += rank["gradients"].get<std::int64_t>();
  EXPECT_EQ(gradients, kExchangeBudget) << "the ranks block adds up to the work block";
  // Rank 1's workers pull and merge through the link: they sent bytes and spent time in it.
  const json& remote = d["ranks"][1];
  EXPECT_GT(remote["gradients"].get<std::int64_t>(), 0);
  EXPECT_GT(remote["bytes_sent"].get<std::int64_t>(), 0);
  EXPECT_GT(remote["communication_seconds"].get<double>(), 0.0);
  EXPECT_EQ(d["pace"]["computed_per_worker"].size(), 4U);
}

// Three ranks of one thread, average merge: the same invariants at another shape, and the run
// still learns (the loss falls from the initial checkpoint to the last). Rank 2 merging at all
// needs it to pull before ranks 0 and 1 have reserved the whole budget: the home link's opening
// ends in a barrier (home_link_mpi.cpp), so no rank's worker starts before every rank's link is
// open, and each rank's first pull comes within a scheduling slice of the others'.
TEST_F(MpiAsyncExchangeEndToEnd, ThreeRanksOfOneThreadApplyTheBudgetAndLearn) {
  const ProcessResult r =
      run(mpirun_np(3), kExchangeRun + " --threads 1 --merge average --backend mpi --slowdown 0:50",
          "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  EXPECT_EQ(d["updates"]["applied"], kExchangeBudget);
  EXPECT_EQ(d["work"]["contributed"], kExchangeBudget);
  EXPECT_EQ(d["algorithm"]["merges_per_worker"].size(), 3U);
  ASSERT_EQ(d["ranks"].size(), 3U);
  std::int64_t gradients = 0;
  for (const json& rank : d["ranks"]) gradients += rank["gradients"].get<std::int64_t>();
  EXPECT_EQ(gradients, kExchangeBudget);
  EXPECT_GT(d["ranks"][2]["gradients"].get<std::int64_t>(), 0) << "rank 2 merged too";
  const json& series = d["series"];
  ASSERT_GE(series.size(), 2U);
  EXPECT_LT(series.back()["train_loss"].get<double>(), series.front()["train_loss"].get<double>());
}

// A step of 1e4 diverges within the first intervals, on whichever rank: the run stops as
// diverged on every rank (a stop crosses ranks at the exchanges), ends by itself, and every
// computed gradient is either contributed or discarded at the end, across the ranks.
TEST_F(MpiAsyncExchangeEndToEnd, ADivergedRunStopsEveryRankAndTheAccountingAddsUp) {
  const ProcessResult r =
      run(mpirun_np(2),
          kExchangeBase + " --threads 2 --step 1e4 --merge average --backend mpi" + kSlowWorkers,
          "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  EXPECT_EQ(d["status"], "diverged");
  const json& w = d["work"];
  EXPECT_EQ(w["gradients"].get<std::int64_t>(),
            w["contributed"].get<std::int64_t>() + w["lost"]["total"].get<std::int64_t>());
  EXPECT_EQ(w["lost"]["dropped"], 0);
  EXPECT_EQ(w["lost"]["abandoned"], 0);
  EXPECT_EQ(d["updates"]["applied"], w["contributed"]) << "every contributed step was applied";
  std::int64_t gradients = 0;
  for (const json& rank : d["ranks"]) gradients += rank["gradients"].get<std::int64_t>();
  EXPECT_EQ(gradients, w["gradients"].get<std::int64_t>());
}

}  // namespace
}  // namespace psgd::test
