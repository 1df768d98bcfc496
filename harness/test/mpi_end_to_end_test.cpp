// harness/test/mpi_end_to_end_test.cpp — `psgd run --backend mpi` under Open MPI's mpirun on
// this host (issue #22): one rank is the shared-memory method bit for bit; R ranks x 1 thread of
// sync and local-sgd equal 1 rank x R threads up to rounding; the `ranks` block adds up to the
// work block; each rank pins inside its own affinity mask; a killed rank ends the job within
// seconds; ranks that disagree on the run are refused before training; the methods without an
// MPI combine refuse the backend. Skipped, with the reason, without mpirun or without MPI built
// in. Labelled `mpi` (CMakeLists.txt), and not run by the sanitizer presets (see there).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/test/mpi_launch.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A run of a few dozen rounds on a small synthetic set: a second or less per launch.
const std::string kMpiRun =
    "run --dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --step 0.1 --epochs 2 "
    "--placement none";

std::vector<double> read_doubles(const std::filesystem::path& path) {
  const std::string bytes = slurp(path);
  std::vector<double> values(bytes.size() / sizeof(double));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(double));
  return values;
}

using MpiEndToEnd = MpiRunTest;

// The MPI combine on one rank adds the same buffers in the same order and divides the same way:
// identical parameters, and identical losses in every checkpoint.
TEST_F(MpiEndToEnd, OneRankReproducesTheSharedMemoryMethodBitForBit) {
  for (const std::string algo : {"sync", "local-sgd --local-steps 3"}) {
    const std::string args = kMpiRun + " --threads 2 --algo " + algo;
    const ProcessResult local = run("", args, "local");
    ASSERT_EQ(local.exit_code, 0) << local.err;
    const ProcessResult mpi = run(mpirun_np(1), args + " --backend mpi", "mpi");
    ASSERT_EQ(mpi.exit_code, 0) << mpi.err;
    EXPECT_EQ(params("mpi"), params("local")) << algo << ": final parameters differ";
    EXPECT_EQ(series_without_times(doc("mpi")), series_without_times(doc("local"))) << algo;
    EXPECT_EQ(doc("mpi")["work"], doc("local")["work"]) << algo;
    EXPECT_EQ(doc("mpi")["ranks"].size(), 1U);
    EXPECT_FALSE(doc("local").contains("ranks")) << "a local run has no ranks block";
  }
}

// R ranks x 1 thread draw the same batches as 1 rank x R threads (streams and shards by global
// worker id), so only the order of the additions across ranks differs (MPI's reduction order
// against worker order): a few ulps per round. In double precision over 64 rounds that stays far
// below 1e-9 relative (measured: under 1e-13); a wrong seed, shard or divisor moves parameters by
// 1e-2 or more.
TEST_F(MpiEndToEnd, RanksTimesOneThreadEqualOneRankTimesThreadsUpToRounding) {
  constexpr double kRelative = 1e-9;
  for (const std::string algo : {"sync", "local-sgd --local-steps 4"}) {
    const std::string args = kMpiRun + " --precision double --algo " + algo;
    const ProcessResult local = run("", args + " --threads 3", "local");
    ASSERT_EQ(local.exit_code, 0) << local.err;
    const ProcessResult mpi = run(mpirun_np(3), args + " --threads 1 --backend mpi", "mpi");
    ASSERT_EQ(mpi.exit_code, 0) << mpi.err;
    const std::vector<double> a = read_doubles(scratch_ / "local.bin");
    const std::vector<double> b = read_doubles(scratch_ / "mpi.bin");
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, std::abs(a[i] - b[i]) / (1.0 + std::abs(a[i])));
    }
    EXPECT_LE(worst, kRelative) << algo;
    EXPECT_EQ(doc("mpi")["updates"], doc("local")["updates"]) << algo;
    EXPECT_EQ(doc("mpi")["work"]["gradients"], doc("local")["work"]["gradients"]) << algo;
  }
}

// Two ranks of two threads, each rank bound to its own core: the ranks block has both, and each
// rank's gradients are what sync computes, one per worker and agreed round (counted by each
// rank's own workers, against the round count agreed across ranks: not two sums of the same
// counters), adding up to the work block's; each rank's threads ran inside its own allowed CPUs;
// the traffic is one slice allreduce per worker and one agreement per round; and each rank
// reports its own resources.
TEST_F(MpiEndToEnd, TheRanksBlockAddsUpAndEachRankStaysInsideItsAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  const bool two_cpus = sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
  const std::string binding = two_cpus ? "--bind-to core" : "--oversubscribe";
  const ProcessResult r =
      run(mpirun_np(2, binding), kMpiRun + " --algo sync --threads 2 --backend mpi", "mpi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = doc("mpi");
  ASSERT_EQ(d["ranks"].size(), 2U);
  const std::int64_t applied = d["updates"]["applied"].get<std::int64_t>();
  ASSERT_GT(applied, 0);
  std::int64_t gradients = 0;
  std::vector<int> seen;
  for (const json& rank : d["ranks"]) {
    gradients += rank["gradients"].get<std::int64_t>();
    EXPECT_EQ(rank["threads"], 2);
    EXPECT_EQ(rank["gradients"], 2 * applied) << "rank " << rank["rank"];
    EXPECT_GT(rank["peak_rss_bytes"].get<std::int64_t>(), 0);
    EXPECT_GT(rank["cpu_seconds"].get<double>(), 0.0);
    EXPECT_FALSE(rank["host"].get<std::string>().empty());
    EXPECT_GT(rank["bytes_sent"].get<std::int64_t>(), 0);
    EXPECT_GT(rank["communication_seconds"].get<double>(), 0.0);
    EXPECT_GE(rank["waiting_seconds"].get<double>(), 0.0);
    // Per round: one allreduce of the rank's sum (by its worker 0) and one agreement.
    EXPECT_EQ(rank["collectives"], 2 * d["updates"]["applied"].get<std::int64_t>());
    const std::vector<int> allowed = rank["allowed_cpus"].get<std::vector<int>>();
    for (const int cpu : rank["cpus"].get<std::vector<int>>()) {
      EXPECT_THAT(allowed, ::testing::Contains(cpu)) << "rank " << rank["rank"];
    }
    if (two_cpus) {  // bound to one core each: disjoint masks
      for (const int cpu : allowed) EXPECT_THAT(seen, ::testing::Not(::testing::Contains(cpu)));
      seen.insert(seen.end(), allowed.begin(), allowed.end());
    }
  }
  EXPECT_EQ(gradients, d["work"]["gradients"].get<std::int64_t>());
  ASSERT_EQ(d["pace"]["computed_per_worker"].size(), 4U) << "every rank's workers are counted";
  for (const json& computed : d["pace"]["computed_per_worker"]) EXPECT_EQ(computed, applied);
  EXPECT_EQ(d["work"]["gradients"], 4 * applied);
  // The samples drawn, counted by the samplers: a batch per gradient.
  EXPECT_EQ(d["work"]["samples"], 16 * d["work"]["gradients"].get<std::int64_t>());
  EXPECT_EQ(d["algorithm"]["gradients_per_update"], 4);
}

// Rank 1 kills itself a second into a run that would last a minute: mpirun ends every rank and
// names the rank, well within the 20 s allowed here (measured: about 1.5 s).
TEST_F(MpiEndToEnd, AKilledRankEndsTheJobWithinSecondsNamingTheRank) {
  const std::string out = (scratch_ / "run.json").string();
  const TimedProcessResult r = run_to_end({"mpirun",
                                           "--allow-run-as-root",
                                           "--oversubscribe",
                                           "-np",
                                           "2",
                                           PSGD_BINARY,
                                           "run",
                                           "--dataset",
                                           "synthetic-dense:1024x16x4",
                                           "--model",
                                           "mlp:32",
                                           "--batch",
                                           "16",
                                           "--placement",
                                           "none",
                                           "--algo",
                                           "sync",
                                           "--time-limit",
                                           "60",
                                           "--backend",
                                           "mpi",
                                           "--test-fault",
                                           "kill-rank:1",
                                           "--out",
                                           out},
                                          scratch_, 20.0);
  ASSERT_EQ(r.outcome.kind, ChildOutcome::Kind::kExited) << "mpirun hung: " << r.err;
  EXPECT_NE(r.outcome.exit_code, 0);
  EXPECT_LT(r.outcome.seconds, 20.0);
  EXPECT_THAT(r.err + r.out, HasSubstr("rank 1"));
  EXPECT_FALSE(std::filesystem::exists(out)) << "no document for a run that did not finish";
}

// Ranks launched with different options (MPMD: one command line per rank) are refused before
// training, with the option named; no document is written over the results.
TEST_F(MpiEndToEnd, RanksThatDisagreeAreRefusedNamingTheOption) {
  const std::string out = (scratch_ / "run.json").string();
  const std::string args = kMpiRun + " --algo sync --backend mpi --out " + out;
  const ProcessResult r = run_shell(mpirun_np(1) + std::string(PSGD_BINARY) + " " + args +
                                    " --seed 1 : -np 1 " + PSGD_BINARY + " " + args + " --seed 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("rank 1 differs from rank 0 in --seed (2 vs 1)"));
  EXPECT_EQ(json::parse(slurp(out))["status"], "error");
  // An option of two words is named as the command line spells it, not as its JSON key.
  const ProcessResult two_words =
      run_shell(mpirun_np(1) + std::string(PSGD_BINARY) + " " + args +
                " --eval-samples 100 : -np 1 " + PSGD_BINARY + " " + args + " --eval-samples 200");
  EXPECT_THAT(two_words.err,
              HasSubstr("rank 1 differs from rank 0 in --eval-samples (200 vs 100)"));
}

// A rank fault naming no rank of the run is refused on every rank alike, before training,
// instead of leaving the fault unarmed.
TEST_F(MpiEndToEnd, ARankFaultPastTheLastRankIsRefused) {
  const ProcessResult r =
      run(mpirun_np(2), kMpiRun + " --algo sync --backend mpi --test-fault slow-rank:2", "past");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--test-fault slow-rank:2: no rank 2 in a run of 2 rank(s) (0..1)"));
  const ProcessResult alone =
      run("", kMpiRun + " --algo sync --backend mpi --test-fault kill-rank:1", "alone");
  EXPECT_EQ(alone.exit_code, 2) << alone.err;
  EXPECT_THAT(alone.err, HasSubstr("no rank 1 in a run of 1 rank(s) (0..0)"));
}

// Outside mpirun the backend runs as one rank and says so.
TEST_F(MpiEndToEnd, OutsideMpirunItRunsAsOneRankAndSaysSo) {
  const ProcessResult r = run("", kMpiRun + " --algo sync --threads 2 --backend mpi", "one");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--backend mpi outside mpirun or srun: running as one rank"));
  EXPECT_EQ(doc("one")["ranks"].size(), 1U);
}

// srun whose MPI plugin does not reach psgd's MPI starts N one-rank runs, which would all write
// the same --out: each refuses, one line, exit 3 (an error document), and trains nothing (the
// environment srun sets for a step of 2 tasks, outside any launcher).
TEST_F(MpiEndToEnd, SrunTasksThatMpiSeesAsSeparateRunsAreRefused) {
  const ProcessResult r =
      run("SLURM_STEP_NUM_TASKS=2 ", kMpiRun + " --algo sync --backend mpi", "srun");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--backend mpi: srun started 2 tasks, but MPI sees each as a run "
                               "of one rank"));
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_FALSE(std::filesystem::exists(scratch_ / "srun.bin"));
}

// Needs no mpirun: the refusal comes before MPI starts.
TEST(MpiBackendEndToEnd, MethodsWithoutAnMpiCombineRefuseTheBackend) {
  const ProcessResult r = run_psgd(kMpiRun + " --algo mutex --backend mpi");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--backend mpi applies to: sync, param-server, hybrid, local-sgd, "
                               "async-exchange, nonblocking (not --algo mutex"));
  EXPECT_TRUE(one_line(r.err)) << r.err;
  const ProcessResult bad = run_psgd(kMpiRun + " --algo sync --backend tcp");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--backend must be local or mpi"));
}

}  // namespace
}  // namespace psgd::test
