// algorithms/worker_steps.hpp — the two steps every worker loop shares, so the algorithms differ
// only in how they read and publish parameters.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>

#include "algorithms/algorithm.hpp"

namespace psgd {

// Draws the worker's next batch and writes the gradient at `params` into ctx.grad. Returns the
// minibatch loss; a non-finite loss stops the whole run as diverged.
template <class S>
inline S compute_gradient(BasicWorkerContext<S>& ctx,
                          std::span<const std::type_identity_t<S>> params) noexcept {
  const BasicBatch<S> batch = ctx.sampler->next();
  const S loss = ctx.model->loss_and_gradient(params, batch, ctx.grad, *ctx.workspace);
  ++ctx.stats->computed;
  if (!std::isfinite(loss)) ctx.control->request_stop(StopReason::kDiverged);
  return loss;
}

// Bookkeeping after this worker applied the update that made the shared version `version`
// (1-based count of applied updates). `snapshot` records the checkpoint when one is due; it must
// read a state that includes this update (a consistent one where the algorithm offers it) and
// return false for non-finite parameters.
template <class S, class Snapshot>
inline void note_applied(BasicWorkerContext<S>& ctx, std::int64_t version, std::int64_t staleness,
                         std::int64_t failed_attempts, S loss, Snapshot&& snapshot) noexcept {
  WorkerStats& s = *ctx.stats;
  ++s.applied;
  s.staleness.add(staleness);
  s.attempts.add(failed_attempts);
  s.add_loss(ctx.checkpoints->checkpoint_of(version), loss);
  if (ctx.checkpoints->due(version) && !snapshot()) {
    ctx.control->request_stop(StopReason::kDiverged);
  }
}

}  // namespace psgd
