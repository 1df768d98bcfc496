// algorithms/runner.hpp — the one runner: worker threads behind a start barrier, the clock, the
// update budget, per-worker statistics, worker errors rethrown on the calling thread. `psgd run`,
// the algorithm tests and the micro-benchmarks all drive algorithms through it. It knows nothing
// of placement: the harness injects pinning through on_worker_start.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/batch_order.hpp"
#include "algorithms/pace.hpp"
#include "common/name_table.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd {

// A reading of a running training, taken by the calling thread (RunnerOptions::on_progress).
struct LiveProgress {
  double seconds = 0.0;        // since the start barrier released the workers
  std::int64_t updates = 0;    // applied so far (the highest version any worker applied)
  std::int64_t gradients = 0;  // computed by all workers
  std::optional<double> loss;  // mean of the workers' moving averages of minibatch losses
};

struct RunnerOptions {
  int threads = 1;
  std::uint64_t seed = 1;
  std::size_t batch_size = 32;
  // Double, so a double run steps by exactly --step; a float run rounds it to float once.
  double step = 0.05;
  std::int64_t total_updates = 1;
  // RunControl::total_gradients: the gradient cap a method that combines several gradients per
  // update enforces (AlgorithmEntry::caps_gradients); none by default.
  std::int64_t total_gradients = kNoGradientCap;
  // The updates the checkpoints are laid out for (BasicCheckpoints' layout_updates); 0:
  // total_updates. Under a gradient cap, total_updates only bounds the updates.
  std::int64_t checkpoint_updates = 0;
  std::optional<double> time_limit_seconds;
  std::int64_t updates_per_epoch = 1;
  std::int64_t checkpoints_per_epoch = 4;
  std::size_t staleness_bins = 1024;
  BatchOrder batch_order = BatchOrder::kWorker;
  // The first slot that computes gradients (AlgorithmEntry::first_source): `shard` gives slot
  // s >= first_source slice s - first_source of threads - first_source.
  int first_source = 0;
  // Across processes (--backend mpi): this process's worker w is worker first_worker + w of
  // total_workers in all (0: threads, one process). Batch streams are seeded by that global id
  // and `shard` cuts the training set over every process's workers, so R ranks x T threads draw
  // as R x T threads of one process would.
  int first_worker = 0;
  int total_workers = 0;
  // --slowdown, --delay, --step-decay (algorithms/pace.hpp); inactive by default.
  PaceConfig pace;
  // Where the algorithm's shared storage is allocated (--memory); null: heap_shared_memory().
  SharedMemory* shared_memory = nullptr;
  // BasicTrainingSetup::worker_nodes and node_memory (`replicated` places a replica per node).
  std::vector<int> worker_nodes;
  std::vector<int> worker_cpus;
  std::function<SharedMemory&(int node)> node_memory;
  // Snapshot slots before thinning sets in (Checkpoints); 0 = the default cap. Tests use a small
  // one to exercise thinning in a few hundred updates.
  std::size_t max_checkpoint_slots = 0;
  // Called first on each worker's own thread (pinning goes here); may throw, and the error is
  // rethrown from run_training after every thread has stopped.
  std::function<void(int worker)> on_worker_start;
  // A stop request from outside, read by the calling thread while the workers run: once it holds
  // a non-zero value the run stops as StopReason::kInterrupted, within poll_seconds. `psgd run`
  // points it at the flag its SIGINT/SIGTERM handler sets (harness/run/stop_signals.hpp); a
  // lock-free atomic, so a signal handler may store to it. Null: no outside stop.
  const std::atomic<int>* stop_request = nullptr;
  // Called on the calling thread (never a worker) every progress_seconds while the workers run,
  // with a reading of their LiveCounters; it may do I/O. Empty: none, and no worker publishes.
  std::function<void(const LiveProgress&)> on_progress;
  double progress_seconds = 0.5;
  // How often the calling thread looks at stop_request: 50 ms answers a Ctrl-C at once for a
  // person, and 20 wake-ups a second of an otherwise idle thread cost the workers nothing.
  double poll_seconds = 0.05;
};

// Throws ConfigError when --batch-order shard leaves a worker a slice of the training set
// smaller than one batch. run_training checks it; the harness calls it first, before training.
void check_shards_fit(std::size_t train_samples, const RunnerOptions& options);

// The stream index (stream_seed's second argument) of local worker `local`'s pace (--delay,
// --comm-delay draws): past every batch stream's (0..N-1, N the workers of every process) and
// by global worker id, so no two workers of any rank share a stream. One process: threads + 1 +
// local, as before ranks existed.
std::uint64_t pace_stream(const RunnerOptions& options, std::size_t local);

// Throws std::invalid_argument when theta0 does not hold model.num_params() values.
// S: the run's scalar type (--precision); TrainingOutcome is the float one.
template <class S>
struct BasicTrainingOutcome {
  double wall_seconds = 0.0;  // start barrier released -> last worker returned
  double cpu_seconds = 0.0;   // process CPU time over the same span
  std::int64_t applied_updates = 0;
  StopReason stop_reason = StopReason::kNone;
  std::vector<WorkerStats> workers;
  std::unique_ptr<BasicCheckpoints<S>> checkpoints;  // slot 0 initial, last the final state
  std::vector<S> final_params;
  // Each worker's model workspace, kept past the join: a model may log into it (the tests' toy
  // models record every gradient they computed).
  std::vector<std::unique_ptr<Workspace>> workspaces;
};
using TrainingOutcome = BasicTrainingOutcome<float>;

// Runs `algo` from theta0 on `train`. Throws ConfigError / EnvironmentError from worker set-up.
// S is float or double (instantiated in runner.cpp).
template <class S>
BasicTrainingOutcome<S> run_training(BasicAlgorithm<S>& algo, const BasicModel<S>& model,
                                     const Dataset& train,
                                     std::span<const std::type_identity_t<S>> theta0,
                                     const RunnerOptions& options);

}  // namespace psgd
