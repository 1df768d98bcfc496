// The pre-flight checks `psgd run` and the sweep's point check share (harness/run/preflight.hpp):
// each names the option the user gave, whichever command calls it.
#include "harness/run/preflight.hpp"

#include <gtest/gtest.h>

#include <string>

#include "algorithms/registry.hpp"
#include "common/errors.hpp"
#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

using test::config_error_of;

TEST(Preflight, TopologyErrorsNameTheRunsOptions) {
  RunConfig cfg;
  cfg.topology_synthetic = "pack:two";
  EXPECT_NE(config_error_of([&] { (void)run_topology(cfg); }).find("--topology-synthetic"),
            std::string::npos);
  cfg.topology_synthetic = "pack:1 core:4 pu:2";
  EXPECT_EQ(run_topology(cfg).pus().size(), 8U);
}

TEST(Preflight, ChoicesAreCheckedInTheRunsOrderWithOneStyleOfMessage) {
  RunConfig cfg;
  cfg.activation = "tanh";
  cfg.algorithm = "no-such-algorithm";
  EXPECT_EQ(config_error_of([&] { (void)check_choices(cfg); }),
            "--activation must be relu or sigmoid, got 'tanh'");
  cfg.activation = "sigmoid";
  cfg.init = "normal:0.5";
  EXPECT_NE(config_error_of([&] { (void)check_choices(cfg); }).find("no-such-algorithm"),
            std::string::npos);
  cfg.algorithm = "seq";
  const RunChoices choices = check_choices(cfg);
  EXPECT_EQ(choices.activation, Activation::kSigmoid);
  EXPECT_EQ(choices.init.kind, InitSpec::Kind::kNormal);
  EXPECT_EQ(choices.init.sigma, 0.5);
}

TEST(Preflight, PlanCheckedRefusesMoreWorkersThanCpusUnlessUnpinned) {
  RunConfig cfg;
  cfg.topology_synthetic = "pack:1 core:2 pu:1";
  const Topology topology = run_topology(cfg);
  const NumaSupport numa;
  EXPECT_NE(config_error_of([&] {
              (void)plan_checked(parse_placement_choice(cfg), topology, 3, numa);
            }).find("--placement none"),
            std::string::npos);
  cfg.placement = "none";
  EXPECT_EQ(plan_checked(parse_placement_choice(cfg), topology, 3, numa).size(), 3U);
}

TEST(Preflight, TheBatchMustFitTheTrainingSet) {
  RunConfig cfg;
  cfg.batch = 65;
  EXPECT_EQ(config_error_of([&] { check_batch_fits(cfg, 64, "tiny"); }),
            "--batch 65 exceeds the 64 training samples of tiny");
  cfg.batch = 64;
  EXPECT_NO_THROW(check_batch_fits(cfg, 64, "tiny"));
}

// --backend mpi is refused in one place (the registry), before MPI starts and with a group
// alike, listing the methods that run across processes.
TEST(Preflight, AMethodWithoutAnMpiCombineRefusesTheBackendInTheRegistrysWords) {
  RunConfig cfg;
  cfg.algorithm = "mutex";
  cfg.backend = Backend::kMpi;
  const std::string refusal = config_error_of([&] { (void)check_choices(cfg); });
  EXPECT_EQ(refusal, config_error_of([] { builtin_algorithms().check_across_processes("mutex"); }));
  EXPECT_EQ(refusal, "--backend mpi applies to: " + builtin_algorithms().across_processes() +
                         " (not --algo mutex)");
  cfg.algorithm = "sync";
  EXPECT_NO_THROW((void)check_choices(cfg));
}

}  // namespace
}  // namespace psgd
