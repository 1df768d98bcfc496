// End-to-end: every figure script in plots/ draws its figure from a real (tiny) sweep.
//
// Each experiments/<family>.json is shrunk to a fixture sweep that keeps its axes (first two
// values of each) but trains a linear model on a small synthetic set, is run with the real
// `psgd sweep`, and plots/<figure>.py must then write <figure>.png and .pdf from it, where a
// figure is the family itself or <family>_<name> (a further figure of the same runs, as
// plots/make_figures.sh draws them). This keeps the scripts, the specs and the index columns in
// step. Skipped when /usr/bin/python3 has no matplotlib or pandas (`make plots-deps` installs
// both).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/process_group.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kPlotsPython = "/usr/bin/python3";

// Every figure script: plots/<family>.py, and plots/<family>_<name>.py for further figures of the
// family's runs (see plots/make_figures.sh).
std::vector<std::string> figures() {
  return {"threads",           "threads_curves", "hyperparams", "staleness",
          "staleness_threads", "backoff",        "persistence", "reference",
          "attempts",          "memory",         "cnn",         "cnn_staleness",
          "cnn_attempts",      "cnn_memory",     "schemes",     "averaging",
          "param-server",      "hybrid",         "step-rules",  "averaging-mpi",
          "param-server-mpi",  "efficiency",     "replication"};
}

// The sweep a figure is drawn from: its family's, and for the figures across studies (one panel
// per sweep folder: plots/efficiency.py), the threads study's.
std::string family_of(const std::string& figure) {
  if (figure == "efficiency") return "threads";
  return figure.substr(0, figure.find('_'));
}

// Whether a fixture may launch points across processes: mpirun and MPI built in, and not a
// sanitizer build (Open MPI is not instrumented: the `mpi` tests stay out of those presets, see
// CMakeLists.txt). Where it may not, the fixture runs every point of a ranks bundle as 1 rank.
bool fixture_launches_ranks() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return false;
#else
  return ProcessGroup::built_in() && test::run_shell("command -v mpirun").exit_code == 0;
#endif
}

// Runs argv to its end (in the folder of `log`); returns the exit code (-1 for a signal or
// timeout) and the tail of what it printed.
std::pair<int, std::string> run(const std::vector<std::string>& argv, const fs::path& log) {
  const test::TimedProcessResult r = test::run_to_end(argv, log.parent_path(), 120);
  const int code = r.outcome.kind == ChildOutcome::Kind::kExited ? r.outcome.exit_code : -1;
  const std::string printed = r.out + r.err;
  return {code, printed.substr(printed.size() > 8192 ? printed.size() - 8192 : 0)};
}

class SweepPlotsEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (access(kPlotsPython, X_OK) != 0 ||
        run({kPlotsPython, "-c", "import matplotlib, numpy, pandas"}, log()).first != 0) {
      GTEST_SKIP() << kPlotsPython
                   << " with matplotlib, numpy and pandas (make plots-deps) is needed to "
                   << "draw the figures";
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
    // Where the fixture cannot launch ranks (no MPI, or a sanitizer build) an axis of ranks x
    // threads bundles keeps its first value at 1 rank: two bundles turned into 1 rank would
    // differ in threads alone, which the figure refuses to merge.
    const bool bundles_ranks = std::any_of(values.begin(), values.end(), [](const auto& v) {
      return v.is_object() && v.contains("ranks");
    });
    if (bundles_ranks && !fixture_launches_ranks()) {
      values.erase(values.begin() + 1, values.end());
      values[0]["ranks"] = 1;
    }
  }
  return spec;
}

TEST_P(SweepPlotsEndToEnd, ScriptDrawsItsFigureFromASweep) {
  const std::string figure = GetParam();
  const std::string family = family_of(figure);
  const fs::path spec_path = dir() / (family + ".json");
  std::ofstream(spec_path) << fixture_spec(family).dump(2);
  const fs::path results = dir() / "results";
  const auto [sweep_code, sweep_log] =
      run({PSGD_BINARY, "sweep", spec_path.string(), "--results-dir=" + results.string()}, log());
  ASSERT_EQ(sweep_code, 0) << sweep_log;

  const fs::path out = dir() / ("figures-" + figure);
  const fs::path script = fs::path(PSGD_SOURCE_DIR) / "plots" / (figure + ".py");
  const auto [plot_code, plot_log] =
      run({kPlotsPython, script.string(), "--results", (results / ("plot-" + family)).string(),
           "--out", out.string()},
          log());
  ASSERT_EQ(plot_code, 0) << plot_log;
  for (const char* ext : {".png", ".pdf"}) {
    const fs::path file = out / (figure + ext);
    ASSERT_TRUE(fs::exists(file)) << file << "\n" << plot_log;
    EXPECT_GT(fs::file_size(file), 1000u) << file;
  }
}

INSTANTIATE_TEST_SUITE_P(SweepFigures, SweepPlotsEndToEnd, ::testing::ValuesIn(figures()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           // gtest names are letters, digits and '_': param-server -> param_server
                           std::string name = p.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Every script in plots/ (but the helpers, tables, nightly.py and nightly_ab.py, which draw the
// nightly jobs' histories and are tested elsewhere) is one of figures(), so none goes untested, and
// every spec in experiments/ has its figure.
TEST(SweepPlots, EveryScriptAndSpecIsCovered) {
  const fs::path source(PSGD_SOURCE_DIR);
  // Not sweep figures: the package's __init__, the shared helpers, the missing-module line, the
  // loader and its CSV export, the scheme studies' verdict table (these tested by
  // PlotsLoader.Unittest), the nightly job's figure (run by NightlyEndToEnd), the A/B job's
  // history (plots/test/test_nightly_ab.py, in PlotsLoader.Unittest) and `psgd
  // report`'s page (ReportEndToEnd, PlotsReport.Browser).
  const std::set<std::string> not_figures = {"__init__",        "common",         "sweep_folder",
                                             "missing_modules", "psgd_results",   "export_csv",
                                             "nightly",         "nightly_ab",     "scheme_verdicts",
                                             "report",          "report_sources", "report_curves"};
  std::set<std::string> scripts;
  for (const auto& entry : fs::directory_iterator(source / "plots")) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() == ".py" && not_figures.count(stem) == 0) {
      scripts.insert(entry.path().stem().string());
    }
  }
  const std::vector<std::string> listed = figures();
  EXPECT_EQ(scripts, std::set<std::string>(listed.begin(), listed.end()));
  for (const auto& entry : fs::directory_iterator(source / "experiments")) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_TRUE(scripts.count(entry.path().stem().string()) == 1) << entry.path();
  }
}

}  // namespace
}  // namespace psgd
