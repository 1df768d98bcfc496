// algorithms/algorithm.hpp — the one contract between the runner and every SGD algorithm.
//
// An algorithm owns its shared parameter store and the loop each worker runs; the runner owns
// everything else (threads, pinning, the clock, the update budget, seeds, per-worker statistics,
// checkpoints, the report). Dispatch is virtual once per worker per run; everything inside a
// worker loop is concrete or a template parameter so it inlines.
//
// Precision (--precision): every type here that holds parameters is a class template over the
// scalar type S (float or double), explicitly instantiated for both in algorithm.cpp; the float
// Algorithm and Checkpoints keep their old names as aliases. An algorithm is a class template
// over S too; the registry builds the instantiation the run's precision names, once, and no
// worker loop ever branches on the precision.
//
// Counting rule shared by all algorithms: the shared version counter v counts applied updates.
// An update is applied only while v < total_updates, so every run applies exactly total_updates
// updates unless it is stopped early (time limit, divergence, the gradient cap). A gradient that
// arrives after the budget is spent is counted as `discarded_at_end`, one that gives up (Leashed
// persistence bound) as `dropped`, one whose round ended while it was computed (nonblocking) as
// `abandoned`. A gradient whose effect reached the shared model is counted as `contributed`
// where that happens, by the worker that computed it: the update it applied (seq, mutex, rwlock,
// leashed, hogwild), the merge of its local steps (async-exchange), the combine of a round its
// steps or mini-batches were in (sync, local-sgd, nonblocking), the server's update that used it
// (param-server, hybrid). Per worker, and checked by the contract test for every method:
//   computed = contributed + dropped + abandoned + discarded_at_end.
// For the methods of one gradient per update contributed = applied; the methods that combine
// several per update, or count a round's updates on one worker, state theirs in their headers.
//
// The duties of run_worker, which every registered algorithm is held to by the contract test
// (algorithms/test/contract_checks.hpp); worker_steps.hpp has the shared steps and seq.cpp is
// the smallest loop that does them all:
//  1. Gradients only through compute_gradient(_on): it counts `computed`, applies the pace
//     (--slowdown, --delay, --step-decay) and requests the diverged stop on a non-finite loss.
//     Each exchange with the shared model through charge_exchange, outside any lock: it counts
//     `exchanges` and waits --comm-delay.
//  2. Drop a non-finite loss: its gradient is never applied (one NaN in the shared parameters
//     poisons every worker and every later snapshot); count it as `discarded_at_end` and leave
//     the loop, since the run is stopping anyway.
//  3. After each applied update, note_applied with the 1-based version that update made (the
//     count of applied updates including it): checkpoints, loss buckets and the step decay's
//     epoch are indexed by it, and staleness and attempts get exactly one entry per update.
//     Each gradient whose effect reached the shared model counted as `contributed` by the worker
//     that computed it, so computed = contributed + dropped + abandoned + discarded_at_end.
//  4. Stop at the budget (never apply update total_updates + 1, the counting rule above) and
//     poll control->should_stop() at least once per update (time limit, divergence).
//  5. Everything workers share is allocated in init() through setup.shared_memory (SharedArray):
//     --memory must place all of it, or a UMA-vs-NUMA comparison measures the wrong layout.
//     A worker's private buffers are ctx.grad and ctx.local, first touched on its own node.
//  6. One thread reproduces seq bit for bit wherever the method reduces to it (under the option
//     values its registry entry names), so every comparison starts from the same baseline.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "algorithms/histogram.hpp"
#include "algorithms/shared_memory.hpp"
#include "common/cache_line.hpp"
#include "models/batch_sampler.hpp"
#include "models/model.hpp"

namespace psgd {

class WorkerPace;  // algorithms/pace.hpp

// Why a run stopped before its update budget. kInterrupted: the caller asked it to stop
// (RunnerOptions::stop_request: `psgd run` on SIGINT or SIGTERM).
enum class StopReason : int { kNone = 0, kTimeLimit = 1, kDiverged = 2, kInterrupted = 3 };

// No cap on computed gradients: the update budget (or a time limit) alone ends the run.
inline constexpr std::int64_t kNoGradientCap = INT64_MAX;

// Shared run-wide stop signal and budget. The stop flag is a hint polled once per update.
// Two budgets, whichever binds first: total_updates caps applied updates (every method), and
// total_gradients caps the gradients computed by all workers together, which the methods that
// combine several gradients per update enforce (their registry entry says so: the round frame's
// methods, the parameter server); a method of one gradient per update is given its gradient
// budget as total_updates instead, so its counting stays exactly that of an update budget.
class RunControl {
 public:
  explicit RunControl(std::int64_t total_updates, std::int64_t total_gradients = kNoGradientCap)
      : total_updates_(total_updates), total_gradients_(total_gradients) {}

  [[nodiscard]] std::int64_t total_updates() const noexcept { return total_updates_; }
  [[nodiscard]] std::int64_t total_gradients() const noexcept { return total_gradients_; }

  // relaxed: the flag carries no data; each algorithm publishes its parameters through its own
  // synchronisation, and the runner reads results only after joining the workers.
  [[nodiscard]] bool should_stop() const noexcept { return stop_.load(std::memory_order_relaxed); }

  // First reason wins; later requests keep it.
  void request_stop(StopReason reason) noexcept {
    int expected = static_cast<int>(StopReason::kNone);
    reason_.compare_exchange_strong(expected, static_cast<int>(reason), std::memory_order_relaxed);
    stop_.store(true, std::memory_order_relaxed);
  }
  [[nodiscard]] StopReason reason() const noexcept {
    return static_cast<StopReason>(reason_.load(std::memory_order_relaxed));
  }

 private:
  std::int64_t total_updates_;
  std::int64_t total_gradients_;
  alignas(kNoFalseSharing) std::atomic<bool> stop_{false};
  std::atomic<int> reason_{static_cast<int>(StopReason::kNone)};
};

// Parameter snapshots at checkpoints: K per epoch of P updates, checkpoint c after update
// floor(c * P / K), so they are evenly spread even when K does not divide P; slot 0 holds the
// initial parameters. Storage for a bounded number of slots is reserved before the run (pages are
// touched only when a slot is written), so recording never allocates. When a run reaches more
// checkpoints than there are slots (a long or time-limited run), the snapshots are thinned, not
// dropped: every other one is kept (the stride doubles) and the rest move down, so the kept ones
// stay evenly spread over the whole run. One extra slot, past the others, holds the final state
// whenever it is not itself a kept checkpoint (the runner's record_final).
//
// Thread-safety: record and record_racy may be called by any worker at any time; they serialise
// on an internal mutex (held only for the copy of one snapshot, never while taking another lock:
// callers may hold their own). Everything else is for the runner, before or after the workers.
template <class S>
class BasicCheckpoints {
 public:
  // max_slots = 0: the default cap (65,536 slots, and at most 1 GiB of snapshots).
  // layout_updates: the updates the slots are reserved for, when the run is expected to apply
  // fewer than its update budget (a method that caps gradients: total_updates only bounds it);
  // 0: total_updates. A snapshot is always due at total_updates.
  BasicCheckpoints(std::size_t num_params, std::int64_t updates_per_epoch, std::int64_t per_epoch,
                   std::int64_t total_updates, std::size_t max_slots = 0,
                   std::int64_t layout_updates = 0);

  // Called once by the runner, single-threaded, before any worker starts.
  void start_clock(std::chrono::steady_clock::time_point t0) noexcept { t0_ = t0; }

  // Storage slots, the final-state slot included (its index is num_slots() - 1).
  [[nodiscard]] std::size_t num_slots() const noexcept { return num_slots_ + 1; }
  [[nodiscard]] std::size_t final_slot() const noexcept { return num_slots_; }
  // The checkpoint that update number `version` (1-based) falls into: ceil(version * K / P),
  // in 128-bit arithmetic and saturated, so no budget overflows it.
  [[nodiscard]] std::int64_t checkpoint_of(std::int64_t version) const noexcept;
  // Where checkpoint_of(version) is (or would be) stored at the current stride. After the join.
  [[nodiscard]] std::size_t slot_of(std::int64_t version) const noexcept {
    return static_cast<std::size_t>(checkpoint_of(version) / stride_);
  }
  // K as used: at most the updates per epoch (a snapshot per update).
  [[nodiscard]] std::int64_t per_epoch() const noexcept { return per_epoch_; }
  // Kept checkpoints are the multiples of the stride (1 until the slots run out; a power of 2).
  [[nodiscard]] std::int64_t stride() const noexcept { return stride_; }
  // True when applying update `version` completes a checkpoint (or the budget).
  [[nodiscard]] bool due(std::int64_t version) const noexcept {
    // version < total_updates_ on the right, so version + 1 cannot overflow.
    return version >= total_updates_ || checkpoint_of(version + 1) != checkpoint_of(version);
  }

  // Copies params as the snapshot after update `version` if its checkpoint is kept; returns
  // false when a value is not finite (the caller then stops the run as diverged). No allocation.
  bool record(std::int64_t version, std::span<const S> params) noexcept {
    return record_late(version, version, params);
  }
  // The same for the checkpoint update `due` completed, from a state taken after it: `version`
  // (>= due) is what the snapshot holds. The lock-based methods record this way from their next
  // consistent read, outside the critical section.
  bool record_late(std::int64_t due, std::int64_t version, std::span<const S> params) noexcept;
  // The same for memory other threads may be writing (HOGWILD!): relaxed atomic loads, so the
  // snapshot may mix updates, as every HOGWILD! read may.
  bool record_racy(std::int64_t version, S* params) noexcept;

  struct Slot {
    bool filled = false;
    std::int64_t updates = 0;
    double seconds = 0.0;
  };
  // After the join only.
  [[nodiscard]] const Slot& slot(std::size_t k) const noexcept { return slots_[k]; }
  [[nodiscard]] std::span<const S> params(std::size_t k) const noexcept {
    return {storage_.get() + k * num_params_, num_params_};
  }
  // Runner only, single-threaded: writes slot k (the initial state into slot 0).
  void record_at(std::size_t k, std::int64_t version, double seconds,
                 std::span<const S> params) noexcept;
  // Runner only, after the join: thins to at least `stride` (a power of 2), then stores the final
  // state after `version` updates in the final slot unless a kept checkpoint already holds it.
  void record_final(std::int64_t stride, std::int64_t version, double seconds,
                    std::span<const S> params) noexcept;

 private:
  // Keeps every other kept checkpoint and moves them down; mutex_ held (or single-threaded).
  void thin() noexcept;
  // The slot for the snapshot of the checkpoint update `due` completed, labelled as holding
  // `version` (>= due), thinning first if needed; nullptr when that checkpoint is not kept.
  S* slot_for(std::int64_t due, std::int64_t version) noexcept;

  std::size_t num_params_;
  std::int64_t updates_per_epoch_;  // P
  std::int64_t per_epoch_;          // K
  std::int64_t total_updates_;
  std::size_t num_slots_;         // for checkpoints; one more for the final state
  std::unique_ptr<S[]> storage_;  // default-initialised: untouched pages cost no RSS
  std::mutex mutex_;              // guards stride_, slots_ and storage_ while workers run
  std::int64_t stride_ = 1;
  std::vector<Slot> slots_;
  std::chrono::steady_clock::time_point t0_{};
};
using Checkpoints = BasicCheckpoints<float>;

// The clock of the update split below (WorkerStats::read_section_seconds ...), which the lock
// methods (locked_sgd.hpp) and HOGWILD! (hogwild.hpp) take, and the seconds between two readings.
using SectionClock = std::chrono::steady_clock;
inline double section_seconds(SectionClock::time_point from, SectionClock::time_point to) noexcept {
  return std::chrono::duration<double>(to - from).count();
}

// Written only by its own worker while it runs; read by the runner after the join.
struct alignas(kNoFalseSharing) WorkerStats {
  std::int64_t computed = 0;          // gradients computed
  std::int64_t samples = 0;           // their samples: b each but a shared order's last batch
  std::int64_t applied = 0;           // updates this worker applied
  std::int64_t contributed = 0;       // its gradients whose effect reached the shared model
  std::int64_t dropped = 0;           // gave up on (persistence bound)
  std::int64_t discarded_at_end = 0;  // computed, but the budget was spent before applying
  std::int64_t abandoned = 0;         // computed, but its round ended first (nonblocking)
  std::int64_t failed_attempts = 0;   // failed read-modify-writes (CAS, try_lock), all updates
  std::int64_t failed_tests = 0;      // Leashed --test-before-cas: publishes abandoned on a test
  std::int64_t polls = 0;             // lock tests that saw it held (not failed attempts)
  std::int64_t contended_acquisitions = 0;  // lock acquisitions that had to wait at all
  double lock_wait_seconds = 0.0;           // time spent acquiring locks
  double backoff_seconds = 0.0;             // time spent in backoff pauses
  double slowdown_seconds = 0.0;            // --slowdown: waits that stretched its gradients
  double delay_seconds = 0.0;               // --delay: injected pull and push latency
  std::int64_t exchanges = 0;               // exchanges with the shared model (--comm-delay)
  double comm_delay_seconds = 0.0;          // --comm-delay: injected latency per exchange
  // The split of an update, for the run's speed_of_light block: the lock methods' (locked_sgd.hpp)
  // time holding the lock to read (copy theta out), computing the gradient, and holding it to
  // apply, for the speed-up bound their critical section allows; HOGWILD!'s (hogwild.hpp) racy
  // copy, gradient and apply. timed_updates counts the iterations timed (0: a method that times
  // none).
  double read_section_seconds = 0.0;
  double gradient_seconds = 0.0;
  double apply_section_seconds = 0.0;
  std::int64_t timed_updates = 0;
  Histogram staleness;  // one entry per applied update
  Histogram attempts;   // failed attempts before each applied update
  // --step-rule (algorithms/step_rule.hpp): each update's step / --step, in bins of 1/64, one
  // entry per update applied by a method with a rule (empty for the others); the sum is exact.
  Histogram step_factor;
  double step_factor_sum = 0.0;
  // Minibatch losses of applied updates, per checkpoint slot: bucket j holds the updates of
  // checkpoints ((j - 1) * loss_stride, j * loss_stride]. Each worker thins its own buckets like
  // Checkpoints thins the snapshots (pairs merged, the stride doubled), so nothing is shared;
  // the runner brings every worker to the snapshots' stride after the join.
  std::vector<double> slot_loss_sum;
  std::vector<std::int64_t> slot_loss_count;
  std::int64_t loss_stride = 1;

  // The minibatch loss of an update of checkpoint `checkpoint`, into its bucket's running mean.
  void add_loss(std::int64_t checkpoint, double loss) noexcept {
    auto j = static_cast<std::size_t>((checkpoint + loss_stride - 1) / loss_stride);
    while (j >= slot_loss_sum.size() && !slot_loss_sum.empty()) {
      thin_losses(loss_stride * 2);
      j = static_cast<std::size_t>((checkpoint + loss_stride - 1) / loss_stride);
    }
    if (j >= slot_loss_sum.size()) return;
    slot_loss_sum[j] += loss;
    ++slot_loss_count[j];
  }
  // Merges buckets until loss_stride >= stride (a power of 2). No allocation.
  void thin_losses(std::int64_t stride) noexcept;

  // Adds other's counts, times, histograms and slot losses to this one's (after the join: the
  // run's totals). Both must come from the same run (same histogram bins and slots).
  void merge(const WorkerStats& other);
};

// The run's totals: every worker's stats merged into a copy of the first's. workers not empty.
WorkerStats merge_workers(std::span<const WorkerStats> workers);

// What one worker publishes of its progress while it runs, for the caller's progress line
// (RunnerOptions::on_progress): written by its own worker only, read by the calling thread at
// most a few times a second. Every access is relaxed: the values are independent counters shown
// to a person, no data is published through them, and a reading one update old is as good. One
// cache line per worker (kNoFalseSharing), so the stores never contend with another worker's.
struct alignas(kNoFalseSharing) LiveCounters {
  static_assert(std::atomic<double>::is_always_lock_free);
  std::atomic<std::int64_t> version{0};   // the latest shared version this worker applied
  std::atomic<std::int64_t> computed{0};  // gradients it computed
  std::atomic<double> loss{0.0};          // moving average of its finite minibatch losses
  std::atomic<bool> has_loss{false};      // loss holds at least one minibatch loss
  // The worker's own copy of the average (no reload of the atomic): written by the worker only.
  double average = 0.0;
  bool seeded = false;

  // Worker only. The average weights the last ~64 minibatches (alpha 1/64): smooth enough to
  // read at two refreshes a second, recent enough to follow the loss within an epoch.
  void note_gradient(std::int64_t computed_now, double minibatch_loss) noexcept {
    computed.store(computed_now, std::memory_order_relaxed);
    if (!std::isfinite(minibatch_loss)) return;
    average = seeded ? average + (minibatch_loss - average) / 64.0 : minibatch_loss;
    if (!seeded) has_loss.store(true, std::memory_order_relaxed);
    seeded = true;
    loss.store(average, std::memory_order_relaxed);
  }
};

// Algorithm-independent run parameters, fixed before any worker exists.
template <class S>
struct BasicTrainingSetup {
  const BasicModel<S>* model = nullptr;
  std::size_t num_params = 0;
  std::size_t batch_size = 0;
  S step = 0;
  int num_workers = 1;
  // Where init() allocates everything the workers share (never null; see shared_memory.hpp).
  SharedMemory* shared_memory = nullptr;
  // Each worker's planned NUMA node (-1: not pinned, or unknown); empty when nobody planned one.
  // Only `replicated` reads it, to group its workers into replicas by node.
  std::vector<int> worker_nodes;
  std::vector<int> worker_cpus;  // each worker's planned CPU (-1: not pinned); same rule
  // Memory bound to NUMA node n (n >= 0), for a method that places a part of its storage on one
  // node (`replicated`: each replica on its own). Empty: shared_memory serves every node.
  std::function<SharedMemory&(int node)> node_memory;
};

// Everything one worker may touch. Built by the runner on the worker's own thread after
// pinning, so the buffers in it are local to the worker's NUMA node (first touch).
template <class S>
struct BasicWorkerContext {
  int worker_id = 0;
  int num_workers = 1;
  const BasicModel<S>* model = nullptr;
  Workspace* workspace = nullptr;
  BasicBatchSampler<S>* sampler = nullptr;
  std::span<S> grad;   // num_params, private
  std::span<S> local;  // num_params, private (a parameter copy where the algorithm needs one)
  RunControl* control = nullptr;
  BasicCheckpoints<S>* checkpoints = nullptr;
  WorkerStats* stats = nullptr;
  // --slowdown, --delay, --step-decay (algorithms/pace.hpp); null when none is set, so the
  // gradient step pays one pointer test.
  WorkerPace* pace = nullptr;
  // The worker's published progress (LiveCounters); null when nobody reads it (the default,
  // as in tests that build a context by hand), so a step pays one pointer test.
  LiveCounters* live = nullptr;
};

// One SGD algorithm: a shared parameter store plus the loop each worker runs.
// Lifecycle, driven by algorithms/runner:
//   init()         once, single-threaded, before any worker exists;
//   run_worker()   once per worker thread, concurrently; returns when the budget is spent or
//                  control->should_stop(); never throws;
//   read_params()  once, after every worker has joined;
//   report()       after the join: algorithm-specific facts for the JSON (may be empty);
//   peak_live_vectors()  after the join: the most parameter vectors alive at once, for
//                  algorithms that allocate them dynamically (Leashed); none otherwise.
template <class S>
class BasicAlgorithm {
 public:
  using Scalar = S;
  using Context = BasicWorkerContext<S>;
  using Setup = BasicTrainingSetup<S>;
  virtual ~BasicAlgorithm() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  virtual void init(std::span<const S> theta0, const Setup& setup) = 0;
  virtual void run_worker(Context& ctx) noexcept = 0;
  virtual void read_params(std::span<S> out) const = 0;
  [[nodiscard]] virtual nlohmann::json report() const { return nlohmann::json::object(); }
  [[nodiscard]] virtual std::optional<std::int64_t> peak_live_vectors() const {
    return std::nullopt;
  }
  // For a method that runs other methods on replicas of the model (`replicated`,
  // algorithms/replicated.hpp): the live shared parameters, and the counter its workers compare
  // with control->total_updates(). Valid only while no worker is inside run_worker (after init,
  // or between two calls, the caller's synchronisation ordering them); the caller may then read
  // and write the parameters. Empty span: the method does not offer them.
  [[nodiscard]] virtual std::span<S> quiescent_params() noexcept { return {}; }
  [[nodiscard]] virtual std::int64_t quiescent_version() const noexcept { return 0; }
};
using Algorithm = BasicAlgorithm<float>;

// theta -= step * grad, the one update rule every algorithm applies (one out-of-line function so
// every algorithm rounds identically; see -ffp-contract=off in CMakeLists.txt).
// S is float or double (instantiated in algorithm.cpp).
template <class S>
void sgd_apply(std::span<S> theta, std::span<const std::type_identity_t<S>> grad,
               std::type_identity_t<S> step) noexcept;

// out = theta - step * grad: the same rule and rounding as sgd_apply (out[i] equals what
// sgd_apply would leave in theta[i]), fused with the copy for algorithms that apply to a fresh
// vector (Leashed: one pass instead of memcpy + sgd_apply). out must not overlap theta or grad.
template <class S>
void sgd_apply_into(std::span<S> out, std::span<const std::type_identity_t<S>> theta,
                    std::span<const std::type_identity_t<S>> grad,
                    std::type_identity_t<S> step) noexcept;

}  // namespace psgd
