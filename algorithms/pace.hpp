// algorithms/pace.hpp — injected heterogeneity and the step schedule, applied once for every
// algorithm in the shared gradient step and exchange (algorithms/worker_steps.hpp), so straggler
// and communication effects are reproducible on one machine:
//   --slowdown W:FACTOR,...  worker W computes FACTOR times slower: each of its gradients is
//                            stretched by waiting (FACTOR - 1) x the time the gradient took (a
//                            slower processor: the waiting thread yields its core, and the
//                            gradient's value is unchanged);
//   --delay fixed:US | exp:MEAN_US  added latency before each gradient's read of the parameters
//                            (the pull) and after it (the push), fixed or exponentially
//                            distributed with that mean, per worker from its own seeded stream;
//                            charged per gradient, so methods that take several local steps per
//                            exchange (local-sgd, async-exchange, nonblocking) pay it per step;
//   --comm-delay fixed:US | exp:MEAN_US  latency per exchange with the shared model (a round's
//                            reduce, a merge, a push and pull, one update of shared parameters):
//                            the communication cost studies 000 and 001 model, charged where each
//                            method exchanges (charge_exchange), from a seeded stream of the
//                            worker's apart from --delay's;
//   --step-decay D           the step is multiplied by (1 - D)^e in epoch e (e = applied
//                            updates / updates per epoch, as the run counts epochs); applied as
//                            the same factor on the gradient, so sgd_apply's rule is unchanged.
// Waiting is counted into WorkerStats::slowdown_seconds, delay_seconds and comm_delay_seconds.
// A wait ends early when the run is asked to stop (time limit, divergence, a failed worker): it
// sleeps in slices of at most kStopPollSeconds and checks the stop flag between them, so no delay
// outlives its run. A method may also give its workers' paces an interrupt flag (nonblocking's
// round end): the gradient's waits (the pull, the stretch, the push) end when it is raised, so a
// round end reaches a straggler within one un-stretched gradient and one slice; the exchange's
// wait is the reduce itself and is not interrupted.
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
// The slice of a wait that an interrupt flag may end (nonblocking's round end): the finisher
// waits at the barrier for this poll, once per round, so it is 10x finer. Measured on a 2-core
// Xeon (release, NonblockingStraggler: 40x straggler, 400 updates of an MLP): with 1 ms slices
// nonblocking took 1.37x seq's time (median of 5; a round of 8 mini-batches is about 2.6 ms of
// work), with 100 us slices 1.15x (median of 7, standard deviation 0.04). The cost is at most
// 10,000 wake-ups per second of an interruptible wait.
inline constexpr double kInterruptPollSeconds = 1e-4;

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
  DelaySpec comm_delay;     // per exchange
  double step_decay = 0.0;  // in [0, 1)
  [[nodiscard]] double factor_of(int worker) const noexcept;
  // True when anything is injected or scheduled (otherwise the runner gives workers no pace).
  [[nodiscard]] bool active() const noexcept {
    return !slowdown.empty() || delay.kind != DelaySpec::Kind::kNone ||
           comm_delay.kind != DelaySpec::Kind::kNone || step_decay > 0.0;
  }
};

// Parsers: one-line ConfigError naming the option and what it accepts.
std::vector<std::pair<int, double>> parse_slowdown(std::string_view text);
DelaySpec parse_delay(std::string_view text);
DelaySpec parse_comm_delay(std::string_view text);  // --comm-delay: the same grammar
double parse_step_decay(std::string_view text);
// "W:FACTOR,..." as --slowdown reads it ("none" when empty).
std::string slowdown_text(const std::vector<std::pair<int, double>>& slowdown);

// The run-wide epoch count that --step-decay reads: raised by whichever thread applies an
// epoch's last update, read by every worker before each gradient. relaxed: a hint for the step
// size, carrying no data (a gradient that starts just after the boundary may use the old factor).
// It only rises (a CAS to the larger value, not a store): two threads that reach consecutive
// boundaries may report them out of order, and `replicated`'s inner loops report their replica's
// own versions, which trail the run's (a replica's count is a part of the run's), so a report
// of an earlier epoch than the one recorded is ignored instead of setting the clock back.
class EpochClock {
 public:
  void note_applied(std::int64_t version, std::int64_t updates_per_epoch) noexcept {
    if (version % updates_per_epoch != 0) return;
    const std::int64_t epoch = version / updates_per_epoch;
    std::int64_t seen = epoch_.load(kRelaxed);
    while (seen < epoch && !epoch_.compare_exchange_weak(seen, epoch, kRelaxed, kRelaxed)) {
    }
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
  // The flag that also ends the gradient's waits (delay, stretch) when raised: a method's
  // round end (nonblocking sets its round-end flag; null, the default: only a stop ends them).
  // Read relaxed: it carries no data, only the hint that the gradient in flight is lost.
  void set_interrupt(const std::atomic<bool>* flag) noexcept { interrupt_ = flag; }
  [[nodiscard]] bool interrupted() const noexcept {
    return interrupt_ != nullptr && interrupt_->load(std::memory_order_relaxed);
  }
  // Waits the pull (or push) latency, or until interrupted; returns the seconds waited.
  double delay() noexcept;
  // Waits the latency of one exchange with the shared model (--comm-delay), or until the run
  // stops (not interrupted); returns the seconds waited.
  double exchange() noexcept;
  // Waits (factor - 1) x `gradient_seconds`, or until interrupted; returns the seconds waited.
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
  DelaySpec comm_spec_;
  double decay_;
  std::int64_t updates_per_epoch_;
  EpochClock* clock_;
  const RunControl* stop_;
  SplitMix64 rng_;       // --delay's draws
  SplitMix64 comm_rng_;  // --comm-delay's: its own stream, so adding it leaves --delay's draws
  const std::atomic<bool>* interrupt_ = nullptr;
  std::int64_t factor_epoch_ = 0;  // the epoch decay_factor_ belongs to
  double decay_factor_ = 1.0;
  // The factor of the current epoch (0: none to apply).
  [[nodiscard]] double epoch_factor() noexcept;
  template <class S>
  void scale(std::span<S> grad) noexcept;
  // A draw of `spec` in seconds (0 for none).
  [[nodiscard]] static double draw(const DelaySpec& spec, SplitMix64& rng) noexcept;
  // Sleeps `seconds` or until the run is asked to stop (or, when `interruptible`, the interrupt
  // flag is raised); returns the seconds actually waited.
  [[nodiscard]] double wait(double seconds, bool interruptible) const noexcept;
};

}  // namespace psgd
