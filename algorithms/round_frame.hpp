// algorithms/round_frame.hpp — the round every barrier-round method runs (`sync`, `local-sgd`,
// `nonblocking`), written once; each method supplies only its rule.
//
// A round is two barrier phases.
//   Local phase   every worker does its own work (the rule's local_phase): a gradient, or steps on
//                 its replica, written into its combine buffer; the shared theta is only read.
//   First barrier its completion step (one thread, every other waiting) asks the rule whether the
//                 round is combined and how many updates it applies (end_of_local), agrees on
//                 that with the other processes through the combine (across ranks), advances the
//                 version and the gradients computed (every worker's, applied or not), and
//                 decides whether to stop: the round was not combined (a non-finite loss or a
//                 stop inside it), the update budget or the gradient cap is spent, or the run's
//                 stop flag is up.
//                 So every worker leaves after the same round and none waits forever.
//   Reduce phase  every worker writes only its own coordinate slice of theta (slice_of) from the
//                 buffers (the rule's combine_slice, through the combine), so no thread combines
//                 the whole vector; a round not combined is discarded instead: its gradients count
//                 as discarded_at_end. Each worker's part of a combined reduce is its exchange
//                 (charge_exchange: --comm-delay once per worker per round; a discarded round
//                 exchanges nothing).
//   Second barrier theta is whole again. Worker 0 then counts the round's updates and records the
//                 checkpoints they made due from theta, which stays consistent and only read until
//                 the next reduce phase (each snapshot labelled with the round's last update).
// Every shared field is ordered by the barriers: written in one phase (or the completion step)
// and read only after the barrier that ends it. No atomics, no locks, no allocation in the loop.
// Progress: blocking (every round waits for its slowest worker). Staleness 0.
#pragma once

#include <algorithm>
#include <barrier>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/combine.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

// The budget left at a round's start: `updates` (>= 1) of the update budget, and `gradients`
// (>= 1), this worker's share of the gradient cap, ceil(gradients left / W), W the workers of
// every process (the combine's total_workers()): a rule computes at
// most that many gradients per worker in the round, so the run ends within one gradient per
// worker of the cap (RunControl::total_gradients; kNoGradientCap when only updates count).
struct RoundLeft {
  std::int64_t updates = 1;
  std::int64_t gradients = 1;
};

// What a rule decides about its round in the first barrier's completion step.
template <class S>
struct RoundOutcome {
  bool combined = false;     // every worker's part is sound: the round is applied
  std::int64_t updates = 0;  // the updates it applies (1..budget left) when combined
  S loss = 0;                // the mean minibatch loss recorded for each of them
};

// A method's own rule, called by the frame. Thread-safety:
//   local_phase(ctx, left)    by every worker, concurrently, in the local phase; `left` is the
//                             budget left at the round's start (RoundLeft). Reads theta, writes
//                             only this worker's buffer and state.
//   end_of_local(left)        by one thread, every other waiting: may read every worker's state.
//   combine_slice(ctx, slice) by every worker in the reduce phase of a combined round: writes
//                             theta over its slice only.
//   discard(ctx)              the same for a round not combined (the frame counts the discarded
//                             gradients; the rule undoes its own round bookkeeping).
// clang-format 14 mangles requires-expressions.
// clang-format off
template <class R, class S>
concept RoundRule = requires(R& r, BasicWorkerContext<S>& ctx, RoundLeft left, Slice s) {
  { r.local_phase(ctx, left) } noexcept;
  { r.end_of_local(left) } noexcept -> std::same_as<RoundOutcome<S>>;
  { r.combine_slice(ctx, s) } noexcept;
  { r.discard(ctx) } noexcept;
};
// clang-format on

// The frame: theta, the combine, the two barriers, the version, the stop decision and worker 0's
// bookkeeping. Rule: the algorithm supplying the hooks above (it holds the frame, built from
// *this). Combine: a RoundCombine (combine.hpp). S: float or double.
template <class S, class Rule, class Combine>
class RoundFrame {
  static_assert(RoundCombine<Combine, S>);

 public:
  explicit RoundFrame(Rule& rule) : rule_(&rule) {}
  // `combine`: where the buffers meet, when it is built from something (an MpiCombine from its
  // process group); the constructor above default-builds it (SharedMemoryCombine).
  RoundFrame(Rule& rule, Combine combine) : rule_(&rule), combine_(std::move(combine)) {}
  RoundFrame(const RoundFrame&) = delete;
  RoundFrame& operator=(const RoundFrame&) = delete;

  // Single-threaded, before the workers: theta and the buffers from setup's shared memory.
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
    theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
    workers_ = static_cast<std::size_t>(std::max(setup.num_workers, 1));
    combine_.init(*setup.shared_memory, theta0.size(), workers_);
    const auto n = static_cast<std::ptrdiff_t>(workers_);
    local_done_ = std::make_unique<std::barrier<EndOfLocal>>(n, EndOfLocal{this});
    round_done_ = std::make_unique<std::barrier<>>(n);
    outcome_ = RoundOutcome<S>{};
    round_gradients_ = std::vector<PaddedCount>(workers_);
    gradients_ = 0;
    version_ = 0;
    rounds_ = 0;
    control_ = nullptr;
    stop_ = false;
  }

  // Every worker's whole run: rounds until the frame decides to stop.
  void run(BasicWorkerContext<S>& ctx) noexcept;

  // The shared parameters: read in the local phase, written per slice in the reduce phase.
  [[nodiscard]] std::span<S> theta() noexcept { return theta_.span(); }
  [[nodiscard]] Combine& combine() noexcept { return combine_; }
  [[nodiscard]] const Combine& combine() const noexcept { return combine_; }
  [[nodiscard]] std::size_t workers() const noexcept { return workers_; }
  // Combined rounds so far. In end_of_local, or after the join.
  [[nodiscard]] std::int64_t rounds() const noexcept { return rounds_; }
  // Gradients computed by all workers of every process so far (every round's, combined or not).
  // Same rule.
  [[nodiscard]] std::int64_t gradients() const noexcept { return gradients_; }
  // After the join.
  void read_params(std::span<S> out) const { std::copy(theta_.begin(), theta_.end(), out.begin()); }

 private:
  struct EndOfLocal {
    RoundFrame* self;
    void operator()() noexcept { self->end_of_local(); }
  };
  // The first barrier's completion step: the rule's outcome, agreed with every other process
  // through the combine (a no-op within one), then the version and the stop decision. Across
  // processes every rank ends here with the same tally, so all apply the same round, count the
  // same gradients and stop after the same round (a stop asked on one rank stops every rank).
  void end_of_local() noexcept {
    const RoundLeft left = left_at(*control_, version_, gradients_);  // the round's start
    RoundTally tally;
    for (const PaddedCount& g : round_gradients_) tally.gradients += g.value;
    outcome_ = rule_->end_of_local(left);
    tally.combined = outcome_.combined ? 1 : 0;
    tally.updates = outcome_.updates;
    tally.loss = static_cast<double>(outcome_.loss);
    tally.stop = control_->should_stop() ? 1 : 0;
    combine_.agree(tally);
    gradients_ += tally.gradients;
    outcome_.combined = tally.combined != 0;
    outcome_.updates = tally.updates;
    // The processes' losses summed in rank order, over their count (each process has the same
    // workers, so this is the mean over every worker); within one process x / 1 is exact.
    const std::size_t processes = combine_.total_workers() / workers_;  // exact: T each
    outcome_.loss = static_cast<S>(tally.loss / static_cast<double>(processes));
    if (outcome_.combined) {
      version_ += outcome_.updates;
      ++rounds_;
    }
    stop_ = !outcome_.combined || version_ >= control_->total_updates() ||
            gradients_ >= control_->total_gradients() || tally.stop != 0;
    // The last round, the same on every rank (agreed above), every worker of this rank waiting:
    // a rule whose transport must close collectively (nonblocking's round-end signal) does so.
    if constexpr (requires(Rule & r) { r.after_last_round(); }) {
      if (stop_) rule_->after_last_round();
    }
  }
  // The budget left after `version` updates and `gradients` gradients (both >= 1 while the run
  // goes on: the frame stops when either is spent).
  // Takes the control from the caller: control_ is written by worker 0 while the others may
  // already be in their first round.
  [[nodiscard]] RoundLeft left_at(const RunControl& control, std::int64_t version,
                                  std::int64_t gradients) const noexcept {
    const auto w = static_cast<std::int64_t>(combine_.total_workers());
    const std::int64_t cap_left = control.total_gradients() - gradients;
    return {control.total_updates() - version, cap_left / w + (cap_left % w != 0 ? 1 : 0)};
  }
  // Worker 0 after the second barrier: updates v0 + 1 .. version_ of a combined round.
  void note_round(BasicWorkerContext<S>& ctx, std::int64_t v0) noexcept {
    const std::int64_t v1 = version_;
    for (std::int64_t v = v0 + 1; v <= v1; ++v) {
      note_applied(ctx, v, /*staleness=*/0, /*failed_attempts=*/0, outcome_.loss,
                   [&] { return ctx.checkpoints->record_late(v, v1, theta_.span()); });
    }
  }

  Rule* rule_;
  SharedArray<S> theta_;
  Combine combine_;
  std::size_t workers_ = 1;
  std::unique_ptr<std::barrier<EndOfLocal>> local_done_;
  std::unique_ptr<std::barrier<>> round_done_;  // theta combined; the next round may read it
  // Written only in EndOfLocal (one thread, every other waiting) and read after it, until the
  // next round's first barrier.
  RoundOutcome<S> outcome_;
  std::int64_t gradients_ = 0;  // computed by all workers of every process, so far
  std::int64_t version_ = 0;
  std::int64_t rounds_ = 0;
  bool stop_ = false;
  // Each worker's gradients of the current round: written by its worker in the local phase, read
  // by EndOfLocal. Padded: written in every worker's loop.
  struct alignas(kNoFalseSharing) PaddedCount {
    std::int64_t value = 0;
  };
  std::vector<PaddedCount> round_gradients_;
  // Written by worker 0 before its first arrival, read by EndOfLocal after it.
  const RunControl* control_ = nullptr;
};

template <class S, class Rule, class Combine>
void RoundFrame<S, Rule, Combine>::run(BasicWorkerContext<S>& ctx) noexcept {
  static_assert(RoundRule<Rule, S>);
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const Slice mine = slice_of(theta_.size(), me, workers_);
  if (me == 0) control_ = ctx.control;
  for (;;) {
    // version_ and gradients_ were last written before the previous round's first barrier ended
    // (or in init): every worker reads the same values here.
    const std::int64_t v0 = version_;
    const std::int64_t computed_before = ctx.stats->computed;
    rule_->local_phase(ctx, left_at(*ctx.control, v0, gradients_));
    round_gradients_[me].value = ctx.stats->computed - computed_before;
    local_done_->arrive_and_wait();  // EndOfLocal: outcome_, version_, gradients_, stop_

    if (outcome_.combined) {
      charge_exchange(ctx);
      rule_->combine_slice(ctx, mine);
    } else {  // nothing of the round is applied: every gradient this worker computed in it
      rule_->discard(ctx);
      ctx.stats->discarded_at_end += ctx.stats->computed - computed_before;
    }
    round_done_->arrive_and_wait();

    if (me == 0 && outcome_.combined) note_round(ctx, v0);
    if (stop_) break;
  }
}

}  // namespace psgd
