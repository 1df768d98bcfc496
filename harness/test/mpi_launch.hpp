// harness/test/mpi_launch.hpp — what the MPI end-to-end tests share: why a host cannot run them,
// and the mpirun line they launch psgd with.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "algorithms/process_group.hpp"
#include "harness/test/psgd_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {

// Why this host cannot run the MPI tests, or "" when it can.
inline std::string why_no_mpi() {
  if (!ProcessGroup::built_in()) return "psgd was built without MPI";
  if (run_shell("command -v mpirun").exit_code != 0) return "mpirun is not installed";
  return "";
}

// mpirun as root on one host, with more ranks than cores allowed (CI runs as root on 2 cores),
// under a timeout: a hang fails its test within a minute (exit 124; KILL 5 s after TERM) instead
// of waiting for ctest's limit and leaving busy-polling ranks on the cores after it.
inline std::string mpirun_np(int ranks, const std::string& options = "--oversubscribe") {
  return "timeout -k 5 60 mpirun --allow-run-as-root " + options + " -np " + std::to_string(ranks) +
         " ";
}

// A run document's series without its times (which no two runs share): what two runs of the
// same training must agree on.
inline nlohmann::json series_without_times(const nlohmann::json& doc) {
  nlohmann::json series = doc.at("series");
  for (nlohmann::json& point : series) point.erase("seconds");
  return series;
}

// A scratch folder for the runs of one test, skipped (with the reason) where MPI cannot run.
class MpiRunTest : public ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    if (const std::string why = why_no_mpi(); !why.empty()) GTEST_SKIP() << why;
  }
  // `psgd ARGS --out NAME.json --save-params NAME.bin`, under `launcher` (empty: no mpirun).
  ProcessResult run(const std::string& launcher, const std::string& args, const std::string& name) {
    const std::string out = (scratch_ / (name + ".json")).string();
    const std::string params = (scratch_ / (name + ".bin")).string();
    return run_shell(launcher + PSGD_BINARY + " " + args + " --out " + out + " --save-params " +
                     params);
  }
  nlohmann::json doc(const std::string& name) {
    return nlohmann::json::parse(slurp(scratch_ / (name + ".json")));
  }
  std::string params(const std::string& name) { return slurp(scratch_ / (name + ".bin")); }
};

}  // namespace psgd::test
