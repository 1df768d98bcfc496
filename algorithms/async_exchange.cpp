// algorithms/async_exchange.cpp — asynchronous in-turn model update and its registry entry.
//
// --merge default average: the pairwise elastic average is the rule the averaging study's
// weaker asynchronous accuracy at 3-4 processes fits best (other-schemes-notes.md C, an
// interpretation: the study does not state its rule).
#include "algorithms/async_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "algorithms/local_sgd.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {
namespace {

const AlgorithmOption& merge_option() {
  static const AlgorithmOption o = AlgorithmOption::make<MergeRule>(
      "merge", "RULE",
      "async-exchange: how a replica enters the shared parameters: average ((theta + replica) / "
      "2) | overwrite (last writer wins) | delta (theta += replica - its value at the last pull)",
      MergeRule::kAverage,
      [](std::string_view text) { return parse_name(kMergeRules, "merge", text); },
      [](const MergeRule& m) { return nlohmann::json(std::string(name_of(kMergeRules, m))); });
  return o;
}

}  // namespace

AlgorithmEntry async_exchange_entry() {
  return {
      "async-exchange",
      "asynchronous in-turn model update: H local steps, then merge into theta and take it back",
      1,
      AlgorithmEntry::kAnyThreads,
      {&local_steps_option(), &merge_option()},
      []<class S>(const AlgorithmSetup& s) {
        return std::make_unique<AsyncExchange<S>>(
            s.settings.get<std::int64_t>(local_steps_option()),
            s.settings.get<MergeRule>(merge_option()));
      },
      // The default merge averages theta with the replica, which is not SGD even alone;
      // overwrite makes the one replica theta.
      std::vector<OptionText>{{"merge", "overwrite"}}};
}

template <class S>
void AsyncExchange<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  starts_ =
      SharedArray<S>(*setup.shared_memory,
                     theta0.size() * static_cast<std::size_t>(std::max(setup.num_workers, 1)));
  step_ = setup.step;
  version_ = 0;
}

template <class S>
void AsyncExchange<S>::merge_locked(std::span<const S> replica, std::span<const S> start) noexcept {
  const std::span<S> theta = theta_.span();
  switch (merge_) {
    case MergeRule::kOverwrite:
      std::copy(replica.begin(), replica.end(), theta.begin());
      break;
    case MergeRule::kAverage:
      for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = (theta[i] + replica[i]) * S{0.5};
      break;
    case MergeRule::kDelta:
      for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += replica[i] - start[i];
      break;
  }
}

template <class S>
void AsyncExchange<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  WorkerStats& stats = *ctx.stats;
  const std::int64_t total = ctx.control->total_updates();
  const std::span<S> replica = ctx.local;
  const std::size_t dim = theta_.size();
  const std::span<S> start =
      starts_.span().subspan(static_cast<std::size_t>(ctx.worker_id) * dim, dim);
  std::int64_t v_read = 0;
  {
    const std::lock_guard lock(mutex_);
    std::copy(theta_.begin(), theta_.end(), replica.begin());
    v_read = version_;
  }
  while (v_read < total && !ctx.control->should_stop()) {
    const std::int64_t v_pull = v_read;
    std::copy(replica.begin(), replica.end(), start.begin());
    const std::int64_t steps = std::min(local_steps_, total - v_read);
    const std::int64_t computed_before = stats.computed;
    double loss_sum = 0.0;
    bool complete = true;
    for (std::int64_t h = 0; h < steps && complete; ++h) {
      const S loss = compute_gradient(ctx, replica);
      complete = std::isfinite(loss) && !ctx.control->should_stop();
      if (complete) {
        loss_sum += loss;
        sgd_apply(replica, ctx.grad, step_);
      }
    }
    if (!complete) {  // diverged or stopped: these steps are never merged
      stats.discarded_at_end += stats.computed - computed_before;
      break;
    }
    std::int64_t v = 0;
    bool merged = false;
    {
      const std::lock_guard lock(mutex_);
      v = version_;
      merged = v + steps <= total;
      if (merged) {
        merge_locked(replica, start);
        version_ = v + steps;
      }
      std::copy(theta_.begin(), theta_.end(), replica.begin());  // take theta back
      v_read = version_;
    }
    if (!merged) {  // others used the budget's remainder meanwhile: plan again from this pull
      stats.dropped += steps;
      continue;
    }
    const std::int64_t v1 = v + steps;
    const std::int64_t staleness = v - v_pull;  // updates merged by others since the pull
    const auto loss = static_cast<S>(loss_sum / static_cast<double>(steps));
    for (std::int64_t u = v + 1; u <= v1; ++u) {
      // From the copy just taken under the lock (it holds v_read >= v1 updates).
      note_applied(ctx, u, staleness, /*failed_attempts=*/0, loss,
                   [&] { return ctx.checkpoints->record_late(u, v_read, replica); });
    }
  }
}

template <class S>
void AsyncExchange<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json AsyncExchange<S>::report() const {
  return {{"local_steps", local_steps_}, {"merge", std::string(name_of(kMergeRules, merge_))}};
}

template class AsyncExchange<float>;
template class AsyncExchange<double>;

}  // namespace psgd
