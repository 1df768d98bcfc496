// algorithms/leashed.hpp — `leashed`: Leashed-SGD, consistent lock-free asynchronous SGD.
//
// A global atomic pointer to the latest parameter vector; every published vector is immutable
// and carries its version. Each worker:
//   acquire the latest vector p (a counted reference); gradient directly on p (no copy); release p
//   publish: acquire the latest q; copy q into a private candidate while applying the gradient
//            (sgd_apply_into: one pass, sgd_apply's rounding); version = q.version + 1;
//            CAS latest q -> candidate. On failure: a failed attempt, backoff, retry with the new
//            latest, up to --persistence B retries (B + 1 attempts), then the gradient is dropped
//            and counted. The default B = inf never drops.
//   --test-before-cas, as the reference's -C: the copy-and-apply pass is abandoned as soon as
//            latest no longer points to q (tested every 16 KiB of the pass and before the CAS);
//            an abandoned publish is a failed test (contention.failed_tests), not a failed CAS,
//            and counts as one of the B + 1 attempts.
//   A gradient whose loss is not finite stops the run (diverged) and is never published.
//   staleness = q.version - p.version (the version at the successful publish minus the version
//   the gradient was computed on), exact: versions live in the immutable vectors.
// An update is applied only while q.version < budget, so the published versions are exactly
// 1..budget. Reclamation: reclaim/ref_count_pool.hpp (at most 2N + 1 live vectors of 3N
// preallocated; the peak observed is reported).
// Progress: lock-free (a CAS fails only because another worker's CAS succeeded); with a finite B
// every worker also finishes each update in a bounded number of attempts.
// What a read observes: always a consistent vector, exactly the first p.version updates.
// Paper: K. Bäckström, I. Walulya, M. Papatriantafilou, P. Tsigas, "Consistent Lock-free Parallel
// Stochastic Gradient Descent for Fast and Stable Convergence", IEEE IPDPS 2021
// (reference framework `-a LSH`, `-B`, `-C`).
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "algorithms/algorithm.hpp"
#include "algorithms/backoff.hpp"
#include "algorithms/reclaim/ref_count_pool.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/step_rule.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {

static_assert(std::atomic<BasicPooledVector<double>*>::is_always_lock_free);

struct LeashedOptions {
  // Retries after a failed publish before the gradient is dropped; kInfinite never drops.
  static constexpr std::int64_t kInfinite = std::numeric_limits<std::int64_t>::max();
  std::int64_t persistence = kInfinite;
  bool test_before_cas = false;
  StepRuleParams step_rule;  // --step-rule and its parameters (algorithms/step_rule.hpp)
};

// S: the scalar type (--precision), float or double: the pool's vectors hold S values.
template <class S, BackoffPolicy Backoff>
class LeashedSgd final : public BasicAlgorithm<S> {
  using PooledVector = BasicPooledVector<S>;
  using RefCountPool = BasicRefCountPool<S>;

 public:
  LeashedSgd(LeashedOptions options, BackoffParams backoff)
      : options_(options), backoff_(backoff), rule_(options.step_rule) {}

  [[nodiscard]] std::string_view name() const override { return "leashed"; }

  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override {
    rule_.init(setup.step, setup.num_workers);
    pool_ = std::make_unique<RefCountPool>(theta0.size(), setup.num_workers, *setup.shared_memory);
    PooledVector* first = pool_->allocate();  // its reference becomes latest_'s
    std::copy(theta0.begin(), theta0.end(), first->data);
    first->version = 0;
    latest_.store(first);
  }

  void run_worker(BasicWorkerContext<S>& ctx) noexcept override {
    Backoff backoff(worker_backoff_params(backoff_, ctx.worker_id));
    WorkerStats& stats = *ctx.stats;
    RefCountPool& pool = *pool_;
    const std::int64_t total = ctx.control->total_updates();
    PooledVector* candidate = nullptr;  // private, kept across failed attempts and updates
    bool done = false;
    while (!done && !ctx.control->should_stop()) {
      PooledVector* p = pool.acquire(latest_);
      const std::int64_t t0 = p->version;
      if (t0 >= total) {
        pool.release(p);
        break;
      }
      const S loss = compute_gradient(ctx, p->values());
      pool.release(p);
      if (!std::isfinite(loss)) {  // the run stops as diverged; this gradient is never published
        ++stats.discarded_at_end;
        break;
      }
      done = publish(ctx, backoff, candidate, t0, loss);
      backoff.reset();
    }
    if (candidate != nullptr) pool.release(candidate);
    stats.backoff_seconds += backoff.waited_seconds();
  }

  void read_params(std::span<S> out) const override {
    const PooledVector* v = latest_.load();
    std::copy(v->data, v->data + v->size, out.begin());
  }

  [[nodiscard]] nlohmann::json report() const override {
    nlohmann::json j;
    j["persistence"] = options_.persistence == LeashedOptions::kInfinite
                           ? nlohmann::json("inf")
                           : nlohmann::json(options_.persistence);
    j["test_before_cas"] = options_.test_before_cas;
    j["backoff"] = backoff_json(Backoff::kName, backoff_);
    j["reclamation"] = "refcount-pool";
    j["step_rule"] = rule_.json();
    if (pool_) {
      j["live_vectors"] = {{"peak", pool_->peak_live()},
                           {"bound", pool_->live_bound()},
                           {"pool", pool_->capacity()}};
    }
    return j;
  }

  // The latest published vector, written in place (quiescent: no worker holds or reads it).
  std::span<S> quiescent_params() noexcept override {
    PooledVector* v = latest_.load(std::memory_order_relaxed);
    return {v->data, v->size};
  }
  std::int64_t quiescent_version() const noexcept override {
    return latest_.load(std::memory_order_relaxed)->version;
  }

  [[nodiscard]] std::optional<std::int64_t> peak_live_vectors() const override {
    if (!pool_) return std::nullopt;
    return static_cast<std::int64_t>(pool_->peak_live());
  }

  // For tests: the reclamation pool (after init).
  [[nodiscard]] const RefCountPool& pool() const noexcept { return *pool_; }

 private:
  // Publishes ctx.grad, computed on version t0: copy the latest q into the candidate while
  // applying the gradient, then CAS latest_ from q to it; retries with the new latest after a
  // failed CAS or test, up to the persistence bound. Returns true when the run ended meanwhile.
  bool publish(BasicWorkerContext<S>& ctx, Backoff& backoff, PooledVector*& candidate,
               std::int64_t t0, S loss) noexcept {
    WorkerStats& stats = *ctx.stats;
    RefCountPool& pool = *pool_;
    const std::int64_t total = ctx.control->total_updates();
    std::int64_t failures = 0;  // failed CASes of this update
    std::int64_t tests = 0;     // publishes of this update abandoned on a failed test
    for (;;) {
      PooledVector* q = pool.acquire(latest_);
      const std::int64_t v = q->version;
      if (v >= total || ctx.control->should_stop()) {  // the run ended while we computed
        pool.release(q);
        ++stats.discarded_at_end;
        stats.failed_attempts += failures;
        return true;
      }
      if (candidate == nullptr) candidate = pool.allocate();
      bool won = false;
      // The staleness this publish would have, v - t0, is exact if its CAS succeeds (q stays the
      // latest): the step rule's step for it. A retry recomputes both.
      const typename StepRule<S>::Step step = rule_.step(v - t0);
      const bool current = build_candidate(*candidate, *q, ctx.grad, step.step);
      // A due snapshot reads the candidate after it is published, when another worker may
      // already have replaced and released it: hold a second reference until it is copied.
      const bool due = current && ctx.checkpoints->due(v + 1);
      if (current) {
        candidate->version = v + 1;
        if (due) pool.retain(candidate);
        PooledVector* expected = q;
        // release (success): pairs with the acquire loads in RefCountPool::acquire(), which then
        // see the candidate's data and version. relaxed (failure): nothing was read.
        won = latest_.compare_exchange_strong(expected, candidate, std::memory_order_release,
                                              std::memory_order_relaxed);
      }
      if (won) {
        PooledVector* published = std::exchange(candidate, nullptr);
        pool.release(q);  // this worker's reference
        pool.release(q);  // latest_'s reference: it now holds the published vector's
        stats.failed_attempts += failures;
        ++stats.contributed;
        rule_.observe(v + 1, v - t0);
        record_step(stats, step.factor);
        note_applied(ctx, v + 1, v - t0, failures, loss,
                     [&] { return ctx.checkpoints->record(v + 1, published->values()); });
        if (due) pool.release(published);
        charge_exchange(ctx);  // the update's pull and publish
        return false;
      }
      if (due) pool.release(candidate);  // back to the owner's reference only
      pool.release(q);
      if (current) {
        ++failures;
      } else {
        ++tests;
        ++stats.failed_tests;
      }
      // B + 1 attempts in all: an abandoned publish is an attempt as much as a failed CAS is.
      if (failures + tests > options_.persistence) {
        ++stats.dropped;
        stats.failed_attempts += failures;
        return false;
      }
      backoff.pause();
    }
  }

  // candidate = q - step * grad (sgd_apply_into: one pass, sgd_apply's rounding). With
  // --test-before-cas, as the reference framework's -C does, the pass is abandoned (false) as soon
  // as latest_ no longer points to q -- tested before every chunk of kTestChunk values and once
  // more at the end, so a publish that would fail its CAS costs at most one chunk more.
  bool build_candidate(PooledVector& candidate, const PooledVector& q, std::span<const S> grad,
                       S step) const noexcept {
    if (!options_.test_before_cas) {
      sgd_apply_into(candidate.values(), q.values(), grad, step);
      return true;
    }
    const std::span<S> out = candidate.values();
    const std::span<const S> in = q.values();
    // relaxed (every test): a hint that saves work; the CAS decides.
    for (std::size_t lo = 0; lo < out.size(); lo += kTestChunk) {
      if (latest_.load(std::memory_order_relaxed) != &q) return false;
      const std::size_t len = std::min(kTestChunk, out.size() - lo);
      sgd_apply_into(out.subspan(lo, len), in.subspan(lo, len), grad.subspan(lo, len), step);
    }
    return latest_.load(std::memory_order_relaxed) == &q;
  }

  // Values built between two tests of --test-before-cas: 16 KiB, about a microsecond of the
  // fused copy-and-apply pass (the reference tests once per layer; a fixed chunk keeps the test
  // rate independent of the model's layer sizes).
  static constexpr std::size_t kTestChunk = 4096;

  LeashedOptions options_;
  BackoffParams backoff_;
  StepRule<S> rule_;
  std::unique_ptr<RefCountPool> pool_;
  // The one word every publish CASes: on its own line.
  alignas(kNoFalseSharing) std::atomic<PooledVector*> latest_{nullptr};
};

// `leashed` with the given backoff policy.
template <class S = float>
std::unique_ptr<BasicAlgorithm<S>> make_leashed_sgd(const LeashedOptions& options,
                                                    BackoffKind backoff,
                                                    const BackoffParams& params);

// Its options (--persistence, --test-before-cas) and registry entry (algorithms/registry.hpp).
const AlgorithmOption& persistence_option();
const AlgorithmOption& test_before_cas_option();
AlgorithmEntry leashed_entry();

}  // namespace psgd
