// algorithms/async_exchange.cpp — asynchronous in-turn model update and its registry entry.
//
// --merge default average: the pairwise elastic average is the rule the averaging study's
// weaker asynchronous accuracy at 3-4 processes fits best (other-schemes-notes.md C, an
// interpretation: the study does not state its rule).
#include "algorithms/async_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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
  AlgorithmEntry e{
      "async-exchange",
      "asynchronous in-turn model update: H local steps, then merge into theta and take it back", 1,
      AlgorithmEntry::kAnyThreads, with_step_rules({&local_steps_option(), &merge_option()}),
      []<class S>(const AlgorithmSetup& s) {
        return std::make_unique<AsyncExchange<S>>(
            s.settings.get<std::int64_t>(local_steps_option()),
            s.settings.get<MergeRule>(merge_option()), step_rule_choice(s.settings), s.group);
      },
      // The default merge averages theta with the replica, which is not SGD even alone;
      // overwrite makes the one replica theta.
      std::vector<OptionText>{{"merge", "overwrite"}}, BatchOrder::kShard};
  e.across_processes = true;  // theta on the home rank (async_exchange_ranks.cpp)
  return e;
}

template <class S>
void AsyncExchange<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  rank_workers_ = static_cast<std::size_t>(std::max(setup.num_workers, 1));
  const std::size_t ranks = group_ != nullptr ? static_cast<std::size_t>(group_->size()) : 1;
  const std::size_t workers = rank_workers_ * ranks;  // every rank's: W = R x T
  total_workers_ = workers;
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  starts_ = SharedArray<S>(*setup.shared_memory, theta0.size() * rank_workers_);
  step_ = setup.step;
  rule_.init(step_, static_cast<int>(workers));
  version_ = 0;
  reserved_ = 0;
  merges_ = 0;
  merges_per_worker_.assign(workers, 0);
  // Exact bins up to 4 W other merges per interval (equal workers see about W - 1; one F times
  // slower sees about (W - 1) F): larger values go to the overflow bin, count, mean and max
  // stay exact.
  merge_staleness_ = Histogram(4 * workers + 1);
  link_ = nullptr;
  if (ranks > 1) {  // collective: every rank opens the link
    link_ = &group_->open_home_link(rank_workers_, request_bytes(), reply_bytes());
    if (group_->rank() == 0) {
      home_request_.assign(request_bytes(), std::byte{0});
      home_reply_.assign(reply_bytes(), std::byte{0});
      home_replica_.assign(theta0.size(), S{0});
      home_start_.assign(theta0.size(), S{0});
      remote_pulls_.assign(workers, Pull{});
    } else {
      requests_.assign(rank_workers_, std::vector<std::byte>(request_bytes()));
      replies_.assign(rank_workers_, std::vector<std::byte>(reply_bytes()));
    }
  }
}

template <class S>
void merge_replica(MergeRule rule, std::span<S> theta, std::span<const S> replica,
                   std::span<const S> start, double factor) noexcept {
  if (factor == 1.0) {
    switch (rule) {
      case MergeRule::kOverwrite:
        std::copy(replica.begin(), replica.end(), theta.begin());
        return;
      case MergeRule::kAverage:
        for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = (theta[i] + replica[i]) * S{0.5};
        return;
      case MergeRule::kDelta:
        for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += replica[i] - start[i];
        return;
    }
  }
  // The displacement's weight: f for overwrite and delta, f / 2 for average.
  const auto w = static_cast<S>(rule == MergeRule::kAverage ? factor * 0.5 : factor);
  if (rule == MergeRule::kDelta) {
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += w * (replica[i] - start[i]);
  } else {
    for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += w * (replica[i] - theta[i]);
  }
}

template <class S>
typename AsyncExchange<S>::Pull AsyncExchange<S>::pull_locked(std::span<S> replica,
                                                              std::int64_t total) noexcept {
  std::copy(theta_.begin(), theta_.end(), replica.begin());
  const std::int64_t steps = std::min(local_steps_, total - reserved_);
  reserved_ += steps;
  return {version_, merges_, steps};
}

template <class S>
typename AsyncExchange<S>::Merged AsyncExchange<S>::merge_locked(std::size_t worker,
                                                                 const Pull& last,
                                                                 std::span<S> replica,
                                                                 std::span<const S> start,
                                                                 std::int64_t total) noexcept {
  Merged m;
  m.version = version_;
  const std::int64_t others = merges_ - last.merges;  // this merge's staleness
  m.factor = rule_.step(others).factor;
  merge_replica<S>(merge_, theta_.span(), replica, start, m.factor);
  version_ = m.version + last.steps;  // never past the budget: at most `reserved_` steps merge
  merge_staleness_.add(others);
  ++merges_;
  rule_.observe(merges_, others);  // tail's window counts merges
  ++merges_per_worker_[worker];
  m.pull = pull_locked(replica, total);  // take theta back; reserve the next interval
  return m;
}

template <class S>
typename AsyncExchange<S>::Interval AsyncExchange<S>::local_interval(BasicWorkerContext<S>& ctx,
                                                                     std::span<S> replica,
                                                                     std::int64_t steps) noexcept {
  Interval out;
  for (std::int64_t h = 0; h < steps && out.complete; ++h) {
    const S loss = compute_gradient(ctx, replica);
    out.complete = std::isfinite(loss) && !ctx.control->should_stop();
    if (out.complete) {
      out.loss_sum += loss;
      sgd_apply(replica, ctx.grad, step_);
    }
  }
  return out;
}

template <class S>
void AsyncExchange<S>::record_merge(BasicWorkerContext<S>& ctx, const Pull& last, const Merged& m,
                                    double loss_sum, std::span<const S> replica) noexcept {
  const std::int64_t v = m.version;
  const std::int64_t v1 = v + last.steps;
  const std::int64_t staleness = v - last.version;  // steps merged by others since the pull
  const auto loss = static_cast<S>(loss_sum / static_cast<double>(last.steps));
  for (std::int64_t u = v + 1; u <= v1; ++u) {
    record_step(*ctx.stats, m.factor);
    // From the copy just taken under the lock (it holds m.pull.version >= v1 updates).
    note_applied(ctx, u, staleness, /*failed_attempts=*/0, loss,
                 [&] { return ctx.checkpoints->record_late(u, m.pull.version, replica); });
  }
}

template <class S>
void AsyncExchange<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  // link_ null: one process, every worker local. Across ranks rank 0's workers are local too,
  // and its worker 0 runs the home thread beside its own loop.
  if (link_ != nullptr && group_->rank() != 0) {
    run_remote_worker(ctx);
  } else if (link_ != nullptr && ctx.worker_id == 0) {
    run_home_worker(ctx);
  } else {
    run_local_worker(ctx);
  }
}

template <class S>
void AsyncExchange<S>::run_local_worker(BasicWorkerContext<S>& ctx) noexcept {
  WorkerStats& stats = *ctx.stats;
  const std::span<S> replica = ctx.local;
  const std::size_t dim = theta_.size();
  const auto me = static_cast<std::size_t>(ctx.worker_id);  // rank 0's slots are global ids
  const std::span<S> start = starts_.span().subspan(me * dim, dim);
  const std::int64_t total = ctx.control->total_updates();
  Pull pull;
  {
    const std::lock_guard lock(mutex_);
    pull = pull_locked(replica, total);
  }
  while (pull.steps > 0 && !ctx.control->should_stop()) {
    std::copy(replica.begin(), replica.end(), start.begin());
    const std::int64_t computed_before = stats.computed;
    const Interval interval = local_interval(ctx, replica, pull.steps);
    if (!interval.complete) {  // diverged or stopped: these steps are never merged
      stats.discarded_at_end += stats.computed - computed_before;
      break;
    }
    charge_exchange(ctx);
    const Pull last = pull;
    Merged m;
    {
      const std::lock_guard lock(mutex_);
      m = merge_locked(me, last, replica, start, total);
    }
    pull = m.pull;
    stats.contributed += last.steps;  // every merged step is in theta now
    record_merge(ctx, last, m, interval.loss_sum, replica);
  }
}

template <class S>
void AsyncExchange<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json AsyncExchange<S>::report() const {
  const Histogram& h = merge_staleness_;
  std::vector<std::int64_t> bins = h.bins();
  while (!bins.empty() && bins.back() == 0) bins.pop_back();  // trailing zeros say nothing
  return {{"local_steps", local_steps_},
          {"merge", std::string(name_of(kMergeRules, merge_))},
          {"step_rule", rule_.json()},
          {"merges", merges_},
          {"merges_per_worker", merges_per_worker_},
          {"merge_staleness",
           {{"count", h.count()},
            {"mean", h.mean()},
            {"max", h.max()},
            {"p50", h.quantile(0.5)},
            {"p99", h.quantile(0.99)},
            {"histogram", bins},
            {"overflow", h.overflow()}}}};
}

template void merge_replica<float>(MergeRule, std::span<float>, std::span<const float>,
                                   std::span<const float>, double) noexcept;
template void merge_replica<double>(MergeRule, std::span<double>, std::span<const double>,
                                    std::span<const double>, double) noexcept;
template class AsyncExchange<float>;
template class AsyncExchange<double>;

}  // namespace psgd
