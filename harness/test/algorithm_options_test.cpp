// Algorithm options end to end through the option table: each algorithm accepts exactly the
// options its registry entry lists, the rest are rejected by one generic check; enum options
// parse through their name tables; `psgd run --help` and `psgd list` show the options per
// algorithm; and a toy algorithm with an option of its own plugs in through one file and one
// registry line (toy_algorithm.hpp), which is all it takes for the contract test to hold it to
// every duty of algorithms/algorithm.hpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "algorithms/locks.hpp"
#include "algorithms/retry_options.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/contract_checks.hpp"
#include "algorithms/test/toy_models.hpp"
#include "common/errors.hpp"
#include "harness/run/run_config.hpp"
#include "harness/test/toy_algorithm.hpp"

namespace psgd {
namespace {

using ::testing::HasSubstr;

std::string option_error_of(std::vector<std::string_view> args,
                            const AlgorithmRegistry& registry = builtin_algorithms()) {
  try {
    const RunConfig c = parse_run_args(args, registry);
    registry.check(c.algorithm, algorithm_setup(c));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(AlgorithmOptions, AnOptionAnAlgorithmDoesNotTakeIsRejectedNamingWhoTakesIt) {
  EXPECT_EQ(option_error_of({"--algo=seq", "--persistence=3"}),
            "--persistence applies to: leashed, replicated (not --algo seq)");
  EXPECT_EQ(option_error_of({"--algo=mutex", "--test-before-cas"}),
            "--test-before-cas applies to: leashed, replicated (not --algo mutex)");
  EXPECT_EQ(option_error_of({"--algo=hogwild", "--threads=2", "--backoff=linear"}),
            "--backoff applies to: mutex, rwlock, hogwild-atomic, leashed, replicated (not "
            "--algo hogwild)");
  EXPECT_EQ(option_error_of({"--algo=sync", "--threads=2", "--backoff-min=100"}),
            "--backoff-min applies to: mutex, rwlock, hogwild-atomic, leashed, replicated (not "
            "--algo sync)");
  EXPECT_EQ(option_error_of({"--algo=leashed", "--lock=os"}),
            "--lock applies to: mutex, rwlock, replicated (not --algo leashed)");
  EXPECT_EQ(option_error_of({"--algo=mutex", "--rwlock-prefer=reader"}),
            "--rwlock-prefer applies to: rwlock, replicated (not --algo mutex)");
  EXPECT_EQ(option_error_of({"--algo=hogwild-atomic", "--backoff-jitter=0"}), "no error");
}

TEST(AlgorithmOptions, AnOptionAtItsDefaultIsAcceptedEverywhere) {
  // A sweep may set an option for every point; at its default it changes nothing anywhere.
  EXPECT_EQ(option_error_of({"--algo=seq", "--persistence=inf", "--backoff=none", "--lock=spin"}),
            "no error");
  EXPECT_EQ(option_error_of({"--algo=sync", "--backoff-min=256", "--rwlock-prefer=writer"}),
            "no error");
}

TEST(AlgorithmOptions, EnumOptionsParseThroughTheirNameTables) {
  EXPECT_EQ(option_error_of({"--algo=mutex", "--lock=futex"}),
            "--lock must be spin or os, got 'futex'");
  EXPECT_EQ(option_error_of({"--algo=rwlock", "--rwlock-prefer=fair"}),
            "--rwlock-prefer must be reader or writer, got 'fair'");
  EXPECT_EQ(option_error_of({"--algo=mutex", "--backoff=random"}),
            "--backoff must be none, constant, linear or exponential, got 'random'");
  const RunConfig c = parse_run_args(
      std::vector<std::string_view>{"--algo=rwlock", "--lock=os", "--rwlock-prefer=reader"});
  EXPECT_EQ(c.algorithm_options.get<LockMode>(lock_option()), LockMode::kOs);
  EXPECT_EQ(c.algorithm_options.get<RwPrefer>(rwlock_prefer_option()), RwPrefer::kReader);
  EXPECT_EQ(config_to_json(c)["lock"], "os");
  EXPECT_EQ(config_to_json(c)["rwlock_prefer"], "reader");
}

TEST(AlgorithmOptions, FactoriesCheckTheirValues) {
  EXPECT_THAT(option_error_of({"--algo=mutex", "--lock=os", "--backoff=linear"}),
              HasSubstr("--backoff linear needs --lock spin"));
  EXPECT_THAT(option_error_of({"--algo=leashed", "--backoff-min=1000", "--backoff-max=10"}),
              HasSubstr("is below --backoff-min"));
  EXPECT_THAT(option_error_of({"--algo=leashed", "--backoff-max=2000000000"}),
              HasSubstr("at most 1e9"));
  EXPECT_EQ(option_error_of({"--algo=seq", "--threads=2"}),
            "--algo seq runs with --threads 1, got 2");
  EXPECT_THAT(option_error_of({"--algo=nope"}),
              HasSubstr("unknown algorithm 'nope'; valid: seq, mutex"));
}

TEST(AlgorithmOptions, HelpListsTheOptionsOfEveryAlgorithm) {
  const std::string help = run_help();
  EXPECT_THAT(help, HasSubstr("  leashed: --persistence --test-before-cas --backoff"));
  EXPECT_THAT(help, HasSubstr("  seq: none"));
  EXPECT_THAT(help, HasSubstr("  rwlock: --backoff --backoff-min --backoff-max --backoff-jitter "
                              "--lock --rwlock-prefer"));
  const std::string list = builtin_algorithms().help();
  EXPECT_THAT(list, HasSubstr("options: --persistence --test-before-cas --backoff"));
}

// ---- a toy algorithm added through one file and one registry line -------------------------------

AlgorithmRegistry registry_with_toy() {
  AlgorithmRegistry registry = builtin_algorithms();
  registry.add(testing::toy_scaled_entry());  // the one registry line
  return registry;
}

TEST(ToyAlgorithm, ItsOptionParsesShowsInHelpAndIsRejectedElsewhere) {
  const AlgorithmRegistry registry = registry_with_toy();
  const RunConfig c = parse_run_args(
      std::vector<std::string_view>{"--algo=toy-scaled", "--toy-scale=0.5"}, registry);
  EXPECT_EQ(c.algorithm_options.get<double>(testing::toy_scale_option()), 0.5);
  EXPECT_EQ(config_to_json(c, registry)["toy_scale"], 0.5);
  EXPECT_THAT(run_help(registry), HasSubstr("--toy-scale=F"));
  EXPECT_THAT(run_help(registry), HasSubstr("  toy-scaled: --toy-scale"));
  EXPECT_THAT(registry.help(), HasSubstr("toy-scaled"));
  EXPECT_EQ(option_error_of({"--algo=seq", "--toy-scale=2"}, registry),
            "--toy-scale applies to: toy-scaled (not --algo seq)");
  EXPECT_EQ(option_error_of({"--algo=toy-scaled", "--toy-scale=-1"}, registry),
            "--toy-scale must be a positive number, got '-1'");
  EXPECT_THAT(option_error_of({"--algo=toy-scaled", "--persistence=1"}, registry),
              HasSubstr("--persistence applies to: leashed"));
  // The shipped registry does not know it.
  EXPECT_THAT(option_error_of({"--toy-scale=2"}), HasSubstr("unknown option '--toy-scale'"));
}

// The contract test over every entry the test's registry adds to the shipped one (the shipped
// ones are held to it by algorithms/test/contract_test.cpp): nothing names the toy here.
TEST(ToyAlgorithm, EveryAddedEntryHoldsToTheContract) {
  const AlgorithmRegistry registry = registry_with_toy();
  int added = 0;
  for (const AlgorithmEntry& e : registry.entries()) {
    const auto& shipped = builtin_algorithms().entries();
    if (std::any_of(shipped.begin(), shipped.end(),
                    [&](const AlgorithmEntry& b) { return b.name == e.name; })) {
      continue;
    }
    ++added;
    SCOPED_TRACE(std::string(e.name));
    EXPECT_EQ(testing::lines(testing::contract_violations(e)), "");
  }
  EXPECT_EQ(added, 1);  // the toy: guards the loop against checking nothing
}

TEST(ToyAlgorithm, RunsThroughTheRunnerWithItsOption) {
  const AlgorithmRegistry registry = registry_with_toy();
  const testing::LeastSquares model(4);
  const Dataset data = testing::random_floats(64, 4, 3, 1);
  auto run = [&](std::string_view scale) {
    const std::vector<std::string> args = {"--algo=toy-scaled",
                                           "--toy-scale=" + std::string(scale)};
    const std::vector<std::string_view> views(args.begin(), args.end());
    const RunConfig c = parse_run_args(views, registry);
    std::unique_ptr<Algorithm> algo = registry.make(c.algorithm, algorithm_setup(c));
    RunnerOptions o;
    o.batch_size = 4;
    o.step = 0.25F;
    o.total_updates = 50;
    return run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  };
  const TrainingOutcome half = run("0.5");
  EXPECT_EQ(half.applied_updates, 50);
  // toy-scaled at scale 0.5 and step 0.25 is seq at step 0.125, bit for bit.
  std::unique_ptr<Algorithm> seq =
      builtin_algorithms().make("seq", AlgorithmSetup{AlgorithmSettings{}, 1, 1});
  RunnerOptions o;
  o.batch_size = 4;
  o.step = 0.125F;
  o.total_updates = 50;
  const TrainingOutcome want =
      run_training(*seq, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  EXPECT_EQ(half.final_params, want.final_params);
  EXPECT_NE(run("1").final_params, want.final_params);
}

}  // namespace
}  // namespace psgd
