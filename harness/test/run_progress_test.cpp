// What `psgd run` says while and after it runs: each method's roles, the progress line, the
// `stopped` block of a stopped run, and the summary's notes on the surprises (what `converged`
// means, too few snapshots, two final rows that read as the same epoch).
#include "harness/run/run_progress.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <string>

#include "algorithms/registry.hpp"
#include "harness/run/report.hpp"
#include "harness/run/run_summary.hpp"

namespace psgd {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(RunProgress, RolesNameTheServerAndTheGradientWorkers) {
  // param-server --threads 2: slot 0 serves, one thread computes (first_source 1).
  EXPECT_EQ(worker_roles("param-server", 2, 1), "1 server + 1 gradient worker");
  EXPECT_EQ(worker_roles("hybrid", 4, 1), "1 server + 3 gradient workers");
  EXPECT_EQ(worker_roles("param-server", 3, 0),
            "1 server that also computes gradients + 2 gradient workers");  // --server-trains
  EXPECT_EQ(worker_roles("seq", 1, 0), "1 sequential worker");
  EXPECT_EQ(worker_roles("leashed", 4, 0), "4 asynchronous workers, each applies its own updates");
  EXPECT_TRUE(has(worker_roles("sync", 2, 0), "2 workers in lockstep"))
      << worker_roles("sync", 2, 0);
  EXPECT_TRUE(has(worker_roles("nonblocking", 3, 0), "3 workers in rounds"));
  EXPECT_EQ(worker_roles("not-a-method", 2, 0), "2 workers");
}

TEST(RunProgress, EveryRegisteredAlgorithmHasItsOwnRolesText) {
  std::size_t checked = 0;
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) {
    EXPECT_TRUE(has_roles_text(e.name)) << e.name << ": add its roles to worker_roles()";
    ++checked;
  }
  EXPECT_GE(checked, 12U);
  EXPECT_FALSE(has_roles_text("not-a-method"));
}

TEST(RunProgress, TheProgressLineNamesEpochUpdatesLossRateAndEta) {
  LiveProgress p;
  p.seconds = 2.0;
  p.updates = 1000;
  p.gradients = 1000;
  p.loss = 0.5;
  ProgressBudget b;
  b.gradients_per_epoch = 500;
  b.gradients = 4000;
  EXPECT_EQ(progress_line(p, b),
            "epoch 2.00  updates 1000  loss 0.5000  500 updates/s  25%  ETA 6.0 s");
  // Before any loss, and with no budget to measure against (none known): no share, no ETA.
  p.loss.reset();
  EXPECT_EQ(progress_line(p, ProgressBudget{500, {}, {}, {}}),
            "epoch 2.00  updates 1000  loss -  500 updates/s");
}

TEST(RunProgress, TheBindingBudgetSetsTheShareDone) {
  LiveProgress p;
  p.seconds = 5.0;
  p.gradients = 100;
  p.updates = 100;
  ProgressBudget b;
  b.gradients = 1000;
  b.seconds = 10.0;  // a time limit beside the budget: whichever comes first
  EXPECT_DOUBLE_EQ(*fraction_done(p, b), 0.5);
  b.seconds.reset();
  EXPECT_DOUBLE_EQ(*fraction_done(p, b), 0.1);
  b.gradients.reset();
  b.updates = 50;  // never more than all of it
  EXPECT_DOUBLE_EQ(*fraction_done(p, b), 1.0);
  EXPECT_FALSE(fraction_done(p, ProgressBudget{}).has_value());
}

TEST(RunProgress, TheHeaderNamesTheRoles) {
  EXPECT_EQ(header_line("param-server", "linear", "mnist", "2", "1 server + 1 gradient worker",
                        "32", "0.05"),
            "psgd run: param-server, linear on mnist, 2 thread(s) (1 server + 1 gradient worker), "
            "batch 32, step 0.05");
  EXPECT_EQ(header_line("seq", "linear", "mnist", "1", "", "32", "0.05"),
            "psgd run: seq, linear on mnist, 1 thread(s), batch 32, step 0.05");
}

json stopped_document() {
  return json::parse(R"({
    "status": "not_converged", "stop_reason": "signal",
    "config": {"algo": "param-server", "threads": 2, "batch": 32, "step": 0.05, "checkpoints": 4},
    "algorithm": {"name": "param-server", "roles": "1 server + 1 gradient worker"},
    "model": {"spec": "linear"}, "data": {"name": "mnist"},
    "series": [{"epoch": 0, "updates": 0, "seconds": 0, "train_loss": 2.3},
               {"epoch": 0.25, "updates": 10, "seconds": 0.5, "train_loss": 1.0}]
  })");
}

TEST(RunProgress, AStoppedRunRecordsTheSignalAndSaysSo) {
  RunRecord r = read_run_record(stopped_document());
  mark_stopped(r, SIGINT);
  EXPECT_EQ(r.status, "stopped");
  const json doc = build_report(r);
  EXPECT_EQ(doc["status"], "stopped");
  EXPECT_EQ(doc["stopped"], json::parse(R"({"signal": "SIGINT", "exit_code": 130,
                                            "during": "training"})"));
  // Read back: the same block, the same summary line.
  const RunRecord back = read_run_record(doc);
  ASSERT_TRUE(back.stopped.has_value());
  EXPECT_EQ(back.stopped->exit_code, 130);
  const std::string s = run_summary(back);
  EXPECT_TRUE(has(s, "  stopped     by SIGINT during training (exit 130)")) << s;
  EXPECT_TRUE(has(s, "(1 server + 1 gradient worker)")) << s;  // the header names the roles
  // A signal after training (stop_reason budget): during evaluation, exit 143 for SIGTERM.
  RunRecord late = read_run_record(stopped_document());
  late.stop_reason = "budget";
  mark_stopped(late, SIGTERM);
  EXPECT_EQ(build_report(late)["stopped"]["during"], "evaluation");
  EXPECT_EQ(build_report(late)["stopped"]["exit_code"], 143);
  // An ordinary run has no block.
  EXPECT_FALSE(build_report(read_run_record(stopped_document())).contains("stopped"));
}

TEST(RunProgress, TheSummaryWarnsOfTooFewSnapshots) {
  const std::string few = run_summary(read_run_record(stopped_document()));
  EXPECT_TRUE(has(few,
                  "warning: only 1 snapshot(s) after the start: --checkpoints (4) counts "
                  "per epoch"))
      << few;
  json enough = stopped_document();
  for (int i = 2; i <= 3; ++i)
    enough["series"].push_back({{"epoch", 0.25 * i}, {"updates", 10 * i}});
  EXPECT_FALSE(has(run_summary(read_run_record(enough)), "snapshot(s) after the start"));
}

TEST(RunProgress, TheSummarySaysWhatConvergedMeant) {
  json doc = stopped_document();
  doc["status"] = "converged";
  doc["metrics"] = json::parse(R"({"epsilon_targets": {"50%": 1.15, "25%": 0.575, "20%": 0.46},
                                   "time_to_epsilon": {"50%": 0.1, "25%": 0.2, "20%": 0.3},
                                   "epsilon_reached": {"50%": true, "25%": true, "20%": true}})");
  const std::string s = run_summary(read_run_record(doc));
  EXPECT_TRUE(has(s,
                  "converged = the train loss reached the tightest --epsilon target, 20% of "
                  "its initial value"))
      << s;
  doc["status"] = "not_converged";
  EXPECT_FALSE(has(run_summary(read_run_record(doc)), "tightest"));
}

TEST(RunProgress, TwoRowsOfDifferentStatesNeverReadAsTheSameEpoch) {
  // --epochs 0.5 at 1875 updates per epoch: the half-epoch checkpoint after update 937, the
  // budget's end (llround(937.5)) after 938.
  json doc = stopped_document();
  doc["series"] = json::parse(R"([{"epoch": 0, "updates": 0}, {"epoch": 0.2496, "updates": 468},
                                  {"epoch": 0.49973, "updates": 937},
                                  {"epoch": 0.50027, "updates": 938}])");
  const std::string s = run_summary(read_run_record(doc));
  EXPECT_TRUE(has(s, "0.4997")) << s;
  EXPECT_TRUE(has(s, "0.5003")) << s;
  EXPECT_FALSE(has(s, "    0.50 ")) << s;
  // Rows that differ at two decimals keep two.
  doc["series"] = json::parse(R"([{"epoch": 0, "updates": 0}, {"epoch": 0.5, "updates": 937}])");
  EXPECT_TRUE(has(run_summary(read_run_record(doc)), "    0.50 "))
      << run_summary(read_run_record(doc));
}

}  // namespace
}  // namespace psgd
