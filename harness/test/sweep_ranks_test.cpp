// The spec's `ranks` key (harness/sweep/rank_launch.hpp): validated like every key, part of a
// point's identity, no `psgd run` option but the launcher's process count (mpirun here, srun in
// a Slurm allocation, --oversubscribe only when ranks x threads exceed the CPUs), an index column
// only in sweeps that set it, and one Slurm array per ranks x threads shape asking for --ntasks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/slurm/script.hpp"
#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/sweep_test_spec.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

using nlohmann::ordered_json;
using ::testing::HasSubstr;

ordered_json ranks_spec(const char* axes) {
  ordered_json doc = minimal_spec();
  doc.erase("scales");
  doc["base"]["algo"] = "sync";
  doc["axes"] = ordered_json::parse(axes);
  doc["repetitions"] = 1;
  return doc;
}

std::string ranks_error(const ordered_json& doc) {
  try {
    (void)expand(parse_sweep_spec(doc, ""));
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << doc.dump();
  return "";
}

bool lists_word(const std::vector<std::string>& words, const std::string& word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

TEST(SweepRanks, BadValuesAreRefusedWithTheValidRange) {
  for (const char* bad : {"[0]", "[4097]", "[1.5]", "[\"two\"]", "[true]", "[-1]", "[1e9]"}) {
    const std::string msg =
        ranks_error(ranks_spec((std::string(R"({"ranks": )") + bad + "}").c_str()));
    EXPECT_THAT(msg, HasSubstr("'ranks' must be an integer from 1 to 4096")) << bad;
    EXPECT_THAT(msg, HasSubstr("axes.ranks[0]")) << bad;
  }
  ordered_json in_base = ranks_spec(R"({"threads": [1]})");
  in_base["base"]["ranks"] = 0;
  EXPECT_THAT(ranks_error(in_base), HasSubstr("base.ranks: 'ranks' must be an integer from 1"));
  // The unknown-option message lists ranks among the keys a spec may set.
  EXPECT_THAT(ranks_error(ranks_spec(R"({"rank": [2]})")), HasSubstr(", ranks"));
}

TEST(SweepRanks, RanksAboveOneRunAsMpiRanksAndAreNoRunOption) {
  const std::vector<PlannedRun> runs =
      expand(parse_sweep_spec(ranks_spec(R"({"ranks": [1, 2, "3"]})"), ""));
  ASSERT_EQ(runs.size(), 3U);
  EXPECT_EQ(runs[1].point_id, "ranks-2");
  EXPECT_FALSE(runs[0].options.contains("backend"));  // one process: the spec's backend (local)
  EXPECT_EQ(runs[1].options.at("backend"), "mpi");
  EXPECT_EQ(runs[2].options.at(kRanksKey), "3");
  const std::vector<std::string> args = runs[1].run_args("out.json");
  EXPECT_TRUE(lists_word(args, "--backend=mpi"));
  EXPECT_TRUE(std::none_of(args.begin(), args.end(),
                           [](const std::string& a) { return a.starts_with("--ranks"); }));
  EXPECT_EQ(run_ranks(runs[1].options), 2);
  EXPECT_FALSE(launched_as_ranks(runs[0].options));
  EXPECT_TRUE(launched_as_ranks(runs[1].options));
}

TEST(SweepRanks, RanksArePartOfAPointsIdentity) {
  const std::vector<PlannedRun> two = expand(parse_sweep_spec(ranks_spec(R"({"ranks": [2]})"), ""));
  const std::vector<PlannedRun> three =
      expand(parse_sweep_spec(ranks_spec(R"({"ranks": [3]})"), ""));
  EXPECT_NE(two[0].run_id.substr(two[0].run_id.size() - 6),
            three[0].run_id.substr(three[0].run_id.size() - 6));
  // A sweep that never sets ranks keeps its ids: the key is absent from the hashed options.
  const std::vector<PlannedRun> plain = expand(parse_sweep_spec(minimal_spec(), ""));
  for (const PlannedRun& r : plain) EXPECT_FALSE(r.options.contains(kRanksKey));
  // null (one process, the default) and 1 are one configuration: refused as a duplicate.
  EXPECT_THAT(ranks_error(ranks_spec(R"({"ranks": [null, 1]})")),
              HasSubstr("run the same configuration"));
}

TEST(SweepRanks, BackendLocalWithRanksIsRefused) {
  EXPECT_THAT(ranks_error(ranks_spec(R"({"ranks": [{"ranks": 2, "backend": "local"}]})")),
              HasSubstr("ranks 2 runs that many processes, which needs backend mpi"));
}

TEST(SweepRanks, TheIndexHasARanksColumnOnlyInSweepsThatSetRanksOrABackend) {
  EXPECT_FALSE(lists_word(index_option_columns(parse_sweep_spec(minimal_spec(), "")), kRanksKey));
  const SweepSpec bundled =
      parse_sweep_spec(ranks_spec(R"({"ranks": [{"ranks": 2, "threads": 1}]})"), "");
  EXPECT_TRUE(lists_word(index_option_columns(bundled), kRanksKey));
  const std::vector<PlannedRun> runs = expand(bundled);
  EXPECT_EQ(option_text(runs[0], kRanksKey), "2");
  const std::vector<PlannedRun> plain = expand(parse_sweep_spec(minimal_spec(), ""));
  EXPECT_EQ(option_text(plain[0], kRanksKey), "1");
}

TEST(SweepRanks, ExcludeRulesMatchRanksAndItsDefault) {
  ordered_json doc = ranks_spec(R"({"ranks": [1, 2, 4], "threads": [1, 2]})");
  doc["exclude"] =
      ordered_json::parse(R"([{"ranks": [4], "threads": 2}, {"ranks": 1, "threads": 1}])");
  const std::vector<PlannedRun> runs = expand(parse_sweep_spec(doc, ""));
  ASSERT_EQ(runs.size(), 4U);
  for (const PlannedRun& r : runs) {
    EXPECT_NE(r.point_id, "ranks-4_threads-2");
    EXPECT_NE(r.point_id, "ranks-1_threads-1");
  }
}

TEST(SweepRanks, MpirunBindsEachRankToItsCpusOrOversubscribes) {
  const OptionMap two_by_one = {{"ranks", "2"}, {"backend", "mpi"}, {"threads", "1"}};
  const std::vector<std::string> fits =
      rank_launch_prefix(two_by_one, RankLauncher::kMpirun, LaunchHost{.cpus = 2, .root = true});
  EXPECT_EQ(fits, (std::vector<std::string>{"mpirun", "--allow-run-as-root", "-np", "2",
                                            "--use-hwthread-cpus", "--map-by", "slot:PE=1",
                                            "--bind-to", "hwthread"}));
  const OptionMap two_by_two = {{"ranks", "2"}, {"backend", "mpi"}, {"threads", "2"}};
  EXPECT_TRUE(oversubscribes(two_by_two, LaunchHost{.cpus = 2, .root = false}));
  const std::vector<std::string> over =
      rank_launch_prefix(two_by_two, RankLauncher::kMpirun, LaunchHost{.cpus = 2, .root = false});
  EXPECT_EQ(over, (std::vector<std::string>{"mpirun", "-np", "2", "--oversubscribe", "--bind-to",
                                            "none"}));
  EXPECT_EQ(rank_launch_prefix(two_by_two, RankLauncher::kSrun, LaunchHost{}),
            (std::vector<std::string>{"srun", "--kill-on-bad-exit=1", "--ntasks=2",
                                      "--cpus-per-task=2"}));
  // backend mpi on one rank is launched too (mpirun -np 1); a plain run is not.
  EXPECT_EQ(
      rank_launch_prefix({{"backend", "mpi"}}, RankLauncher::kMpirun, LaunchHost{.cpus = 2}).at(2),
      "1");
  EXPECT_TRUE(rank_launch_prefix({{"threads", "4"}}, RankLauncher::kMpirun, LaunchHost{}).empty());
}

TEST(SweepRanks, SlurmArraysAskForATaskPerRankAndTheSpecsNodes) {
  const std::vector<PlannedRun> runs =
      expand(parse_sweep_spec(ranks_spec(R"({"ranks": [1, 2, 4], "threads": [1, 2]})"), ""));
  std::vector<std::size_t> pending(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) pending[i] = i;
  SlurmSettings settings;
  const std::vector<SlurmArray> arrays = plan_arrays(runs, pending, settings);
  ASSERT_EQ(arrays.size(), 6U);  // one per ranks x threads
  for (const SlurmArray& a : arrays) {
    for (const auto& task : a.tasks) {
      for (const std::size_t i : task) {
        EXPECT_EQ(run_ranks(runs[i].options), a.ranks);
        EXPECT_EQ(run_threads(runs[i]), a.threads);
      }
    }
  }
  SlurmScriptInputs in;
  in.sweep_id = "mpi";
  in.job_name = slurm_job_name("mpi");
  in.time_limit = "0-00:10:00";
  in.tasks_file = "/r/mpi/slurm/x.tasks";
  in.log_dir = "/r/mpi/slurm";
  in.task_argv = {"/bin/psgd", "sweep", "/s/spec.json"};
  const SlurmArray& four = arrays.back();
  ASSERT_EQ(four.ranks, 4);
  std::string script = array_script(in, four);
  EXPECT_THAT(script, HasSubstr("#SBATCH --ntasks=4\n"));
  EXPECT_THAT(script, HasSubstr("#SBATCH --cpus-per-task=2\n"));
  EXPECT_THAT(script, ::testing::Not(HasSubstr("--nodes")));  // Slurm places the ranks
  in.settings.nodes = 8;
  script = array_script(in, four);
  EXPECT_THAT(script, HasSubstr("#SBATCH --nodes=4\n"));  // no more nodes than ranks
  EXPECT_THAT(array_script(in, arrays.front()),
              HasSubstr("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n"));

  ordered_json spec = ranks_spec(R"({"ranks": [2]})");
  spec["slurm"] = {{"nodes", 2}};
  EXPECT_EQ(parse_slurm_block(spec).nodes, 2);
  spec["slurm"] = {{"nodes", -1}};
  EXPECT_THROW((void)parse_slurm_block(spec), ConfigError);
}

// docs/distributed.md shows the batch script that MpiSlurmEndToEnd submits, as it is.
TEST(SweepRanks, TheDocumentedBatchScriptIsTheTestedFile) {
  const std::filesystem::path source(PSGD_SOURCE_DIR);
  const std::string script = test::slurp(source / "docs" / "examples" / "mpi-sync.sbatch");
  ASSERT_GT(script.size(), 200U);
  EXPECT_THAT(test::slurp(source / "docs" / "distributed.md"),
              HasSubstr("```bash\n" + script + "```\n"));
}

}  // namespace
}  // namespace psgd
