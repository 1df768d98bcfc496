// algorithms/param_server.cpp — the parameter server shared by `param-server` and `hybrid`.
#include "algorithms/param_server.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "algorithms/worker_steps.hpp"

namespace psgd {
namespace {

// How often a waiting server looks at the run's stop flag (a time limit sets it without
// notifying this algorithm's condition variables): short next to any run, long next to a wake-up.
constexpr std::chrono::milliseconds kStopPoll{1};

}  // namespace

int KSchedule::at(std::int64_t updates, int workers) const noexcept {
  const std::int64_t base = k0 == kAllWorkers ? workers : k0;
  std::int64_t k = base;
  if (interval > 0) {
    const std::int64_t steps = updates / interval;
    if (shape == KShape::kLinear) {
      k = base + steps;
    } else {
      k = steps >= 31 ? std::numeric_limits<std::int64_t>::max()
                      : base * (std::int64_t{1} << steps);
    }
  }
  return static_cast<int>(std::clamp<std::int64_t>(k, 1, std::max(workers, 1)));
}

template <class S>
void ParameterServer<S>::init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) {
  threads_ = std::max(setup.num_workers, 1);
  const int ranks = group_ != nullptr ? group_->size() : 1;
  rank_ = group_ != nullptr ? group_->rank() : 0;
  const int n = threads_ * ranks;  // worker slots over every rank
  workers_ = n == 1 ? 1 : (trains_ ? n : n - 1);
  // Rank 0 holds a mailbox and a gradient slice per slot of every rank (the remote pushes land
  // there); a rank >= 1 only its own (its workers compute into ctx.grad and push from there).
  const int slots = rank_ == 0 ? n : threads_;
  theta_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
  gradients_ =
      SharedArray<S>(*setup.shared_memory, theta0.size() * static_cast<std::size_t>(slots));
  mail_ = std::vector<Mailbox>(static_cast<std::size_t>(slots));
  queue_.assign(static_cast<std::size_t>(workers_), 0);
  taken_.assign(static_cast<std::size_t>(workers_), 0);
  queue_head_ = 0;
  queued_ = 0;
  version_ = 0;
  contributed_ = 0;
  finished_ = false;
  k_ = schedule_.at(0, workers_);
  gradient_staleness_ = Histogram(1024);
  rule_.init(setup.step, workers_);
  link_ = nullptr;
  closed_.assign(static_cast<std::size_t>(n), 0);
  open_remote_ = 0;
  if (ranks > 1) {  // collective: every rank opens the link
    link_ =
        &group_->open_server_link({theta0.size() * sizeof(S), static_cast<std::size_t>(threads_)});
    if (rank_ == 0) {
      for (auto g = static_cast<std::size_t>(threads_); g < static_cast<std::size_t>(n); ++g) {
        link_->expect(g, std::as_writable_bytes(gradient_of(g)));
      }
      open_remote_ = static_cast<std::size_t>(n - threads_);
    }
  }
}

template <class S>
void ParameterServer<S>::run_worker(BasicWorkerContext<S>& ctx) noexcept {
  if (link_ != nullptr && rank_ > 0) {
    run_remote_worker(ctx);
  } else if (ctx.num_workers == 1 && link_ == nullptr) {
    run_alone(ctx);
  } else if (ctx.worker_id == 0) {
    run_server(ctx);
  } else {
    run_gradient_worker(ctx);
  }
}

// Server and worker in one thread: every push is applied at once (K = 1 = W), as seq does.
// One gradient per update, so the gradient cap is an update budget here.
template <class S>
void ParameterServer<S>::run_alone(BasicWorkerContext<S>& ctx) noexcept {
  const std::int64_t total = std::min(ctx.control->total_updates(), ctx.control->total_gradients());
  Mailbox& box = mail_[0];
  for (std::int64_t v = 0; v < total && !ctx.control->should_stop(); ++v) {
    const S loss = compute_gradient(ctx, theta_.span());
    if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never applied
      ++ctx.stats->discarded_at_end;
      break;
    }
    const typename StepRule<S>::Step step = rule_.step(0);
    sgd_apply(theta_.span(), ctx.grad, step.step);
    rule_.observe(v + 1, 0);
    record_step(*ctx.stats, step.factor);
    ++box.contributed;
    ++ctx.stats->contributed;
    gradient_staleness_.add(0);
    version_ = v + 1;  // single-threaded: no other thread reads it
    note_applied(ctx, v + 1, /*staleness=*/0, /*failed_attempts=*/0, loss,
                 [&] { return ctx.checkpoints->record(v + 1, theta_.span()); });
    charge_exchange(ctx);  // one push and pull per update, as seq charges
  }
}

template <class S>
void ParameterServer<S>::run_server(BasicWorkerContext<S>& ctx) noexcept {
  const std::int64_t total = ctx.control->total_updates();
  const std::int64_t cap = ctx.control->total_gradients();
  Mailbox& own = mail_[0];
  if (trains_) ctx.grad = gradient_of(0);  // its gradient is read from its mailbox slice
  Lock lock(mutex_);
  for (;;) {
    if (ctx.control->should_stop()) break;
    if (link_ != nullptr) take_remote_locked(ctx);
    if (queued_ < static_cast<std::size_t>(k_)) {
      if (trains_ && own.state == MailState::kIdle) {
        if (!train_once(ctx, lock)) break;
        continue;
      }
      // Remote pushes (a link) arrive without a notification: the link is polled more often.
      const std::chrono::microseconds poll = link_ != nullptr ? kRemotePoll : kStopPoll;
      server_cv_.wait_for(lock, poll, [&] {
        return queued_ >= static_cast<std::size_t>(k_) || ctx.control->should_stop();
      });
      continue;
    }
    S loss = 0;
    const int k = k_;
    double factor = 1.0;
    const std::int64_t staleness = apply_earliest(k, ctx.local, loss, factor);
    record_step(*ctx.stats, factor);
    if (own.state == MailState::kApplied) {  // its own gradient was in this update
      own.state = MailState::kIdle;
      ++own.contributed;
      ++ctx.stats->contributed;
    }
    contributed_ += k;
    const std::int64_t v = version_;
    k_ = schedule_.at(v, workers_);
    const bool spent = v >= total || contributed_ >= cap;
    if (spent) finish_locked();
    lock.unlock();
    worker_cv_.notify_all();
    if (link_ != nullptr) reply_applied(k, spent);
    // Outside the lock: only this thread writes theta, so this read sees update v exactly.
    note_applied(ctx, v, staleness, /*failed_attempts=*/0, loss,
                 [&] { return ctx.checkpoints->record(v, theta_.span()); });
    if (spent) break;
    lock.lock();
  }
  finish_server(ctx, lock);
}

template <class S>
bool ParameterServer<S>::train_once(BasicWorkerContext<S>& ctx, Lock& lock) noexcept {
  const std::int64_t v_read = version_;
  lock.unlock();
  // theta itself, unlocked: only this thread writes it, and it applies nothing meanwhile.
  const S loss = compute_gradient(ctx, theta_.span());
  lock.lock();
  if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never queued
    ++ctx.stats->discarded_at_end;
    return false;
  }
  push_locked(0, v_read, loss);
  return true;
}

template <class S>
void ParameterServer<S>::finish_server(BasicWorkerContext<S>& ctx, Lock& lock) noexcept {
  if (!lock.owns_lock()) lock.lock();
  finish_locked();
  Mailbox& own = mail_[0];
  if (trains_ && own.state == MailState::kDiscarded) {  // queued, never applied
    own.state = MailState::kIdle;
    ++ctx.stats->discarded_at_end;
  }
  lock.unlock();
  worker_cv_.notify_all();
  if (link_ != nullptr) drain_remote();
}

template <class S>
void ParameterServer<S>::push_locked(std::size_t slot, std::int64_t v_read, S loss) noexcept {
  Mailbox& box = mail_[slot];
  box.state = MailState::kPushed;
  box.v_read = v_read;
  box.loss = loss;
  queue_[(queue_head_ + queued_) % queue_.size()] = static_cast<int>(slot);
  ++queued_;
}

template <class S>
std::int64_t ParameterServer<S>::apply_earliest(int k, std::span<S> mean, S& loss,
                                                double& factor) noexcept {
  const auto n = static_cast<std::size_t>(k);
  const std::size_t w = queue_.size();
  for (std::size_t j = 0; j < n; ++j) taken_[j] = queue_[(queue_head_ + j) % w];
  queue_head_ = (queue_head_ + n) % w;
  queued_ -= n;
  // Worker order, not arrival order: the same K gradients always give the same float mean.
  std::sort(taken_.begin(), taken_.begin() + k);
  const std::size_t dim = theta_.size();
  auto grad_of = [&](int slot) { return gradient_of(static_cast<std::size_t>(slot)); };
  std::int64_t staleness = 0;
  double loss_sum = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    Mailbox& box = mail_[static_cast<std::size_t>(taken_[j])];
    const std::int64_t s = version_ - box.v_read;
    gradient_staleness_.add(s);
    staleness = std::max(staleness, s);
    loss_sum += box.loss;
    box.state = MailState::kApplied;
  }
  const typename StepRule<S>::Step step = rule_.step(staleness);
  factor = step.factor;
  if (k == 1) {
    sgd_apply(theta_.span(), grad_of(taken_[0]), step.step);  // g / 1 == g: skip the copy
  } else {
    const S count = static_cast<S>(k);
    for (std::size_t i = 0; i < dim; ++i) {
      S sum = grad_of(taken_[0])[i];
      for (std::size_t j = 1; j < n; ++j) sum += grad_of(taken_[j])[i];
      mean[i] = sum / count;
    }
    sgd_apply(theta_.span(), mean, step.step);
  }
  ++version_;
  rule_.observe(version_, staleness);
  loss = static_cast<S>(loss_sum / static_cast<double>(k));
  return staleness;
}

template <class S>
void ParameterServer<S>::finish_locked() noexcept {
  finished_ = true;
  const std::size_t w = queue_.size();
  for (std::size_t j = 0; j < queued_; ++j) {
    mail_[static_cast<std::size_t>(queue_[(queue_head_ + j) % w])].state = MailState::kDiscarded;
  }
  queued_ = 0;
}

template <class S>
void ParameterServer<S>::run_gradient_worker(BasicWorkerContext<S>& ctx) noexcept {
  const auto me = static_cast<std::size_t>(ctx.worker_id);
  Mailbox& box = mail_[me];
  // The gradient goes to this worker's mailbox slice, which the server reads while it is pushed.
  ctx.grad = gradient_of(me);
  for (;;) {
    std::int64_t v_read = 0;
    {
      const std::lock_guard lock(mutex_);  // pull: a consistent copy
      if (finished_) break;
      std::copy(theta_.begin(), theta_.end(), ctx.local.begin());
      v_read = version_;
    }
    if (ctx.control->should_stop()) break;
    const S loss = compute_gradient(ctx, ctx.local);
    if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never pushed
      ++ctx.stats->discarded_at_end;
      break;
    }
    charge_exchange(ctx);  // the push and its pull: one exchange, outside the lock
    Lock lock(mutex_);     // push, then wait for the server's reply
    if (finished_) {
      ++ctx.stats->discarded_at_end;
      break;
    }
    push_locked(me, v_read, loss);
    server_cv_.notify_one();
    worker_cv_.wait(lock, [&] { return box.state != MailState::kPushed; });
    if (box.state != MailState::kApplied) {
      ++ctx.stats->discarded_at_end;
      break;
    }
    box.state = MailState::kIdle;
    ++box.contributed;
    ++ctx.stats->contributed;
  }
}

template <class S>
void ParameterServer<S>::read_params(std::span<S> out) const {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

template <class S>
nlohmann::json ParameterServer<S>::report() const {
  nlohmann::json j = facts_;
  std::vector<std::int64_t> contributed;
  std::int64_t total = 0;
  for (const Mailbox& m : mail_) {
    contributed.push_back(m.contributed);
    total += m.contributed;
  }
  j["gradient_workers"] = workers_;
  j["server_trains"] = trains_ && mail_.size() > 1;
  // The server's thread slot; null with --threads 1, where the one thread serves and trains
  // (a number, never a sentence: before schema 3 this was the string "none (--threads 1)").
  j["server_slot"] = mail_.size() > 1 ? nlohmann::json(0) : nlohmann::json(nullptr);
  j["contributed"] = contributed;
  j["gradients_per_update"] =
      version_ > 0 ? static_cast<double>(total) / static_cast<double>(version_) : 0.0;
  j["k_final"] = k_;
  j["gradient_staleness"] = {{"count", gradient_staleness_.count()},
                             {"mean", gradient_staleness_.mean()},
                             {"max", gradient_staleness_.max()},
                             {"p50", gradient_staleness_.quantile(0.5)},
                             {"p99", gradient_staleness_.quantile(0.99)}};
  j["step_rule"] = rule_.json();
  return j;
}

template class ParameterServer<float>;
template class ParameterServer<double>;

}  // namespace psgd
