// End-to-end: every figure script in plots/ draws its figure from a real (tiny) sweep.
//
// Each experiments/<family>.json is shrunk to a fixture sweep that keeps its axes (first two
// values of each) but trains a linear model on a small synthetic set, is run with the real
// `psgd sweep`, and plots/<family>.py must then write <family>.png and .pdf from it. This keeps
// the scripts, the specs and the index columns in step. Skipped when /usr/bin/python3 has no
// matplotlib.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kPython = "/usr/bin/python3";

// Runs argv to its end; returns the exit code (-1 for a signal or timeout) and the output tail.
std::pair<int, std::string> run(const std::vector<std::string>& argv, const fs::path& log) {
  ChildProcess child(argv, log.string(), 120);
  for (;;) {
    if (const auto o = child.poll()) {
      const int code = o->kind == ChildOutcome::Kind::kExited ? o->exit_code : -1;
      return {code, read_tail(log.string(), 8192)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class SweepPlotsEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (access(kPython, X_OK) != 0 ||
        run({kPython, "-c", "import matplotlib, numpy"}, log()).first != 0) {
      GTEST_SKIP() << kPython << " with matplotlib and numpy is needed to draw the figures";
    }
  }
  fs::path dir() const {
    return fs::path(::testing::TempDir()) / ("psgd_plots_" + std::to_string(getpid()));
  }
  fs::path log() const {
    fs::create_directories(dir());
    return dir() / "child.log";
  }
};

// The family's quick scale with the same axis names, two values of each, on data that trains in
// milliseconds.
ordered_json fixture_spec(const std::string& family) {
  const fs::path path = fs::path(PSGD_SOURCE_DIR) / "experiments" / (family + ".json");
  ordered_json spec = load_sweep_spec(path.string(), "quick").resolved;
  spec["name"] = "plot-" + family;
  spec.erase("description");
  spec.erase("seed_base");
  spec.erase("seeds");
  spec["repetitions"] = 2;
  spec["timeout_seconds"] = 60;
  ordered_json& base = spec["base"];
  base["dataset"] = "synthetic-dense:2048x8x4";
  base["model"] = "linear";
  base.erase("epochs");
  base.erase("eval-samples");
  base["updates"] = 40;
  base["checkpoints"] = 2;
  for (auto& [axis, values] : spec["axes"].items()) {
    if (values.size() > 2) values.erase(values.begin() + 2, values.end());
  }
  return spec;
}

TEST_P(SweepPlotsEndToEnd, ScriptDrawsItsFigureFromASweep) {
  const std::string family = GetParam();
  const fs::path spec_path = dir() / (family + ".json");
  std::ofstream(spec_path) << fixture_spec(family).dump(2);
  const fs::path results = dir() / "results";
  const auto [sweep_code, sweep_log] =
      run({PSGD_BINARY, "sweep", spec_path.string(), "--results-dir=" + results.string()}, log());
  ASSERT_EQ(sweep_code, 0) << sweep_log;

  const fs::path out = dir() / ("figures-" + family);
  const fs::path script = fs::path(PSGD_SOURCE_DIR) / "plots" / (family + ".py");
  const auto [plot_code, plot_log] =
      run({kPython, script.string(), "--results", (results / ("plot-" + family)).string(), "--out",
           out.string()},
          log());
  ASSERT_EQ(plot_code, 0) << plot_log;
  for (const char* ext : {".png", ".pdf"}) {
    const fs::path file = out / (family + ext);
    ASSERT_TRUE(fs::exists(file)) << file << "\n" << plot_log;
    EXPECT_GT(fs::file_size(file), 1000u) << file;
  }
}

INSTANTIATE_TEST_SUITE_P(SweepFigures, SweepPlotsEndToEnd,
                         ::testing::Values("threads", "hyperparams", "staleness", "backoff",
                                           "persistence", "reference"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace psgd
