// algorithms/test/contract_checks.hpp — the duties of algorithms/algorithm.hpp as checks any
// registry entry can be run through, so an algorithm is covered by being registered, not by
// being listed in a test. Each check returns the violations it found (empty: none) instead of
// failing a test itself, so a test can also prove that an algorithm which skips a duty fails
// them (contract_test.cpp).
//
//   one_thread_seq_violations  duty 6: one thread is seq bit for bit under the option values
//                              the entry names (AlgorithmEntry::one_thread_is_seq)
//   budget_violations          duties 1, 3, 4, 5: exactly the budget, the accounting, a
//                              snapshot at every checkpoint, shared state through SharedMemory
//   non_finite_violations      duty 2: a non-finite loss stops the run and is never applied
//   stop_violations            duty 4: a stop request (the time limit) ends every worker
#pragma once

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/test/test_support.hpp"
#include "algorithms/test/toy_models.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd::testing {

// The heap, counted: what an algorithm allocated through the runner's SharedMemory (duty 5).
class CountingSharedMemory final : public SharedMemory {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = heap_shared_memory().allocate(bytes);
    // relaxed: counts only, read after the run's join or the algorithm's destruction.
    allocated_.fetch_add(bytes, std::memory_order_relaxed);
    live_.fetch_add(bytes, std::memory_order_relaxed);
    return p;
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    live_.fetch_sub(bytes, std::memory_order_relaxed);  // relaxed: as above
    heap_shared_memory().deallocate(p, bytes);
  }
  [[nodiscard]] std::size_t allocated() const noexcept {
    return allocated_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t live() const noexcept { return live_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> allocated_{0};
  std::atomic<std::size_t> live_{0};
};

// A worker's workspace that counts the gradients the model computed in it.
class CountingWorkspace final : public Workspace {
 public:
  std::int64_t gradients = 0;
};

// LeastSquares, counting each worker's gradients in its workspace: `computed` must equal them
// (duty 1: every gradient goes through compute_gradient, which counts it).
template <class S = float>
class CountingLeastSquares final : public BasicModel<S> {
 public:
  explicit CountingLeastSquares(std::size_t num_features) : inner_(num_features) {}
  [[nodiscard]] std::string spec() const override { return "toy-counting"; }
  [[nodiscard]] std::size_t num_params() const override { return inner_.num_params(); }
  [[nodiscard]] std::vector<ParamBlock> layout() const override { return inner_.layout(); }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t) const override {
    return std::make_unique<CountingWorkspace>();
  }
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace& ws) const noexcept override {
    ++static_cast<CountingWorkspace&>(ws).gradients;
    return inner_.loss_and_gradient(theta, batch, grad, ws);  // LeastSquares ignores ws
  }
  EvalSums evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                    Workspace& ws) const noexcept override {
    return inner_.evaluate(theta, batch, ws);
  }

 private:
  LeastSquares<S> inner_;
};

namespace contract {

inline std::string str(std::int64_t v) { return std::to_string(v); }

// The entry's algorithm for `threads` workers in precision S, its options set to `settings`.
template <class S = float>
AlgorithmPtr<S> build(const AlgorithmEntry& e, const AlgorithmSettings& settings, int threads) {
  return e.make.build<S>(AlgorithmSetup{settings, 1, threads});
}

// The per-update bookkeeping every algorithm owes, whatever its scheme: note_applied once per
// applied update (one staleness and one attempts entry each), `computed` counting exactly the
// gradients the model computed (when it counts them), every computed gradient accounted for per
// worker (computed = contributed + dropped + abandoned + discarded_at_end, each counted where it
// happened: a gradient neither applied nor counted lost breaks it), and the run's applied
// updates adding up.
template <class S>
void check_accounting(const BasicTrainingOutcome<S>& r, Violations& out) {
  std::int64_t applied = 0;
  for (std::size_t w = 0; w < r.workers.size(); ++w) {
    const WorkerStats& s = r.workers[w];
    const std::string who = "worker " + std::to_string(w) + ": ";
    applied += s.applied;
    if (s.staleness.count() != s.applied || s.attempts.count() != s.applied) {
      out.push_back(who + "applied " + str(s.applied) + " updates but noted " +
                    str(s.staleness.count()) + " (note_applied once per applied update)");
    }
    const std::int64_t accounted = s.contributed + s.dropped + s.abandoned + s.discarded_at_end;
    if (s.computed != accounted) {
      out.push_back(who + "computed " + str(s.computed) + " gradients but contributed " +
                    str(s.contributed) + " + dropped " + str(s.dropped) + " + abandoned " +
                    str(s.abandoned) + " + discarded_at_end " + str(s.discarded_at_end) + " = " +
                    str(accounted) + " (every gradient contributed or counted lost)");
    }
    if (s.attempts.sum() > static_cast<double>(s.failed_attempts)) {
      out.push_back(who + "its attempts histogram holds more failures than failed_attempts");
    }
    const auto* log = dynamic_cast<const CountingWorkspace*>(r.workspaces.at(w).get());
    if (log != nullptr && log->gradients != s.computed) {
      out.push_back(who + "computed " + str(s.computed) + " but the model computed " +
                    str(log->gradients) + " gradients (compute them through compute_gradient)");
    }
  }
  if (applied != r.applied_updates) {
    out.push_back("the workers applied " + str(applied) + " updates, the run counted " +
                  str(r.applied_updates));
  }
  const WorkerStats t = merge_workers(r.workers);
  // Every applied update used at least one computed gradient; every dropped or discarded one
  // was computed too.
  if (t.computed < t.applied + t.dropped + t.discarded_at_end) {
    out.push_back("computed " + str(t.computed) + " < applied + dropped + discarded_at_end = " +
                  str(t.applied + t.dropped + t.discarded_at_end));
  }
}

// A snapshot at every checkpoint of `every` updates up to `updates`, taken from a state that
// includes the checkpoint's update and not the next checkpoint's, every value finite.
template <class S>
void check_checkpoints(const BasicTrainingOutcome<S>& r, std::int64_t every, std::int64_t updates,
                       Violations& out) {
  for (std::int64_t v = every; v <= updates; v += every) {
    const std::size_t k = r.checkpoints->slot_of(v);
    const auto& slot = r.checkpoints->slot(k);
    if (!slot.filled) {
      out.push_back("no snapshot for the checkpoint at update " + str(v) +
                    " (note_applied with the 1-based version)");
      continue;
    }
    if (slot.updates < v || slot.updates >= v + every) {
      out.push_back("the snapshot for update " + str(v) + " holds update " + str(slot.updates));
    }
    for (const S x : r.checkpoints->params(k)) {
      if (!std::isfinite(x)) {
        out.push_back("the snapshot for update " + str(v) + " is not finite");
        break;
      }
    }
  }
}

}  // namespace contract

// Duty 6: one thread of the entry, under the option values it names, reproduces seq in
// precision S bit for bit (final parameters, every snapshot, the minibatch losses). Nothing to
// check when the entry claims no such values.
template <class S>
Violations one_thread_seq_violations(const AlgorithmEntry& e) {
  if (!e.one_thread_is_seq) return {};
  if (e.min_threads > 1) return {"claims one thread is seq but needs at least 2 threads"};
  const AlgorithmPtr<S> algo = contract::build<S>(e, e.settings_with(*e.one_thread_is_seq), 1);
  return seq_differences(run_beside_seq(*algo));
}

// Duties 1, 3, 4, 5 with `threads` workers at the entry's defaults: a budget of 503 updates
// (a multiple of no round size the methods use) applied exactly, the accounting, a snapshot at
// every checkpoint, and the parameters allocated through SharedMemory and all returned to it.
inline Violations budget_violations(const AlgorithmEntry& e, int threads) {
  using contract::str;
  constexpr std::int64_t kBudget = 503;
  constexpr std::int64_t kEvery = 100;
  const CountingLeastSquares<float> model(6);
  const Dataset data = random_floats(128, 6, 3, 5);
  CountingSharedMemory memory;
  RunnerOptions o = small_run(threads, 5);
  o.total_updates = kBudget;
  o.updates_per_epoch = kEvery;
  o.shared_memory = &memory;
  Violations out;
  {
    const AlgorithmPtr<float> algo = contract::build(e, AlgorithmSettings{}, threads);
    const TrainingOutcome r =
        run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
    if (r.stop_reason != StopReason::kNone) out.push_back("stopped before the budget");
    if (r.applied_updates != kBudget) {
      out.push_back("applied " + str(r.applied_updates) + " updates of a budget of " +
                    str(kBudget) + " (exactly the budget)");
    }
    contract::check_accounting(r, out);
    contract::check_checkpoints(r, kEvery, kBudget, out);
    if (threads == 1 && merge_workers(r.workers).staleness.max() != 0) {
      out.push_back("staleness above 0 with one thread");
    }
    if (memory.allocated() < model.num_params() * sizeof(float)) {
      out.push_back("allocated " + std::to_string(memory.allocated()) +
                    " bytes through SharedMemory, less than the parameters (share through "
                    "setup.shared_memory)");
    }
  }
  if (memory.live() != 0) {
    out.push_back(std::to_string(memory.live()) + " bytes of SharedMemory not returned");
  }
  return out;
}

// A gradient budget of 503 with `threads` workers (a multiple of no round size, nor of W): the
// methods that cap gradients stop at the cap (within one gradient per worker: a round's share is
// ceil(left / W)), the others get it as their update budget; the accounting adds up either way.
inline Violations gradient_budget_violations(const AlgorithmEntry& e, int threads) {
  using contract::str;
  constexpr std::int64_t kBudget = 503;
  const CountingLeastSquares<float> model(6);
  const Dataset data = random_floats(128, 6, 3, 5);
  RunnerOptions o = small_run(threads, 7);
  o.total_updates = kBudget;
  if (e.caps_gradients) o.total_gradients = kBudget;
  o.updates_per_epoch = 100;
  const AlgorithmPtr<float> algo = contract::build(e, AlgorithmSettings{}, threads);
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  Violations out;
  if (r.stop_reason != StopReason::kNone) out.push_back("stopped before the budget");
  const std::int64_t computed = merge_workers(r.workers).computed;
  // (A method of one gradient per update may drop gradients past the budget: Leashed.)
  if (computed < kBudget || (e.caps_gradients && computed >= kBudget + threads)) {
    out.push_back("computed " + str(computed) + " gradients of a budget of " + str(kBudget) +
                  " (the cap, within one per worker)");
  }
  contract::check_accounting(r, out);
  return out;
}

// Duty 2 with `threads` workers: the 40th gradient and every later one is NaN. The run stops as
// diverged, no NaN reaches the parameters, and the poisoned gradient is counted as discarded.
inline Violations non_finite_violations(const AlgorithmEntry& e, int threads) {
  using contract::str;
  const PoisonedLeastSquares<float> model(8, /*poison_at=*/40);
  const Dataset data = random_floats(64, 8, 3, 2);
  RunnerOptions o = small_run(threads, 2);
  o.total_updates = 1000;
  const AlgorithmPtr<float> algo = contract::build(e, AlgorithmSettings{}, threads);
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  Violations out;
  if (r.stop_reason != StopReason::kDiverged) out.push_back("the run did not stop as diverged");
  if (r.applied_updates >= 40) {
    out.push_back("applied " + str(r.applied_updates) + " updates from 39 finite gradients");
  }
  for (const float x : r.final_params) {
    if (!std::isfinite(x)) {
      out.push_back("a non-finite gradient was applied: the final parameters are not finite");
      break;
    }
  }
  if (merge_workers(r.workers).discarded_at_end < 1) {
    out.push_back("the non-finite gradient is not counted as discarded_at_end");
  }
  contract::check_accounting(r, out);
  return out;
}

// Duty 4's stop request with `threads` workers: a time limit ends a run whose budget no machine
// reaches, and the accounting still adds up. (An algorithm that ignores should_stop() never
// returns here: the test's timeout reports it.)
inline Violations stop_violations(const AlgorithmEntry& e, int threads) {
  RunnerOptions o = small_run(threads, 3);
  o.total_updates = 1'000'000'000'000;
  o.updates_per_epoch = 1'000'000'000;
  o.time_limit_seconds = 0.05;
  const CountingLeastSquares<float> model(4);
  const Dataset data = random_floats(64, 4, 3, 1);
  const AlgorithmPtr<float> algo = contract::build(e, AlgorithmSettings{}, threads);
  const TrainingOutcome r =
      run_training(*algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
  Violations out;
  if (r.stop_reason != StopReason::kTimeLimit) out.push_back("the time limit did not stop it");
  if (r.applied_updates <= 0) out.push_back("applied nothing before the time limit");
  contract::check_accounting(r, out);
  return out;
}

// The thread counts the checks run with: 1, 2 and 3 where the entry allows them (3: more
// workers than this machine's 2 cores, so workers are preempted mid-update), else its minimum.
inline std::vector<int> contract_threads(const AlgorithmEntry& e) {
  std::vector<int> threads;
  for (const int t : {1, 2, 3}) {
    if (t >= e.min_threads && t <= e.max_threads) threads.push_back(t);
  }
  if (threads.empty()) threads.push_back(e.min_threads);
  return threads;
}

// Every check at every thread count, each violation prefixed with where it was found.
inline Violations contract_violations(const AlgorithmEntry& e) {
  Violations all;
  auto add = [&](const std::string& where, const Violations& found) {
    for (const std::string& v : found) all.push_back(where + ": " + v);
  };
  add("one thread = seq, float", one_thread_seq_violations<float>(e));
  add("one thread = seq, double", one_thread_seq_violations<double>(e));
  for (const int t : contract_threads(e)) {
    const std::string n = std::to_string(t) + " thread(s)";
    add("budget, " + n, budget_violations(e, t));
    add("gradient budget, " + n, gradient_budget_violations(e, t));
    add("non-finite loss, " + n, non_finite_violations(e, t));
    add("stop request, " + n, stop_violations(e, t));
  }
  return all;
}

}  // namespace psgd::testing
