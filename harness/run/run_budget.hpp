// harness/run/run_budget.hpp — a run's budget as `psgd run` plans it from --epochs,
// --gradients, --updates and --time-limit (moved out of run_command.cpp, which uses it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "algorithms/algorithm.hpp"
#include "algorithms/registry.hpp"
#include "harness/run/run_config.hpp"
#include "harness/run/run_progress.hpp"
#include "harness/run/run_record.hpp"

namespace psgd {

// The budget (docs/running.md, "What a run does and measures"): --epochs E (default one) and
// --gradients G count gradients computed by all workers, E passes being E x updates per epoch (N/b,
// or
// --updates-per-epoch), both at most kUnboundedUpdates; --updates U counts applied updates; only
// a time limit means "unbounded". A method of one gradient per update gets a gradient budget as
// its update budget, so its counting is what it always was; a method that caps gradients itself
// (AlgorithmEntry::caps_gradients) gets it as its gradient cap, the same number bounding its
// updates (each costs at least one gradient), and its checkpoints are laid out for the updates it
// nominally applies, G / (gradients per update).
struct Budget {
  BudgetRecord record;
  std::int64_t per_epoch = 1;  // updates per epoch: checkpoints, the series' epochs, --step-decay
  std::int64_t total = 1;      // RunControl::total_updates
  std::int64_t gradients = kNoGradientCap;  // RunControl::total_gradients
  std::int64_t checkpoint_updates = 0;      // RunnerOptions::checkpoint_updates
};

// The budget of a run of `cfg` on `train_samples` samples. Throws ConfigError when --epochs asks
// for more gradients than kUnboundedUpdates.
Budget plan_budget(const RunConfig& cfg, const AlgorithmSetup& setup, std::size_t train_samples);

// The budget as the progress line counts it (run_progress.hpp).
ProgressBudget progress_budget(const RunConfig& cfg, const Budget& budget);

}  // namespace psgd
