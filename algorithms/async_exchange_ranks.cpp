// algorithms/async_exchange_ranks.cpp — `async-exchange` across ranks (--backend mpi): the
// remote workers' loop, the home thread on rank 0, and their messages (async_exchange.hpp says
// who does what; home_link.hpp why the link is request and reply). MPI-free: it talks to the
// HomeLink interface.
//
// Messages: a request is a RequestHead, then for a merge the replica, then for --merge delta its
// start (the replica at its pull); a reply is a ReplyHead, then theta as the home pulled it (the
// worker's next replica). The heads are copied in and out with memcpy, so the byte buffers need
// no alignment.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "algorithms/async_exchange.hpp"
#include "algorithms/worker_steps.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

enum class HomeRequest : std::int64_t { kPull = 0, kMerge = 1, kDone = 2 };

struct RequestHead {
  HomeRequest kind = HomeRequest::kPull;
  std::int64_t stop = 0;  // kDone: the worker's StopReason (kNone: it ran out of budget)
  double loss_sum = 0.0;  // kMerge: the interval's summed minibatch losses
};

struct ReplyHead {
  std::int64_t merged = 0;  // kMerge: 1 when merged, 0 when refused (rank 0 has stopped)
  std::int64_t version = 0;
  std::int64_t merges = 0;
  std::int64_t steps = 0;  // the next interval's reserved steps; 0: stop
};

template <class T>
T read_head(std::span<const std::byte> bytes) noexcept {
  T head;
  std::memcpy(&head, bytes.data(), sizeof(T));
  return head;
}

// `values` into `bytes` from byte `at`; returns the byte after them.
template <class S>
std::size_t put_values(std::span<std::byte> bytes, std::size_t at,
                       std::span<const S> values) noexcept {
  std::memcpy(bytes.data() + at, values.data(), values.size_bytes());
  return at + values.size_bytes();
}

template <class S>
std::size_t get_values(std::span<const std::byte> bytes, std::size_t at,
                       std::span<S> values) noexcept {
  std::memcpy(values.data(), bytes.data() + at, values.size_bytes());
  return at + values.size_bytes();
}

}  // namespace

template <class S>
std::size_t AsyncExchange<S>::request_bytes() const noexcept {
  const std::size_t arrays = merge_ == MergeRule::kDelta ? 2 : 1;
  return sizeof(RequestHead) + arrays * theta_.size() * sizeof(S);
}

template <class S>
std::size_t AsyncExchange<S>::reply_bytes() const noexcept {
  return sizeof(ReplyHead) + theta_.size() * sizeof(S);
}

template <class S>
void AsyncExchange<S>::run_remote_worker(BasicWorkerContext<S>& ctx) noexcept {
  WorkerStats& stats = *ctx.stats;
  const std::span<S> replica = ctx.local;
  const std::size_t dim = theta_.size();
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  const std::span<S> start = starts_.span().subspan(me * dim, dim);
  const std::span<std::byte> request = requests_[me];
  const std::span<std::byte> reply = replies_[me];
  // The request's head into `request`; the call; the reply's theta into the replica.
  const auto call = [&](RequestHead head, std::size_t bytes) noexcept {
    std::memcpy(request.data(), &head, sizeof head);
    link_->call_home(me, request.first(bytes), reply);
    get_values<S>(reply, sizeof(ReplyHead), replica);
    const auto r = read_head<ReplyHead>(reply);
    return std::pair{r.merged != 0, Pull{r.version, r.merges, r.steps}};
  };
  // --step-decay's epoch clock: advanced over every version this rank learns of at its exchanges
  // (rank 0's advances with every merge; here it lags by at most the others' merges meanwhile).
  std::int64_t seen = 0;
  const auto see = [&](std::int64_t version) noexcept {
    if (ctx.pace != nullptr) {
      for (std::int64_t u = seen + 1; u <= version; ++u) ctx.pace->note_applied(u);
    }
    seen = std::max(seen, version);
  };
  Pull pull = call({HomeRequest::kPull, 0, 0.0}, sizeof(RequestHead)).second;
  see(pull.version);
  while (pull.steps > 0 && !ctx.control->should_stop()) {
    std::copy(replica.begin(), replica.end(), start.begin());
    const std::int64_t computed_before = stats.computed;
    const Interval interval = local_interval(ctx, replica, pull.steps);
    if (!interval.complete) {  // diverged or stopped: these steps are never merged
      stats.discarded_at_end += stats.computed - computed_before;
      break;
    }
    charge_exchange(ctx);
    std::size_t bytes = put_values<S>(request, sizeof(RequestHead), replica);
    if (merge_ == MergeRule::kDelta) bytes = put_values<S>(request, bytes, start);
    const auto [merged, next] = call({HomeRequest::kMerge, 0, interval.loss_sum}, bytes);
    if (!merged) {  // rank 0 stopped first: the interval is never merged
      stats.discarded_at_end += stats.computed - computed_before;
      break;
    }
    stats.contributed += pull.steps;  // every merged step is in theta now
    pull = next;
    see(pull.version);
  }
  // The last message: the home counts its remote workers out, and stops rank 0 if this one
  // stopped (a non-finite loss, a time limit).
  const RequestHead done{
      HomeRequest::kDone,
      ctx.control->should_stop() ? static_cast<std::int64_t>(ctx.control->reason()) : 0, 0.0};
  std::memcpy(request.data(), &done, sizeof done);
  link_->notify_home(me, request.first(sizeof done));
}

template <class S>
void AsyncExchange<S>::serve_home(BasicWorkerContext<S>& home) noexcept {
  const std::int64_t total = home.control->total_updates();
  const std::span<S> replica(home_replica_);
  const std::span<S> start(home_start_);
  const std::span<std::byte> request(home_request_);
  const std::span<std::byte> reply(home_reply_);
  for (std::size_t active = total_workers_ - rank_workers_; active > 0;) {
    const HomeCaller caller = link_->next_request(request);
    const auto head = read_head<RequestHead>(request);
    const std::size_t worker = static_cast<std::size_t>(caller.rank) * rank_workers_ +
                               static_cast<std::size_t>(caller.worker);
    if (head.kind == HomeRequest::kDone) {
      --active;
      if (head.stop != 0) home.control->request_stop(static_cast<StopReason>(head.stop));
      continue;
    }
    ReplyHead out;
    // Once rank 0 stops, nothing more is merged or reserved (a local worker checks the same flag
    // before its merge and after its pull).
    const bool stopped = home.control->should_stop();
    if (head.kind == HomeRequest::kPull || stopped) {
      const std::lock_guard lock(mutex_);
      Pull p = pull_locked(replica, stopped ? reserved_ : total);  // stopped: reserves 0 steps
      remote_pulls_[worker] = p;
      out = {0, p.version, p.merges, p.steps};
    } else {
      const Pull last = remote_pulls_[worker];
      std::size_t at = get_values<S>(request, sizeof(RequestHead), replica);
      if (merge_ == MergeRule::kDelta) get_values<S>(request, at, start);
      Merged m;
      {
        const std::lock_guard lock(mutex_);
        m = merge_locked(worker, last, replica, start, total);
      }
      remote_pulls_[worker] = m.pull;
      out = {1, m.pull.version, m.pull.merges, m.pull.steps};
      record_merge(home, last, m, head.loss_sum, replica);
    }
    std::memcpy(reply.data(), &out, sizeof out);
    put_values<S>(reply, sizeof(ReplyHead), replica);
    link_->reply(caller, reply);
  }
}

template <class S>
void AsyncExchange<S>::run_home_worker(BasicWorkerContext<S>& ctx) noexcept {
  home_stats_ = *ctx.stats;  // the same histogram bins and loss slots; no counts yet
  BasicWorkerContext<S> home = ctx;
  home.stats = &home_stats_;
  home.live = nullptr;  // worker 0's published progress is written by worker 0 alone
  // home.pace stays worker 0's: note_applied only advances the run's epoch clock (an atomic).
  std::thread server;
  try {
    server = std::thread([this, &home] { serve_home(home); });
  } catch (const std::system_error& e) {
    // The other ranks would wait for their replies forever: end the job.
    std::fprintf(stderr, "psgd run: async-exchange cannot start its home thread: %s\n", e.what());
    group_->abort(kExitEnvironmentError);  // a resource failure: exit 3, as everywhere
  }
  run_local_worker(ctx);
  server.join();  // every remote worker is done: the home's stats are final
  const std::int64_t stride = std::max(ctx.stats->loss_stride, home_stats_.loss_stride);
  ctx.stats->thin_losses(stride);
  home_stats_.thin_losses(stride);
  ctx.stats->merge(home_stats_);
}

template void AsyncExchange<float>::run_remote_worker(BasicWorkerContext<float>&) noexcept;
template void AsyncExchange<double>::run_remote_worker(BasicWorkerContext<double>&) noexcept;
template void AsyncExchange<float>::run_home_worker(BasicWorkerContext<float>&) noexcept;
template void AsyncExchange<double>::run_home_worker(BasicWorkerContext<double>&) noexcept;
template std::size_t AsyncExchange<float>::request_bytes() const noexcept;
template std::size_t AsyncExchange<double>::request_bytes() const noexcept;
template std::size_t AsyncExchange<float>::reply_bytes() const noexcept;
template std::size_t AsyncExchange<double>::reply_bytes() const noexcept;

}  // namespace psgd
