// algorithms/worker_steps.hpp — the two steps every worker loop shares, so the algorithms differ
// only in how they read and publish parameters.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>

#include "algorithms/algorithm.hpp"
#include "algorithms/pace.hpp"

namespace psgd {

// Writes the gradient at `params` on `batch` into ctx.grad. Returns the minibatch loss; a
// non-finite loss stops the whole run as diverged.
// With a pace (--slowdown, --delay, --step-decay) the gradient is framed by the pull and push
// latency, stretched by the worker's slowdown and scaled by the step decay. When the pace's
// interrupt flag is up (nonblocking's round end) every wait returns at once: the gradient is
// still computed and counted, once, and the caller, which set the flag, abandons it.
template <class S>
inline S compute_gradient_on(BasicWorkerContext<S>& ctx,
                             std::span<const std::type_identity_t<S>> params,
                             const BasicBatch<S>& batch) noexcept {
  WorkerPace* pace = ctx.pace;
  if (pace == nullptr) {
    const S loss = ctx.model->loss_and_gradient(params, batch, ctx.grad, *ctx.workspace);
    ++ctx.stats->computed;
    ctx.stats->samples += static_cast<std::int64_t>(batch.size);
    if (!std::isfinite(loss)) ctx.control->request_stop(StopReason::kDiverged);
    if (ctx.live != nullptr) ctx.live->note_gradient(ctx.stats->computed, loss);
    return loss;
  }
  WorkerStats& s = *ctx.stats;
  s.delay_seconds += pace->delay();  // the pull
  const auto t0 = std::chrono::steady_clock::now();
  const S loss = ctx.model->loss_and_gradient(params, batch, ctx.grad, *ctx.workspace);
  ++s.computed;
  s.samples += static_cast<std::int64_t>(batch.size);
  if (!std::isfinite(loss)) ctx.control->request_stop(StopReason::kDiverged);
  if (ctx.live != nullptr) ctx.live->note_gradient(s.computed, loss);
  if (pace->stretches()) {
    s.slowdown_seconds +=
        pace->stretch(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  if (pace->decays()) pace->decay(ctx.grad);
  s.delay_seconds += pace->delay();  // the push
  return loss;
}

// The same on the worker's next batch: the step every algorithm takes. (compute_gradient_on is
// for a method that redoes a batch: `nonblocking` redoes an abandoned one on new parameters.)
template <class S>
inline S compute_gradient(BasicWorkerContext<S>& ctx,
                          std::span<const std::type_identity_t<S>> params) noexcept {
  return compute_gradient_on(ctx, params, ctx.sampler->next());
}

// One exchange of this worker with the shared model (a round's reduce, a merge, a push and its
// pull, one update of shared parameters): counted, and charged --comm-delay's latency when the
// pace sets one. Called by each method where its exchange happens, outside any lock.
template <class S>
inline void charge_exchange(BasicWorkerContext<S>& ctx) noexcept {
  ++ctx.stats->exchanges;
  if (ctx.pace != nullptr) ctx.stats->comm_delay_seconds += ctx.pace->exchange();
}

// Bookkeeping after this worker applied the update that made the shared version `version`
// (1-based count of applied updates). `snapshot` records the checkpoint when one is due; it must
// read a state that includes this update (a consistent one where the algorithm offers it) and
// return false for non-finite parameters.
template <class S, class Snapshot>
inline void note_applied(BasicWorkerContext<S>& ctx, std::int64_t version, std::int64_t staleness,
                         std::int64_t failed_attempts, S loss, Snapshot&& snapshot) noexcept {
  WorkerStats& s = *ctx.stats;
  if (ctx.pace != nullptr) ctx.pace->note_applied(version);
  ++s.applied;
  if (ctx.live != nullptr) ctx.live->version.store(version, std::memory_order_relaxed);
  s.staleness.add(staleness);
  s.attempts.add(failed_attempts);
  s.add_loss(ctx.checkpoints->checkpoint_of(version), loss);
  if (ctx.checkpoints->due(version) && !snapshot()) {
    ctx.control->request_stop(StopReason::kDiverged);
  }
}

}  // namespace psgd
