// algorithms/pace.hpp — injected heterogeneity and the step schedule, applied once for every
// algorithm in the shared gradient step (algorithms/worker_steps.hpp), so straggler and
// communication effects are reproducible on one machine:
//   --slowdown W:FACTOR,...  worker W computes FACTOR times slower: each of its gradients is
//                            stretched by waiting (FACTOR - 1) x the time the gradient took (a
//                            slower processor: the waiting thread yields its core, and the
//                            gradient's value is unchanged);
//   --delay fixed:US | exp:MEAN_US  added latency before each gradient's read of the parameters
//                            (the pull) and after it (the push), fixed or exponentially
//                            distributed with that mean, per worker from its own seeded stream;
//   --step-decay D           the step is multiplied by (1 - D)^e in epoch e (e = applied
//                            updates / updates per epoch, as the run counts epochs); applied as
//                            the same factor on the gradient, so sgd_apply's rule is unchanged.
// A gradient is one pull and one push for every method: methods that take several local steps
// per exchange (local-sgd, async-exchange, nonblocking) are charged the delay per gradient too.
// Waiting is counted into WorkerStats::slowdown_seconds and delay_seconds. A wait ends early when
// the run is asked to stop (time limit, divergence, a failed worker): it sleeps in slices of at
// most kStopPollSeconds and checks the stop flag between them, so no delay outlives its run.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/random.hpp"

namespace psgd {

class RunControl;  // algorithms/algorithm.hpp

// The longest slice a pace wait sleeps before it looks at the stop flag again: 1 ms bounds how
// long a stopped run waits for a delayed worker, and costs at most 1,000 wake-ups per second of
// waiting (nothing next to a delay that long).
inline constexpr double kStopPollSeconds = 1e-3;

struct DelaySpec {
  enum class Kind { kNone, kFixed, kExponential };
  Kind kind = Kind::kNone;
  double micros = 0.0;  // kFixed: the delay; kExponential: its mean
  // "none", "fixed:US" or "exp:MEAN_US": what --delay reads back.
  [[nodiscard]] std::string text() const;
};

struct PaceConfig {
  std::vector<std::pair<int, double>> slowdown;  // (worker, factor >= 1), each worker once
  DelaySpec delay;
  double step_decay = 0.0;  // in [0, 1)
  [[nodiscard]] double factor_of(int worker) const noexcept;
  // True when anything is injected or scheduled (otherwise the runner gives workers no pace).
  [[nodiscard]] bool active() const noexcept {
    return !slowdown.empty() || delay.kind != DelaySpec::Kind::kNone || step_decay > 0.0;
  }
};

// Parsers: one-line ConfigError naming the option and what it accepts.
std::vector<std::pair<int, double>> parse_slowdown(std::string_view text);
DelaySpec parse_delay(std::string_view text);
double parse_step_decay(std::string_view text);
// "W:FACTOR,..." as --slowdown reads it ("none" when empty).
std::string slowdown_text(const std::vector<std::pair<int, double>>& slowdown);

// The run-wide epoch count that --step-decay reads: stored by whichever thread applies an
// epoch's last update, read by every worker before each gradient. relaxed: a hint for the step
// size, carrying no data (a gradient that starts just after the boundary may use the old factor).
class EpochClock {
 public:
  void note_applied(std::int64_t version, std::int64_t updates_per_epoch) noexcept {
    if (version % updates_per_epoch == 0) epoch_.store(version / updates_per_epoch, kRelaxed);
  }
  [[nodiscard]] std::int64_t epoch() const noexcept { return epoch_.load(kRelaxed); }

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  std::atomic<std::int64_t> epoch_{0};
};

// One worker's pace. Owned and used by its worker only.
class WorkerPace {
 public:
  // stop: the run's control, whose stop request ends a wait early (null: waits run in full).
  WorkerPace(const PaceConfig& config, int worker, std::uint64_t seed,
             std::int64_t updates_per_epoch, EpochClock* clock, const RunControl* stop = nullptr);

  [[nodiscard]] bool stretches() const noexcept { return factor_ > 1.0; }
  [[nodiscard]] bool decays() const noexcept { return decay_ > 0.0; }
  // Waits the pull (or push) latency; returns the seconds waited.
  double delay() noexcept;
  // Waits the latency of one exchange with the shared model (--comm-delay); returns the seconds
  // waited. (Interface for #21 item 5; --comm-delay is not parsed yet, so it waits nothing.)
  double exchange() noexcept { return 0.0; }
  // Waits (factor - 1) x `gradient_seconds`; returns the seconds waited.
  double stretch(double gradient_seconds) noexcept;
  // Scales the gradient by (1 - D)^epoch (nothing in epoch 0), the factor rounded once to the
  // gradient's scalar type.
  void decay(std::span<float> grad) noexcept;
  void decay(std::span<double> grad) noexcept;
  // After an update is applied (by this worker's thread): advances the epoch clock.
  void note_applied(std::int64_t version) noexcept {
    if (decays()) clock_->note_applied(version, updates_per_epoch_);
  }

 private:
  double factor_;
  DelaySpec delay_spec_;
  double decay_;
  std::int64_t updates_per_epoch_;
  EpochClock* clock_;
  const RunControl* stop_;
  SplitMix64 rng_;
  std::int64_t factor_epoch_ = 0;  // the epoch decay_factor_ belongs to
  double decay_factor_ = 1.0;
  // The factor of the current epoch (0: none to apply).
  [[nodiscard]] double epoch_factor() noexcept;
  template <class S>
  void scale(std::span<S> grad) noexcept;
  // Sleeps `seconds` or until the run is asked to stop; returns the seconds actually waited.
  [[nodiscard]] double wait(double seconds) const noexcept;
};

}  // namespace psgd
