// harness/test/mpi_slurm_end_to_end_test.cpp — MPI runs launched with srun on the private
// single-host Slurm (local_slurm.hpp; issue #22): a sweep point with 2 ranks submitted with
// `--backend slurm` is one array task of --ntasks=2 whose run starts its ranks with srun, and the
// documented batch script (docs/examples/mpi-sync.sbatch, shown in docs/distributed.md) runs a
// 2-task job. Skips, with the reason, where Slurm cannot start (not root, `make slurm-deps`
// missing), where psgd has no MPI, or where Slurm's MPI plugin (PMIx, else PMI2: `srun
// --mpi=list`) cannot start Open MPI's ranks. Suite Mpi*: labelled `mpi`, serial, not in the
// sanitizer presets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/local_slurm.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::LocalSlurm;

// A submission of one tiny run ends in seconds here; this bounds a loaded CI.
constexpr double kJobSeconds = 90;
// The run of every test: sync over 2 ranks x 1 thread, 2 passes of a small synthetic set.
constexpr const char* kRunOptions =
    "--dataset synthetic-dense:1024x16x4 --model mlp:32 --batch 16 --step 0.1 --epochs 2 "
    "--placement none";

// Every rank's gradients add up to the run's.
void expect_two_ranks_adding_up(const json& doc) {
  ASSERT_TRUE(doc["ranks"].is_array()) << doc.dump();
  ASSERT_EQ(doc["ranks"].size(), 2U);
  EXPECT_EQ(
      doc["ranks"][0]["gradients"].get<long long>() + doc["ranks"][1]["gradients"].get<long long>(),
      doc["work"]["gradients"].get<long long>());
}

class MpiSlurmEndToEnd : public psgd::test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    if (!ProcessGroup::built_in()) GTEST_SKIP() << "psgd was built without MPI";
    slurm_ = std::make_unique<LocalSlurm>();
    if (!slurm_->skip_reason().empty()) GTEST_SKIP() << "no local Slurm: " << slurm_->skip_reason();
    const CommandResult plugins = run_command({"srun", "--mpi=list"}, 30);
    const std::string listed = plugins.out + plugins.err;
    mpi_type_ = listed.find("pmix") != std::string::npos   ? "pmix"
                : listed.find("pmi2") != std::string::npos ? "pmi2"
                                                           : "";
    if (mpi_type_.empty()) GTEST_SKIP() << "Slurm has no PMIx or PMI2 plugin: " << listed;
    // srun (in the sweep's task and in the batch script) takes the plugin from the environment.
    setenv("SLURM_MPI_TYPE", mpi_type_.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): one thread
    // Can the plugin start Open MPI's ranks at all? A 2-task run outside any script says.
    const std::string probe = (scratch_ / "probe.json").string();
    std::vector<std::string> argv = {"srun",      "--ntasks=2", "--cpus-per-task=1",
                                     PSGD_BINARY, "run",        "--backend",
                                     "mpi",       "--algo",     "sync"};
    for (const char* w : {"--dataset", "synthetic-dense:256x8x2", "--model", "linear", "--epochs",
                          "1", "--placement", "none", "--out"}) {
      argv.emplace_back(w);
    }
    argv.push_back(probe);
    const CommandResult started = run_command(argv, kJobSeconds);
    if (started.exit_code != 0 || !fs::exists(probe) ||
        json::parse(psgd::test::slurp(probe))["ranks"].size() != 2) {
      GTEST_SKIP() << "srun --mpi=" << mpi_type_ << " cannot start Open MPI's 2 ranks here (exit "
                   << started.exit_code << "): " << started.err.substr(0, 600);
    }
  }
  void TearDown() override {
    unsetenv("SLURM_MPI_TYPE");  // NOLINT(concurrency-mt-unsafe): one thread
    if (slurm_) {
      EXPECT_EQ(slurm_->stop(), "") << "a daemon outlived SIGTERM";
    }
    ScratchDirTest::TearDown();
  }

  std::unique_ptr<LocalSlurm> slurm_;
  std::string mpi_type_;
};

TEST_F(MpiSlurmEndToEnd, APointWithTwoRanksRunsAsOneArrayTaskOfTwoSlurmTasks) {
  const std::string spec = psgd::test::write_text(scratch_ / "spec.json", R"({
    "name": "e2e-slurm-mpi",
    "base": {"dataset": "synthetic-dense:1024x16x4", "model": "mlp:32", "batch": 16,
             "step": 0.1, "epochs": 2, "placement": "none", "algo": "sync", "threads": 1},
    "axes": {"ranks": [2]},
    "timeout_seconds": 60
  })")
                               .string();
  const std::vector<PlannedRun> plan = expand(load_sweep_spec(spec, ""));
  ASSERT_EQ(plan.size(), 1U);
  const std::string results = "--results-dir=" + (scratch_ / "results").string();
  const CommandResult dry =
      run_command({PSGD_BINARY, "sweep", spec, results, "--backend=slurm", "--dry-run"}, 60);
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("#SBATCH --ntasks=2\n#SBATCH --cpus-per-task=1\n"));

  const CommandResult submitted =
      run_command({PSGD_BINARY, "sweep", spec, results, "--backend=slurm"}, 60);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err << submitted.out;
  EXPECT_THAT(submitted.out, HasSubstr("1 CPU(s) each per rank, 2 ranks"));
  ASSERT_TRUE(LocalSlurm::wait_until(
      [] {
        const CommandResult q = run_command({"squeue", "-h", "--name=psgd-e2e-slurm-mpi"}, 30);
        return q.exit_code == 0 && q.out.empty();
      },
      kJobSeconds))
      << slurm_->logs();
  const CommandResult collected =
      run_command({PSGD_BINARY, "sweep", spec, results, "--collect"}, 60);
  ASSERT_EQ(collected.exit_code, 0) << collected.err;
  EXPECT_THAT(collected.out, HasSubstr("1 runs: 1 complete"));
  const fs::path doc_path = scratch_ / "results" / "e2e-slurm-mpi" / (plan[0].run_id + ".json");
  const json doc = json::parse(psgd::test::slurp(doc_path));
  EXPECT_THAT(doc["status"].get<std::string>(), ::testing::AnyOf("converged", "not_converged"))
      << doc.dump();
  expect_two_ranks_adding_up(doc);
  EXPECT_EQ(doc["sweep"]["launcher"][0], "srun");
  EXPECT_EQ(doc["slurm"]["node"], slurm_->node());
}

// The documented script, as committed, with this cluster's one node and a tiny run: sbatch
// --wait returns when the job has ended.
TEST_F(MpiSlurmEndToEnd, TheDocumentedBatchScriptRunsTwoRanks) {
  const std::string out = (scratch_ / "doc.json").string();
  setenv("PSGD", PSGD_BINARY, 1);         // NOLINT(concurrency-mt-unsafe): one thread
  setenv("RUN_OPTIONS", kRunOptions, 1);  // NOLINT(concurrency-mt-unsafe)
  setenv("OUT", out.c_str(), 1);          // NOLINT(concurrency-mt-unsafe)
  const std::string script =
      (fs::path(PSGD_SOURCE_DIR) / "docs" / "examples" / "mpi-sync.sbatch").string();
  const CommandResult job =
      run_command({"sbatch", "--wait", "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1",
                   "--output=" + (scratch_ / "job.out").string(), script},
                  kJobSeconds);
  unsetenv("PSGD");         // NOLINT(concurrency-mt-unsafe)
  unsetenv("RUN_OPTIONS");  // NOLINT(concurrency-mt-unsafe)
  unsetenv("OUT");          // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(job.exit_code, 0) << job.err << psgd::test::slurp(scratch_ / "job.out")
                              << slurm_->logs();
  const json doc = json::parse(psgd::test::slurp(out));
  expect_two_ranks_adding_up(doc);
  EXPECT_EQ(doc["config"]["algo"], "sync");
}

}  // namespace
}  // namespace psgd
