// index.csv: its documented columns, one row per finished run in plan order, crashed runs'
// empty metric cells, the per-target columns after `file`, read through the typed entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "harness/sweep/crash_report.hpp"
#include "harness/sweep/run_index.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/sweep_test_spec.hpp"

namespace psgd {
namespace {

using nlohmann::json;

json finished_doc() {
  return json::parse(R"({
    "schema_version": 2, "status": "converged", "stop_reason": "budget",
    "config": {"out": "x.json.part"},
    "metrics": {"initial_train_loss": 2.3, "final_train_loss": 0.2, "final_test_loss": 0.25,
                "final_test_accuracy": 0.9, "wall_seconds": 1.5,
                "epsilon_targets": {"50%": 1.15, "25%": 0.575},
                "time_to_epsilon": {"50%": 0.5, "25%": null},
                "updates_to_epsilon": {"50%": 40, "25%": null}},
    "work": {"budget": {"kind": "epochs", "amount": 1.0, "gradients": 100},
             "gradients": 101, "samples": 3232, "contributed": 100,
             "lost": {"dropped": 1, "abandoned": 0, "discarded_at_end": 0, "total": 1},
             "passes": 1.01},
    "updates": {"applied": 100, "computed": 101, "dropped": 1},
    "throughput": {"updates_per_second": 66.6, "samples_per_second": 1000},
    "staleness": {"mean": 0.99, "p50": 1, "p99": 2, "max": 3},
    "contention": {"failed_attempts": 5, "failed_attempts_per_update": {"mean": 0.05},
                   "lock_wait_seconds": 0.01, "backoff_seconds": 0, "dropped_gradients": 1},
    "resources": {"peak_rss_bytes": 1000000, "cpu_utilisation": 1.9},
    "oversubscribed": false
  })");
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cells.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      cells.emplace_back();
    } else {
      cells.back() += ch;
    }
  }
  return cells;
}

// index.csv read back: the header and every row, each row as long as the header.
struct IndexCsv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // The cell of `column` in row `r`; "" when there is no such column (the test then fails on it).
  [[nodiscard]] std::string cell(std::size_t r, const std::string& column) const {
    const auto at = std::find(header.begin(), header.end(), column);
    EXPECT_NE(at, header.end()) << column;
    return at == header.end() ? "" : rows.at(r)[static_cast<std::size_t>(at - header.begin())];
  }
};

IndexCsv read_index_csv(const std::string& path) {
  std::ifstream in(path);
  IndexCsv csv;
  std::string line;
  if (std::getline(in, line)) csv.header = split_csv_line(line);
  while (std::getline(in, line)) {
    csv.rows.push_back(split_csv_line(line));
    EXPECT_EQ(csv.rows.back().size(), csv.header.size()) << "row " << csv.rows.size();
  }
  return csv;
}

TEST(SweepIndex, IndexHasTheDocumentedColumnsAndOneRowPerFinishedRun) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const std::vector<PlannedRun> runs = expand(spec);
  std::vector<std::optional<IndexEntry>> entries(runs.size());
  entries[0] = read_index_entry(finished_doc());
  ChildOutcome abort_outcome;
  abort_outcome.kind = ChildOutcome::Kind::kSignaled;
  abort_outcome.signal = SIGABRT;
  entries[2] =
      read_index_entry(crashed_report(spec, runs[2], abort_outcome, "x.json", "boom\n", nullptr));
  const std::string path = ::testing::TempDir() + "sweep_index_test.csv";
  write_index(path, spec, runs, entries);

  const IndexCsv csv = read_index_csv(path);
  ASSERT_EQ(csv.rows.size(), 2U);
  const std::vector<std::string>& header = csv.header;
  const std::vector<std::string> want_prefix = {"run_id",
                                                "point_id",
                                                "repetition",
                                                "seed",
                                                "threads",
                                                "batch",
                                                "algo",
                                                "step",
                                                "placement",
                                                "memory",
                                                "model",
                                                "dataset",
                                                "status",
                                                "stop_reason",
                                                "crash",
                                                "exit_code",
                                                "signal",
                                                "run_seconds",
                                                "wall_seconds",
                                                "initial_train_loss",
                                                "final_train_loss",
                                                "final_test_loss",
                                                "final_test_accuracy",
                                                "time_to_epsilon_50pct",
                                                "time_to_epsilon_25pct",
                                                "updates_to_epsilon_50pct",
                                                "updates_to_epsilon_25pct",
                                                "updates_applied"};
  ASSERT_GE(header.size(), want_prefix.size());
  EXPECT_EQ(std::vector<std::string>(
                header.begin(), header.begin() + static_cast<std::ptrdiff_t>(want_prefix.size())),
            want_prefix);
  for (const char* c : {"staleness_mean", "failed_attempts_per_update_mean", "lock_wait_seconds",
                        "dropped_gradients", "peak_rss_bytes", "file"}) {
    EXPECT_NE(std::find(header.begin(), header.end(), c), header.end()) << c;
  }
  EXPECT_EQ(csv.cell(0, "run_id"), runs[0].run_id);
  EXPECT_EQ(csv.cell(0, "status"), "converged");
  EXPECT_EQ(csv.cell(0, "time_to_epsilon_50pct"), "0.5");
  EXPECT_EQ(csv.cell(0, "time_to_epsilon_25pct"), "");
  EXPECT_EQ(csv.cell(0, "failed_attempts_per_update_mean"), "0.05");
  EXPECT_EQ(csv.cell(0, "threads"), "1");
  EXPECT_EQ(csv.cell(0, "algo"), "seq");  // the option table's default
  EXPECT_EQ(csv.cell(1, "status"), "crashed");
  EXPECT_EQ(csv.cell(1, "crash"), "signal");
  EXPECT_EQ(csv.cell(1, "signal"), "SIGABRT");
  EXPECT_EQ(csv.cell(1, "passes"), "");  // a crashed run has no work block
  EXPECT_EQ(csv.cell(1, "lost_fraction"), "");
  EXPECT_EQ(csv.cell(1, "file"), runs[2].run_id + ".json");
}

TEST(SweepIndex, IndexAppendsTargetsReachedAndTimeToAccuracyAfterTheFileColumn) {
  const SweepSpec spec = parse_sweep_spec(minimal_spec(), "");
  const std::vector<PlannedRun> runs = expand(spec);
  json doc = finished_doc();
  doc["metrics"]["epsilon_reached"] = {{"50%", true}, {"25%", false}};
  doc["metrics"]["epsilon_targets_reached"] = 1;
  doc["metrics"]["accuracy_targets"] = {{"85%", 0.85}, {"100%", 1.0}};
  doc["metrics"]["time_to_accuracy"] = {{"85%", 1.25}, {"100%", nullptr}};
  doc["metrics"]["updates_to_accuracy"] = {{"85%", 80}, {"100%", nullptr}};
  // The snapshots the targets were reached at, for the efficiency split's columns.
  doc["series"] = json::array({{{"updates", 0}, {"epoch", 0.0}, {"seconds", 0.0}},
                               {{"updates", 40}, {"epoch", 0.4}, {"seconds", 0.5}},
                               {{"updates", 80}, {"epoch", 0.8}, {"seconds", 1.25}},
                               {{"updates", 100}, {"epoch", 1.0}, {"seconds", 1.5}}});
  std::vector<std::optional<IndexEntry>> entries(runs.size());
  entries[0] = read_index_entry(doc);
  entries[1] = read_index_entry(finished_doc());  // an older document: the new cells stay empty
  const std::string path = ::testing::TempDir() + "sweep_index_accuracy_test.csv";
  write_index(path, spec, runs, entries);
  const IndexCsv csv = read_index_csv(path);
  ASSERT_EQ(csv.rows.size(), 2U);
  const std::vector<std::string>& header = csv.header;
  const auto file_at = std::find(header.begin(), header.end(), "file");
  ASSERT_NE(file_at, header.end());
  EXPECT_EQ(
      std::vector<std::string>(file_at + 1, header.end()),
      (std::vector<std::string>{
          "passes", "lost_fraction", "gradients", "epsilon_targets_reached",
          "epsilon_reached_50pct", "epsilon_reached_25pct", "time_to_accuracy_85pct",
          "time_to_accuracy_100pct", "updates_to_accuracy_85pct", "updates_to_accuracy_100pct",
          "seconds_per_pass", "passes_to_epsilon_50pct", "passes_to_epsilon_25pct",
          "passes_to_accuracy_85pct", "passes_to_accuracy_100pct"}));
  EXPECT_EQ(csv.cell(0, "file"), runs[0].run_id + ".json");
  EXPECT_EQ(csv.cell(0, "epsilon_targets_reached"), "1");
  EXPECT_EQ(csv.cell(0, "epsilon_reached_50pct"), "true");
  EXPECT_EQ(csv.cell(0, "epsilon_reached_25pct"), "false");
  EXPECT_EQ(csv.cell(0, "time_to_accuracy_85pct"), "1.25");
  EXPECT_EQ(csv.cell(0, "updates_to_accuracy_85pct"), "80");
  EXPECT_EQ(csv.cell(0, "time_to_accuracy_100pct"), "");
  EXPECT_EQ(csv.cell(0, "passes"), "1.01");
  EXPECT_EQ(csv.cell(0, "lost_fraction"), json(1.0 / 101.0).dump());
  EXPECT_EQ(csv.cell(0, "gradients"), "101");
  // wall_seconds 1.5 over the final snapshot's 1.0 pass; each target at its snapshot's epoch.
  EXPECT_EQ(csv.cell(0, "seconds_per_pass"), "1.5");
  EXPECT_EQ(csv.cell(0, "passes_to_epsilon_50pct"), "0.4");
  EXPECT_EQ(csv.cell(0, "passes_to_epsilon_25pct"), "");
  EXPECT_EQ(csv.cell(0, "passes_to_accuracy_85pct"), "0.8");
  EXPECT_EQ(csv.cell(0, "passes_to_accuracy_100pct"), "");
  EXPECT_EQ(csv.cell(1, "seconds_per_pass"), "") << "no series: no split";
  EXPECT_EQ(csv.cell(1, "file"), runs[1].run_id + ".json");
  EXPECT_EQ(csv.cell(1, "epsilon_reached_50pct"), "");
  EXPECT_EQ(csv.cell(1, "time_to_accuracy_85pct"), "");
}

TEST(SweepIndex, EpsilonLabelsBecomeColumnNames) {
  EXPECT_EQ(epsilon_column_suffix("50%"), "50pct");
  EXPECT_EQ(epsilon_column_suffix("0.3"), "0.3");
  EXPECT_EQ(epsilon_column_suffix("a b"), "a_b");
}

}  // namespace
}  // namespace psgd
