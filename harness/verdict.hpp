// harness/verdict.hpp — what a run's evaluated snapshots say: the status and the time to each
// epsilon target. A pure function of numbers (no JSON, no I/O), so every rule is unit-tested
// (harness/test/verdict_test.cpp); the report writes what it decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "harness/run_config.hpp"

namespace psgd {

// One evaluated snapshot, in update order; the first is the initial state.
struct EvaluatedSnapshot {
  std::int64_t updates = 0;
  double seconds = 0.0;
  double train_loss = 0.0;
  double test_loss = 0.0;
};

struct TargetOutcome {
  std::string label;                    // as given: "50%" or "0.3"
  double loss = 0.0;                    // the absolute train loss to reach
  std::optional<double> seconds;        // of the first snapshot at or below it
  std::optional<std::int64_t> updates;  // likewise
};

struct RunVerdict {
  std::string status;       // converged | not_converged | diverged
  std::string stop_reason;  // budget | time_limit | diverged
  double initial_train_loss = 0.0;
  double final_train_loss = 0.0;
  std::vector<TargetOutcome> targets;  // in the order of `epsilons`
};

// The rules (README "What a run does and measures"): a target relative to the initial train loss
// is that fraction of it; a target is reached by the first snapshot whose finite train loss is at
// or below it; `diverged` when the run stopped as diverged, any evaluated loss is not finite, or
// the final train loss is above the initial one; else `converged` when the tightest target was
// reached, `not_converged` otherwise. snapshots is not empty.
RunVerdict judge_run(const std::vector<EvaluatedSnapshot>& snapshots,
                     const std::vector<Epsilon>& epsilons, StopReason stop);

}  // namespace psgd
