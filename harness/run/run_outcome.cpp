// harness/run/run_outcome.cpp — status, time to epsilon and time to accuracy from the evaluated
// snapshots.
#include "harness/run/run_outcome.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace psgd {

std::string accuracy_label(double accuracy) {
  std::ostringstream s;
  s << accuracy * 100.0 << '%';
  return s.str();
}

std::size_t RunOutcome::targets_reached() const {
  return static_cast<std::size_t>(
      std::count_if(targets.begin(), targets.end(), [](const auto& t) { return t.reached(); }));
}

RunOutcome judge_run(const std::vector<EvaluatedSnapshot>& snapshots,
                     const std::vector<Epsilon>& epsilons, StopReason stop,
                     const std::vector<double>& accuracies) {
  RunOutcome v;
  v.initial_train_loss = snapshots.front().train_loss;
  v.final_train_loss = snapshots.back().train_loss;
  double tightest = std::numeric_limits<double>::infinity();
  for (const Epsilon& e : epsilons) {
    TargetOutcome t;
    t.label = e.text();
    t.loss = e.relative ? e.value * v.initial_train_loss : e.value;
    for (const EvaluatedSnapshot& s : snapshots) {
      if (std::isfinite(s.train_loss) && s.train_loss <= t.loss) {
        t.seconds = s.seconds;
        t.updates = s.updates;
        break;
      }
    }
    tightest = std::min(tightest, t.loss);
    v.targets.push_back(t);
  }
  for (const double a : accuracies) {
    AccuracyOutcome t{accuracy_label(a), a, std::nullopt, std::nullopt};
    for (const EvaluatedSnapshot& s : snapshots) {
      if (std::isfinite(s.test_accuracy) && s.test_accuracy >= a) {
        t.seconds = s.seconds;
        t.updates = s.updates;
        break;
      }
    }
    v.accuracy_targets.push_back(t);
  }
  const bool tightest_reached = std::any_of(v.targets.begin(), v.targets.end(), [&](const auto& t) {
    return t.loss == tightest && t.reached();
  });
  const bool non_finite = std::any_of(snapshots.begin(), snapshots.end(), [](const auto& s) {
    return !std::isfinite(s.train_loss) || !std::isfinite(s.test_loss);
  });
  const bool diverged = stop == StopReason::kDiverged || non_finite ||
                        !std::isfinite(v.final_train_loss) ||
                        v.final_train_loss > v.initial_train_loss;
  v.status = diverged ? "diverged" : tightest_reached ? "converged" : "not_converged";
  v.stop_reason = stop == StopReason::kTimeLimit     ? "time_limit"
                  : stop == StopReason::kDiverged    ? "diverged"
                  : stop == StopReason::kInterrupted ? "signal"
                                                     : "budget";
  return v;
}

}  // namespace psgd
