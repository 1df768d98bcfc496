// harness/run/run_budget.cpp — the budget of `psgd run` (run_budget.hpp).
#include "harness/run/run_budget.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/errors.hpp"

namespace psgd {
namespace {

// Default budget when none is given: one epoch.
constexpr double kDefaultEpochs = 1.0;

// E x per_epoch gradients, range-checked before llround.
std::int64_t epoch_gradients(double epochs, std::int64_t per_epoch) {
  const double gradients = epochs * static_cast<double>(per_epoch);
  if (gradients > static_cast<double>(kUnboundedUpdates)) {  // llround would overflow
    char line[160];
    std::snprintf(line, sizeof line,
                  "--epochs %g is out of range: %.3g gradients, more than 2^50 (use --time-limit "
                  "for an open-ended run)",
                  epochs, gradients);
    throw ConfigError(line);
  }
  return std::max<std::int64_t>(1, std::llround(gradients));
}

}  // namespace

Budget plan_budget(const RunConfig& cfg, const AlgorithmSetup& setup, std::size_t train_samples) {
  const AlgorithmEntry& entry = builtin_algorithms().at(cfg.algorithm);
  const std::int64_t per_update =
      entry.caps_gradients ? entry.nominal_gradients_per_update(setup) : 1;
  const std::int64_t batches = cfg.updates_per_epoch.value_or(std::max<std::int64_t>(
      1, static_cast<std::int64_t>(train_samples / static_cast<std::size_t>(cfg.batch))));
  Budget b;
  b.record.gradients_per_update = per_update;
  b.per_epoch = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(batches) / static_cast<double>(per_update)));
  std::int64_t gradients = 0;
  if (cfg.updates) {
    b.record.kind = "updates";
    b.record.amount = static_cast<double>(*cfg.updates);
    b.total = *cfg.updates;
    return b;
  }
  if (cfg.gradients) {
    b.record.kind = "gradients";
    b.record.amount = static_cast<double>(*cfg.gradients);
    gradients = *cfg.gradients;
  } else if (cfg.epochs || !cfg.time_limit_seconds) {
    b.record.kind = "epochs";
    b.record.amount = cfg.epochs.value_or(kDefaultEpochs);
    gradients = epoch_gradients(*b.record.amount, batches);
  } else {
    b.record.kind = "time";
    b.record.amount = *cfg.time_limit_seconds;
    b.total = kUnboundedUpdates;
    if (entry.caps_gradients) b.checkpoint_updates = kUnboundedUpdates / per_update;
    return b;
  }
  b.record.gradients = gradients;
  b.total = gradients;
  if (entry.caps_gradients) {
    b.gradients = gradients;
    b.checkpoint_updates = gradients / per_update + (gradients % per_update != 0 ? 1 : 0);
  }
  return b;
}

ProgressBudget progress_budget(const RunConfig& cfg, const Budget& budget) {
  ProgressBudget p;
  p.gradients_per_epoch = budget.per_epoch * budget.record.gradients_per_update.value_or(1);
  if (budget.record.gradients) p.gradients = budget.record.gradients;
  if (cfg.updates) p.updates = cfg.updates;
  p.seconds = cfg.time_limit_seconds;
  return p;
}

}  // namespace psgd
