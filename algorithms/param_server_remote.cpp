// algorithms/param_server_remote.cpp — the parameter server's side of a run across processes
// (`--backend mpi`, R > 1): the remote workers' loop and the server's handling of their pushes
// through the ServerLink (the protocol: param_server.hpp, server_link.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "algorithms/param_server.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

template <class S>
void ParameterServer<S>::take_remote_locked(BasicWorkerContext<S>& ctx) noexcept {
  PushNote note;
  while (link_->arrived(note)) {
    const auto g = static_cast<std::size_t>(note.slot);
    if (note.kind == PushKind::kDiverged) {  // the worker counts it discarded and stops
      ctx.control->request_stop(StopReason::kDiverged);
      reply_to(g, ReplyKind::kDiscarded, /*finished=*/true);
      continue;
    }
    push_locked(g, note.v_read, static_cast<S>(note.loss));
  }
}

template <class S>
void ParameterServer<S>::reply_applied(int k, bool finished) noexcept {
  for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
    const auto g = static_cast<std::size_t>(taken_[j]);
    if (!remote(g)) continue;
    Mailbox& box = mail_[g];
    box.state = MailState::kIdle;
    ++box.contributed;
    reply_to(g, ReplyKind::kApplied, finished);
  }
}

template <class S>
void ParameterServer<S>::reply_to(std::size_t slot, ReplyKind kind, bool finished) noexcept {
  // theta outside the lock: only this thread writes it.
  const std::span<std::byte> out = link_->reply_buffer(slot);
  std::memcpy(out.data(), theta_.span().data(), out.size());
  link_->reply(slot, {kind, finished ? 1 : 0, version_});
  if (finished) {
    closed_[slot] = 1;
    --open_remote_;
  }
}

template <class S>
void ParameterServer<S>::drain_remote() noexcept {
  const std::size_t n = closed_.size();
  for (auto g = static_cast<std::size_t>(threads_); g < n; ++g) {
    if (closed_[g] == 0 && mail_[g].state == MailState::kDiscarded) {  // queued, never applied
      mail_[g].state = MailState::kIdle;
      reply_to(g, ReplyKind::kDiscarded, /*finished=*/true);
    }
  }
  // The others are computing: each pushes once more, and that push is told the run ended.
  PushNote note;
  while (open_remote_ > 0) {
    if (link_->arrived(note)) {
      reply_to(static_cast<std::size_t>(note.slot), ReplyKind::kDiscarded, /*finished=*/true);
    } else {
      std::this_thread::sleep_for(kRemotePoll);
    }
  }
  link_->settle();
}

// The first pull is theta0, which every rank holds (the same seed); every later one is the
// server's reply. The run ends only by the server's word (a reply with `finished`): this rank's
// own stop flag (its time limit) is the server's to act on, so no push is left unanswered.
template <class S>
void ParameterServer<S>::run_remote_worker(BasicWorkerContext<S>& ctx) noexcept {
  PushNote note;
  note.slot = static_cast<std::int64_t>(rank_) * threads_ + ctx.worker_id;
  std::copy(theta_.begin(), theta_.end(), ctx.local.begin());
  for (;;) {
    const S loss = compute_gradient(ctx, ctx.local);
    const bool finite = std::isfinite(loss);
    if (finite) charge_exchange(ctx);  // the push and its pull: one exchange
    note.loss = static_cast<double>(loss);
    note.kind = finite ? PushKind::kGradient : PushKind::kDiverged;
    const ReplyNote reply = link_->exchange(note, std::as_bytes(std::span<const S>(ctx.grad)),
                                            std::as_writable_bytes(ctx.local));
    if (finite && reply.kind == ReplyKind::kApplied) {
      ++ctx.stats->contributed;
    } else {  // not finite (never applied), or the run ended before it was
      ++ctx.stats->discarded_at_end;
    }
    if (reply.finished != 0) break;
    note.v_read = reply.version;
  }
}

// The member functions of this file in both precisions (the class itself is instantiated in
// param_server.cpp, whose definitions these are not).
#define PSGD_PARAM_SERVER_REMOTE(S)                                                      \
  template void ParameterServer<S>::take_remote_locked(BasicWorkerContext<S>&) noexcept; \
  template void ParameterServer<S>::reply_applied(int, bool) noexcept;                   \
  template void ParameterServer<S>::reply_to(std::size_t, ReplyKind, bool) noexcept;     \
  template void ParameterServer<S>::drain_remote() noexcept;                             \
  template void ParameterServer<S>::run_remote_worker(BasicWorkerContext<S>&) noexcept;
PSGD_PARAM_SERVER_REMOTE(float)
PSGD_PARAM_SERVER_REMOTE(double)
#undef PSGD_PARAM_SERVER_REMOTE

}  // namespace psgd
