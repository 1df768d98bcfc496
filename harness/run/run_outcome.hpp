// harness/run/run_outcome.hpp — what a run's evaluated snapshots say: the status, the time to each
// epsilon (train loss) target and to each test-accuracy target. A pure function of numbers (no
// JSON, no I/O), so every rule is unit-tested (harness/test/run_outcome_test.cpp); the report
// writes what it decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {

// One evaluated snapshot, in update order; the first is the initial state.
struct EvaluatedSnapshot {
  std::int64_t updates = 0;
  double seconds = 0.0;
  double train_loss = 0.0;
  double test_loss = 0.0;
  double test_accuracy = 0.0;
};

struct TargetOutcome {
  std::string label;                    // as given: "50%" or "0.3"
  double loss = 0.0;                    // the absolute train loss to reach
  std::optional<double> seconds;        // of the first snapshot at or below it
  std::optional<std::int64_t> updates;  // likewise
  [[nodiscard]] bool reached() const { return seconds.has_value(); }
};

struct AccuracyOutcome {
  std::string label;                    // "85%" for 0.85
  double accuracy = 0.0;                // the test accuracy to reach, in (0, 1]
  std::optional<double> seconds;        // of the first snapshot at or above it
  std::optional<std::int64_t> updates;  // likewise
  [[nodiscard]] bool reached() const { return seconds.has_value(); }
};

struct RunOutcome {
  std::string status;       // converged | not_converged | diverged
  std::string stop_reason;  // budget | time_limit | diverged | signal (SIGINT, SIGTERM)
  double initial_train_loss = 0.0;
  double final_train_loss = 0.0;
  std::vector<TargetOutcome> targets;             // in the order of `epsilons`
  std::vector<AccuracyOutcome> accuracy_targets;  // in the order of `accuracies`
  [[nodiscard]] std::size_t targets_reached() const;
};

// "85%" for 0.85, "85.5%" for 0.855: the label of an accuracy target in the JSON and index.csv.
std::string accuracy_label(double accuracy);

// The rules (docs/running.md, "What a run does and measures"): a target relative to the initial
// train loss is that fraction of it; a target is reached by the first snapshot whose finite train
// loss is at or below it; `diverged` when the run stopped as diverged, any evaluated loss is not
// finite, or the final train loss is above the initial one; else `converged` when the tightest
// target was reached (so every target was: a snapshot at or below the tightest is below all of
// them), `not_converged` otherwise. An accuracy target is reached by the first snapshot whose
// finite test accuracy is at or above it; accuracy targets never change the status. snapshots is
// not empty.
RunOutcome judge_run(const std::vector<EvaluatedSnapshot>& snapshots,
                     const std::vector<Epsilon>& epsilons, StopReason stop,
                     const std::vector<double>& accuracies = {});

}  // namespace psgd
