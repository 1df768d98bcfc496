// algorithms/locked_sgd.hpp — the worker loop shared by the lock-based algorithms (`mutex`,
// `rwlock`; see mutex.hpp and rwlock.hpp for their guarantees). Only the lock differs.
//
//   lock (shared)     copy theta and its version v_read into the private buffer; unlock
//   (no lock)         gradient on the copy; a non-finite loss stops the run and is not applied
//   lock (exclusive)  v = version; if v < budget: theta -= step * grad, version = v + 1, and
//                     when update v + 1 completes a checkpoint, theta is copied into it; unlock
//   staleness = v - v_read, exact: the version changes only under the exclusive lock; the step
//   is --step-rule's for it (algorithms/step_rule.hpp), taken under the same lock.
// A checkpoint's snapshot is the state its own update produced, so every point of the loss curve
// is the state at the update it names. It costs one copy of theta inside the critical section per
// checkpoint (a few per epoch; the copy is what every read does anyway). Recording the next
// consistent read after the lock instead cost nothing there, but with two workers the snapshots
// held later updates than their labels, repeated labels and went backwards (926-2,322 of 3,840
// series entries at batch 1 and 64 checkpoints per epoch).
//
// Each iteration is timed in three parts for the run's speed_of_light block: the read section
// (lock held, copying theta out), the gradient and the apply section (lock held, applying), each
// from after the lock is acquired to after it is released, so the wait for the lock is in none of
// them (it is lock_wait_seconds). Five steady_clock reads per update, into the worker's own
// WorkerStats: no allocation, no I/O, no shared write.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/locks.hpp"
#include "algorithms/step_rule.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

// S: the scalar type (--precision), float or double.
template <class S, class Lock, BackoffPolicy Backoff>
class LockedSgd final : public BasicAlgorithm<S> {
 public:
  // `facts` is what report() returns (lock mode, preference); the lock is built from lock_args.
  template <class... LockArgs>
  LockedSgd(std::string_view name, nlohmann::json facts, BackoffParams backoff,
            const StepRuleParams& rule, LockArgs&&... lock_args)
      : name_(name),
        facts_(std::move(facts)),
        backoff_(backoff),
        rule_(rule),
        lock_(std::forward<LockArgs>(lock_args)...) {}

  [[nodiscard]] std::string_view name() const override { return name_; }

  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override {
    theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
    rule_.init(setup.step, setup.num_workers);
    version_ = 0;
  }

  void run_worker(BasicWorkerContext<S>& ctx) noexcept override {
    Backoff backoff(worker_backoff_params(backoff_, ctx.worker_id));
    WorkerStats& stats = *ctx.stats;
    const std::int64_t total = ctx.control->total_updates();
    while (!ctx.control->should_stop()) {
      std::int64_t failures = acquire_lock</*kShared=*/true>(lock_, backoff, stats);
      const SectionClock::time_point read_start = SectionClock::now();
      std::copy(theta_.begin(), theta_.end(), ctx.local.begin());
      const std::int64_t v_read = version_;
      lock_.unlock_shared();
      const SectionClock::time_point read_end = SectionClock::now();
      stats.read_section_seconds += section_seconds(read_start, read_end);
      // A read that ends the loop belongs to no update: like the updates' histogram, the failed
      // attempts count only what was spent on gradients that were computed.
      if (v_read >= total) {
        break;
      }

      const S loss = compute_gradient(ctx, ctx.local);
      stats.gradient_seconds += section_seconds(read_end, SectionClock::now());
      if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never applied
        stats.failed_attempts += failures;
        ++stats.discarded_at_end;
        break;
      }

      failures += acquire_lock</*kShared=*/false>(lock_, backoff, stats);
      const SectionClock::time_point apply_start = SectionClock::now();
      const std::int64_t v = version_;
      if (v >= total) {  // another worker applied the last update of the budget meanwhile
        lock_.unlock();
        stats.apply_section_seconds += section_seconds(apply_start, SectionClock::now());
        ++stats.timed_updates;
        stats.failed_attempts += failures;
        ++stats.discarded_at_end;
        break;
      }
      const typename StepRule<S>::Step step = rule_.step(v - v_read);
      sgd_apply(theta_.span(), ctx.grad, step.step);
      rule_.observe(v + 1, v - v_read);
      version_ = v + 1;
      // Checkpoints::record takes its own mutex, never while waiting for another lock.
      const bool snapshot_finite =
          !ctx.checkpoints->due(v + 1) || ctx.checkpoints->record(v + 1, theta_.span());
      lock_.unlock();
      stats.apply_section_seconds += section_seconds(apply_start, SectionClock::now());
      ++stats.timed_updates;

      stats.failed_attempts += failures;
      ++stats.contributed;
      record_step(stats, step.factor);
      note_applied(ctx, v + 1, v - v_read, failures, loss, [=] { return snapshot_finite; });
      charge_exchange(ctx);  // the update's pull and push, outside the lock
    }
    stats.backoff_seconds += backoff.waited_seconds();
  }

  void read_params(std::span<S> out) const override {
    std::copy(theta_.begin(), theta_.end(), out.begin());
  }
  std::span<S> quiescent_params() noexcept override { return theta_.span(); }
  std::int64_t quiescent_version() const noexcept override { return version_; }

  [[nodiscard]] nlohmann::json report() const override {
    nlohmann::json j = facts_;
    j["backoff"] = backoff_json(Backoff::kName, backoff_);
    j["step_rule"] = rule_.json();
    return j;
  }

 private:
  std::string_view name_;
  nlohmann::json facts_;
  BackoffParams backoff_;
  StepRule<S> rule_;
  Lock lock_;                 // padded to its own cache line
  std::int64_t version_ = 0;  // applied updates; guarded by lock_
  SharedArray<S> theta_;      // guarded by lock_
};

}  // namespace psgd
