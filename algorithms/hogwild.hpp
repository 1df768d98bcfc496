// algorithms/hogwild.hpp — `hogwild` and `hogwild-atomic`: lock-free asynchronous SGD with no
// consistency between coordinates.
//
// Each worker copies theta with no synchronisation (hogwild_racy_copy, algorithms/
// hogwild_kernel.hpp: a plain vectorised copy while others write), computes the gradient on the
// copy, claims the update's number from the shared version counter, then applies it:
//   hogwild         hogwild_racy_apply: x = x - step * g per coordinate, a plain vectorised
//                   read-modify-write: an update racing with another on the same coordinate can
//                   overwrite it -- lost updates are possible, as in the paper's analysis and the
//                   reference framework's racy +=.
//   hogwild-atomic  a CAS loop per coordinate computing the same expression: no update is lost;
//                   each failed CAS is a failed attempt and waits per the backoff policy. It pays
//                   for that: the CAS loop cannot be vectorised. In double (--precision double)
//                   it is the same loop on std::atomic_ref<double>: x86-64 has no floating-point
//                   atomic add (C++20's atomic<double>::fetch_add compiles to this very CAS
//                   loop), so each coordinate costs one 8-byte lock cmpxchg, like float's 4-byte
//                   one, but the vector spans twice the cache lines, so sweeps collide as often
//                   per coordinate and twice as long per update.
// The races of the read and of hogwild's apply are the method; they live in the two functions of
// hogwild_kernel.cpp, the only code kept out of ThreadSanitizer's view. Everything else shared
// here is an atomic (the version counter, the CAS, the checkpoint copy's relaxed loads).
// Progress: hogwild is wait-free (a bounded number of steps per update); hogwild-atomic is
// lock-free (a CAS fails only because another worker's CAS on that coordinate succeeded).
// What a read may observe: any mix of coordinates, including updates that are half applied;
// the version read before the copy says how many updates had been numbered, not that they are
// all visible. Staleness = (number claimed at apply) - (version read before the copy), exact: the
// counter is a std::atomic even though the parameters race.
// A gradient whose loss is not finite stops the run (diverged) and is never applied.
// Every applied update is timed in three parts for the run's speed_of_light.update_split, as the
// lock methods time theirs (locked_sgd.hpp): the read (the version load and the racy copy), the
// gradient, and the apply (numbering the update, its step and the apply kernel; the checkpoint
// and the statistics after it are in none of them). Four steady_clock reads per update, into the
// worker's own WorkerStats: no allocation, no I/O, no shared write; an iteration that applies
// nothing (the budget spent, a diverged loss) adds nothing, so timed_updates == applied.
// Paper: F. Niu, B. Recht, C. Ré, S. J. Wright, "HOGWILD!: A Lock-Free Approach to
// Parallelizing Stochastic Gradient Descent", NIPS 2011 (dense variant as in the reference
// framework's `-a HOG`; the per-coordinate atomic update is the paper's own assumption).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/hogwild_kernel.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/step_rule.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

// A "lock-free" label must not rest on a library that quietly takes a lock.
static_assert(std::atomic_ref<float>::is_always_lock_free);
static_assert(std::atomic_ref<double>::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

// S: the scalar type (--precision), float or double.
template <class S, bool kAtomicUpdate, BackoffPolicy Backoff>
class HogwildSgd final : public BasicAlgorithm<S> {
 public:
  explicit HogwildSgd(BackoffParams backoff, const StepRuleParams& rule = {})
      : backoff_(backoff), rule_(rule) {}

  [[nodiscard]] std::string_view name() const override {
    return kAtomicUpdate ? "hogwild-atomic" : "hogwild";
  }

  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override {
    theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
    rule_.init(setup.step, setup.num_workers);
    version_.store(0);
  }

  void run_worker(BasicWorkerContext<S>& ctx) noexcept override {
    Backoff backoff(worker_backoff_params(backoff_, ctx.worker_id));
    WorkerStats& stats = *ctx.stats;
    const std::int64_t total = ctx.control->total_updates();
    const std::size_t dim = theta_.size();
    S* const theta = theta_.data();
    const std::size_t first = dim * static_cast<std::size_t>(ctx.worker_id) /
                              static_cast<std::size_t>(std::max(ctx.num_workers, 1));
    while (!ctx.control->should_stop()) {
      const SectionClock::time_point read_start = SectionClock::now();
      // acquire: the coordinate loads below cannot be hoisted above this load, so the copy is
      // no older than v_read says; pairs with the release fetch_add below, which orders each
      // worker's stores of its previous update before it claims its next number.
      const std::int64_t v_read = version_.load(std::memory_order_acquire);
      if (v_read >= total) break;
      hogwild_racy_copy(ctx.local.data(), theta, dim);  // an inconsistent copy is the method
      const SectionClock::time_point read_end = SectionClock::now();

      const S loss = compute_gradient(ctx, ctx.local);
      const SectionClock::time_point gradient_end = SectionClock::now();
      if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never applied
        ++stats.discarded_at_end;
        break;
      }

      // release: see the acquire load above. The number decides whether the update is applied
      // (it is only while v < total, so exactly `total` updates are applied) and its staleness.
      const std::int64_t v = version_.fetch_add(1, std::memory_order_release);
      if (v >= total) {
        ++stats.discarded_at_end;
        break;
      }
      // The number also fixes the staleness, so the step rule's step is known before the apply.
      const typename StepRule<S>::Step step = rule_.step(v - v_read);
      std::int64_t failures = 0;
      if constexpr (kAtomicUpdate) {
        failures = cas_apply(theta, ctx.grad, step.step, first, backoff);
      } else {
        hogwild_racy_apply(theta, ctx.grad.data(), step.step, dim);
      }
      const SectionClock::time_point apply_end = SectionClock::now();
      stats.read_section_seconds += section_seconds(read_start, read_end);
      stats.gradient_seconds += section_seconds(read_end, gradient_end);
      stats.apply_section_seconds += section_seconds(gradient_end, apply_end);
      ++stats.timed_updates;
      rule_.observe(v + 1, v - v_read);
      stats.failed_attempts += failures;
      ++stats.contributed;
      record_step(stats, step.factor);
      note_applied(ctx, v + 1, v - v_read, failures, loss,
                   [&] { return ctx.checkpoints->record_racy(v + 1, theta); });
      charge_exchange(ctx);  // the update's pull and push
    }
    stats.backoff_seconds += backoff.waited_seconds();
  }

  // hogwild-atomic's apply: a CAS loop per coordinate; returns the failed CASes. Worker w starts
  // its sweep at w/N of the vector and wraps around, so concurrent sweeps work on different cache
  // lines instead of contending for the same ones line by line. Coordinates are independent: the
  // order changes no value (worker 0 starts at 0).
  std::int64_t cas_apply(S* theta, std::span<const S> grad, S step, std::size_t first,
                         Backoff& backoff) const noexcept {
    const std::size_t dim = grad.size();
    std::int64_t failures = 0;
    for (std::size_t k = 0; k < dim; ++k) {
      const std::size_t i = k + first < dim ? k + first : k + first - dim;
      std::atomic_ref<S> x(theta[i]);
      // relaxed (all three): coordinates are independent and nothing else is published with
      // them; the arithmetic is sgd_apply's, so one worker reproduces seq bit for bit.
      S seen = x.load(std::memory_order_relaxed);
      if (!x.compare_exchange_strong(seen, seen - step * grad[i], std::memory_order_relaxed)) {
        do {  // the retry point: another worker's CAS on this coordinate won
          ++failures;
          backoff.pause();
        } while (
            !x.compare_exchange_strong(seen, seen - step * grad[i], std::memory_order_relaxed));
        backoff.reset();
      }
    }
    return failures;
  }

  void read_params(std::span<S> out) const override {
    std::copy(theta_.begin(), theta_.end(), out.begin());
  }
  std::span<S> quiescent_params() noexcept override { return theta_.span(); }
  // relaxed: quiescent, the caller's synchronisation orders it. It may exceed the updates
  // applied: a worker claims a number before it finds the budget spent.
  std::int64_t quiescent_version() const noexcept override {
    return version_.load(std::memory_order_relaxed);
  }

  [[nodiscard]] nlohmann::json report() const override {
    nlohmann::json j;
    j["coordinate_update"] =
        kAtomicUpdate ? "cas (no lost update)" : "load-store (lost updates possible)";
    if constexpr (kAtomicUpdate) {
      j["backoff"] = backoff_json(Backoff::kName, backoff_);
    }
    j["step_rule"] = rule_.json();
    return j;
  }

 private:
  BackoffParams backoff_;
  // The one word every worker writes each update: on its own line, away from theta_'s header
  // and rule_. Without the second alignas, theta_ (8 bytes on) and the first words of rule_
  // (its kind, which every step() reads) shared version_'s 64-byte line, so each fetch_add
  // cost the other worker a miss on its next step() (false sharing; docs/performance.md,
  // "HOGWILD!'s cost on two cores").
  alignas(kNoFalseSharing) std::atomic<std::int64_t> version_{0};
  alignas(kNoFalseSharing) SharedArray<S> theta_;  // shared: the racy kernel, atomic_ref, or
                                                   // before/after the workers
  StepRule<S> rule_;
};

// `hogwild` (atomic_update false: it has no retry point, so backoff is ignored) or
// `hogwild-atomic` with the given backoff policy.
template <class S = float>
std::unique_ptr<BasicAlgorithm<S>> make_hogwild_sgd(bool atomic_update, BackoffKind backoff,
                                                    const BackoffParams& params,
                                                    const StepRuleParams& rule = {});

// Their registry entries (algorithms/registry.hpp).
AlgorithmEntry hogwild_entry();
AlgorithmEntry hogwild_atomic_entry();

}  // namespace psgd
