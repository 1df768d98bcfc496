// algorithms/runner.cpp — threads, barrier, clock, time limit and the join.
#include "algorithms/runner.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "algorithms/step_rule.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using Clock = std::chrono::steady_clock;

// t0 + seconds, or nothing when that lies beyond what the clock can represent (about 292 years
// of nanoseconds from its epoch): such a limit can never be reached, and converting it would
// overflow into the past and stop the run at once (a limit of 1e10 s once did).
std::optional<Clock::time_point> deadline_after(Clock::time_point t0, double seconds) {
  const double room = std::chrono::duration<double>(Clock::time_point::max() - t0).count();
  if (!(seconds < room * 0.5)) return std::nullopt;  // half: no rounding at the edge
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// The workers of every process (RunnerOptions::total_workers; this process's threads alone when 0).
int all_workers(const RunnerOptions& o) {
  return o.total_workers > 0 ? o.total_workers : o.threads;
}

}  // namespace

std::uint64_t pace_stream(const RunnerOptions& options, std::size_t local) {
  return static_cast<std::uint64_t>(all_workers(options)) + 1 +
         static_cast<std::uint64_t>(options.first_worker) + local;
}

namespace {

// The slices `shard` cuts: one per slot that computes gradients (at least one), over every
// process's workers.
std::size_t shard_count(const RunnerOptions& o) {
  return static_cast<std::size_t>(std::max(all_workers(o) - std::max(o.first_source, 0), 1));
}

// Worker `local`'s batches by --batch-order. `worker` and `shard` draw from the same stream
// (seed, worker), so at one thread (one slice, the whole set) they are the same bit for bit;
// `worker` is the global id (RunnerOptions::first_worker + local).
// Under `shard` a slot before first_source (one that never computes) gets the first slice.
template <class S>
BasicBatchSampler<S> make_sampler(const Dataset& train, const RunnerOptions& o, int local,
                                  SharedBatchSchedule* schedule) {
  if (schedule != nullptr) return BasicBatchSampler<S>(train, o.batch_size, *schedule);
  const int worker = o.first_worker + local;
  const std::uint64_t seed = stream_seed(o.seed, static_cast<std::uint64_t>(worker));
  if (o.batch_order == BatchOrder::kShard) {
    const auto slice = static_cast<std::size_t>(std::max(worker - std::max(o.first_source, 0), 0));
    return BasicBatchSampler<S>(train, o.batch_size, seed,
                                shard_slice(train.size(), slice, shard_count(o)));
  }
  return BasicBatchSampler<S>(train, o.batch_size, seed);
}

// Everything one worker owns, built on its own thread after on_worker_start (pinning), so the
// pages are first touched on the worker's NUMA node.
template <class S>
struct WorkerBuffers {
  WorkerBuffers(const BasicModel<S>& model, const Dataset& train, const RunnerOptions& o,
                int worker, SharedBatchSchedule* schedule)
      : workspace(model.make_workspace(o.batch_size)),
        sampler(make_sampler<S>(train, o, worker, schedule)),
        grad(model.num_params()),
        local(model.num_params()) {}
  std::unique_ptr<Workspace> workspace;  // handed to TrainingOutcome::workspaces at the end
  BasicBatchSampler<S> sampler;
  std::vector<S> grad;
  std::vector<S> local;
};

// The outcome before training: snapshot storage with the initial state, empty per-worker stats.
template <class S>
BasicTrainingOutcome<S> empty_outcome(const BasicModel<S>& model, std::span<const S> theta0,
                                      const RunnerOptions& o) {
  const auto n = static_cast<std::size_t>(o.threads);
  BasicTrainingOutcome<S> out;
  out.checkpoints = std::make_unique<BasicCheckpoints<S>>(
      model.num_params(), o.updates_per_epoch, o.checkpoints_per_epoch, o.total_updates,
      o.max_checkpoint_slots, o.checkpoint_updates);
  out.checkpoints->record_at(0, 0, 0.0, theta0);
  out.workers.resize(n);
  out.workspaces.resize(n);
  for (WorkerStats& s : out.workers) {
    s.staleness = Histogram(o.staleness_bins);
    s.attempts = Histogram(o.staleness_bins);
    s.step_factor = Histogram(kStepFactorBins);
    s.slot_loss_sum.assign(out.checkpoints->num_slots(), 0.0);
    s.slot_loss_count.assign(out.checkpoints->num_slots(), 0);
  }
  return out;
}

// After the join: the totals, the final parameters, and their own snapshot unless a kept
// checkpoint already holds them. The snapshots and every worker's loss buckets are brought to one
// stride first, so stored slot k and loss bucket k describe the same stretch of updates.
template <class S>
void finish_outcome(BasicTrainingOutcome<S>& out, const BasicAlgorithm<S>& algo,
                    const BasicModel<S>& model, const RunControl& control) {
  out.stop_reason = control.reason();
  for (const WorkerStats& s : out.workers) out.applied_updates += s.applied;
  out.final_params.resize(model.num_params());
  algo.read_params(out.final_params);
  BasicCheckpoints<S>& cp = *out.checkpoints;
  std::int64_t stride = cp.stride();
  for (const WorkerStats& s : out.workers) stride = std::max(stride, s.loss_stride);
  cp.record_final(stride, out.applied_updates, out.wall_seconds, out.final_params);
  stride = cp.stride();
  const std::size_t final_slot = cp.final_slot();
  // The final state's losses: the bucket of its checkpoint, moved to the final slot's index.
  const auto bucket =
      static_cast<std::size_t>((cp.checkpoint_of(out.applied_updates) + stride - 1) / stride);
  const bool move = cp.slot(final_slot).filled && bucket < final_slot && !cp.slot(bucket).filled;
  for (WorkerStats& s : out.workers) {
    s.thin_losses(stride);
    if (!move) continue;
    s.slot_loss_sum[final_slot] = std::exchange(s.slot_loss_sum[bucket], 0.0);
    s.slot_loss_count[final_slot] = std::exchange(s.slot_loss_count[bucket], 0);
  }
}

// One line for a worker thread the system would not create: how many were asked and started,
// the errno, and the limits that cause it.
[[noreturn]] void throw_spawn_error(const std::system_error& e, std::size_t started,
                                    std::size_t asked) {
  const int code = e.code().value();
  throw EnvironmentError("cannot create worker thread " + std::to_string(started + 1) + " of " +
                         std::to_string(asked) + " (" + std::to_string(started) +
                         " started): errno " + std::to_string(code) + " (" + std::strerror(code) +
                         "); check the thread and process limits (ulimit -u, "
                         "/proc/sys/kernel/threads-max, the cgroup's pids.max) and ulimit -v");
}

// The workers of one run and what they share with the calling thread: the start barrier, the
// set-up failure flag, the errors and the count of workers that returned.
template <class S>
class Crew {
 public:
  Crew(BasicAlgorithm<S>& algo, const BasicModel<S>& model, const Dataset& train,
       const RunnerOptions& o, BasicTrainingOutcome<S>& out, RunControl& control,
       SharedBatchSchedule* schedule)
      : algo_(algo),
        model_(model),
        train_(train),
        o_(o),
        out_(out),
        control_(control),
        schedule_(schedule),
        n_(static_cast<std::size_t>(o.threads)),
        start_(static_cast<std::ptrdiff_t>(n_ + 1), StartClock{this}),  // workers + caller
        errors_(n_),
        live_(o.on_progress ? n_ : 0) {}

  // Trains: spawns the workers, releases them together, waits for them (and the time limit)
  // and joins. Throws the spawn failure or the first worker's error.
  void run() {
    {
      std::vector<std::jthread> threads;
      threads.reserve(n_);
      spawn(threads);
      start_.arrive_and_wait();  // returns once the clock has started
      wait_for_workers();
      out_.wall_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      out_.cpu_seconds = process_cpu_seconds() - cpu0_;
    }  // jthreads join here
    if (spawn_error_) throw_spawn_error(*spawn_error_, started_, n_);
    for (const std::exception_ptr& e : errors_) {
      if (e) std::rethrow_exception(e);
    }
  }

 private:
  // The barrier's completion step: after every worker is pinned and has built its buffers, and
  // before any is released, so t0 happens-before every worker's reads.
  struct StartClock {
    Crew* crew;
    void operator()() const noexcept {
      crew->t0_ = std::chrono::steady_clock::now();
      crew->cpu0_ = process_cpu_seconds();
      crew->out_.checkpoints->start_clock(crew->t0_);
    }
  };

  void spawn(std::vector<std::jthread>& threads) {
    try {
      for (; started_ < n_; ++started_) {
        const std::size_t w = started_;
        threads.emplace_back([this, w] { worker(w); });
      }
    } catch (const std::system_error& e) {
      // No thread for worker `started_` (EAGAIN: a pid, thread or memory limit). The workers
      // already running wait at the barrier: arrive for every missing one, so it releases them
      // and they return at once, seeing setup_failed_.
      spawn_error_ = e;
      setup_failed_.store(true);
      static_cast<void>(start_.arrive(static_cast<std::ptrdiff_t>(n_ - started_)));
    }
  }

  void worker(std::size_t w) noexcept {
    const int id = static_cast<int>(w);
    bool ready = false;
    try {
      if (o_.on_worker_start) o_.on_worker_start(id);
      WorkerBuffers<S> buffers(model_, train_, o_, id, schedule_);
      BasicWorkerContext<S> ctx{
          id,           o_.threads,    &model_,   buffers.workspace.get(), &buffers.sampler,
          buffers.grad, buffers.local, &control_, out_.checkpoints.get(),  &out_.workers[w]};
      if (!live_.empty()) ctx.live = &live_[w];
      // The pace's latency stream is apart from every batch stream (worker indices 0..N, N
      // the workers of every process) and, like them, seeded by the global worker id, so the
      // ranks' worker w draw different latencies (one process: N = n, ids local, as always).
      // --slowdown's factor still names the worker within its process (`id`).
      std::optional<WorkerPace> pace;
      if (o_.pace.active()) {
        pace.emplace(o_.pace, id, stream_seed(o_.seed, pace_stream(o_, w)), o_.updates_per_epoch,
                     &epoch_clock_, &control_);
        ctx.pace = &*pace;
      }
      ready = true;
      start_.arrive_and_wait();
      // seq_cst pairs with the stores below and in spawn(): a worker that failed set-up, or the
      // caller that could not create a thread, stores before arriving at the barrier, so every
      // worker released by the barrier sees it.
      if (!setup_failed_.load()) algo_.run_worker(ctx);
      out_.workspaces[w] = std::move(buffers.workspace);
    } catch (...) {
      errors_[w] = std::current_exception();
      setup_failed_.store(true);
      if (!ready) start_.arrive_and_drop();
    }
    {
      const std::lock_guard lock(done_mutex_);
      ++done_;
    }
    done_cv_.notify_one();
  }

  // Until every started worker has returned; past the time limit, asks them to stop. With a
  // stop request or a progress callback it wakes every poll (or progress) interval to look at
  // them; without either it sleeps until the deadline or the last worker, as it always did.
  void wait_for_workers() {
    std::unique_lock lock(done_mutex_);
    auto all_done = [&] { return done_ == started_; };
    std::optional<Clock::time_point> deadline =
        o_.time_limit_seconds ? deadline_after(t0_, *o_.time_limit_seconds) : std::nullopt;
    if (spawn_error_) deadline.reset();
    const bool watch = !spawn_error_ && (o_.stop_request != nullptr || o_.on_progress);
    if (!watch) {
      if (deadline && !done_cv_.wait_until(lock, *deadline, all_done)) {
        control_.request_stop(StopReason::kTimeLimit);
      }
      done_cv_.wait(lock, all_done);
      return;
    }
    const auto poll = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
        o_.stop_request != nullptr ? o_.poll_seconds : o_.progress_seconds));
    const auto every = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.progress_seconds));
    // Without a progress callback there is no reading to take: never due, so the waits below are
    // bounded by the poll alone (a due time left in the past made every wait return at once,
    // spinning this thread for the whole run).
    Clock::time_point next_progress = o_.on_progress ? t0_ + every : Clock::time_point::max();
    while (!all_done()) {
      Clock::time_point wake = std::min(Clock::now() + poll, next_progress);
      if (deadline) wake = std::min(wake, *deadline);
      if (done_cv_.wait_until(lock, wake, all_done)) break;
      const Clock::time_point now = Clock::now();
      if (deadline && now >= *deadline) {
        control_.request_stop(StopReason::kTimeLimit);
        deadline.reset();
      }
      // relaxed: the flag carries no data (RunControl's stop flag is the same kind of hint).
      if (o_.stop_request != nullptr && o_.stop_request->load(std::memory_order_relaxed) != 0) {
        control_.request_stop(StopReason::kInterrupted);
      }
      if (o_.on_progress && now >= next_progress) {
        next_progress = now + every;
        const LiveProgress reading = read_live(now);
        lock.unlock();  // the callback writes to a terminal: no worker waits on that
        o_.on_progress(reading);
        lock.lock();
      }
    }
  }

  // The workers' LiveCounters summed up (see LiveCounters for the relaxed loads).
  LiveProgress read_live(Clock::time_point now) const {
    LiveProgress p;
    p.seconds = std::chrono::duration<double>(now - t0_).count();
    double loss_sum = 0.0;
    int losses = 0;
    for (const LiveCounters& c : live_) {
      p.updates = std::max(p.updates, c.version.load(std::memory_order_relaxed));
      p.gradients += c.computed.load(std::memory_order_relaxed);
      if (c.has_loss.load(std::memory_order_relaxed)) {
        loss_sum += c.loss.load(std::memory_order_relaxed);
        ++losses;
      }
    }
    if (losses > 0) p.loss = loss_sum / losses;
    return p;
  }

  BasicAlgorithm<S>& algo_;
  const BasicModel<S>& model_;
  const Dataset& train_;
  const RunnerOptions& o_;
  BasicTrainingOutcome<S>& out_;
  RunControl& control_;
  SharedBatchSchedule* schedule_;  // --batch-order shared; null: each worker's own permutation
  std::size_t n_;
  std::barrier<StartClock> start_;
  EpochClock epoch_clock_;                  // --step-decay's epochs, shared by the workers' paces
  std::vector<std::exception_ptr> errors_;  // errors_[w] written by worker w only
  std::atomic<bool> setup_failed_{false};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::size_t done_ = 0;  // guarded by done_mutex_
  // Written by the calling thread only (before it arrives at the barrier).
  std::size_t started_ = 0;
  std::optional<std::system_error> spawn_error_;
  std::chrono::steady_clock::time_point t0_;  // written in the completion step
  double cpu0_ = 0.0;
  // One per worker when there is a progress callback (empty otherwise): LiveCounters says who
  // writes and reads them.
  std::vector<LiveCounters> live_;
};

}  // namespace

void check_shards_fit(std::size_t train_samples, const RunnerOptions& o) {
  if (o.batch_order != BatchOrder::kShard || o.threads < 1) return;
  // The smallest slice is the first (floor(N / W) samples; the slices differ by at most one).
  const std::size_t smallest = shard_slice(train_samples, 0, shard_count(o)).size();
  if (smallest < o.batch_size) {
    throw ConfigError("--batch-order shard: " + std::to_string(train_samples) +
                      " training samples over " + std::to_string(shard_count(o)) +
                      " workers leave a slice of " + std::to_string(smallest) +
                      " samples, fewer than one batch of " + std::to_string(o.batch_size));
  }
}

template <class S>
BasicTrainingOutcome<S> run_training(BasicAlgorithm<S>& algo, const BasicModel<S>& model,
                                     const Dataset& train,
                                     std::span<const std::type_identity_t<S>> theta0,
                                     const RunnerOptions& o) {
  // A short theta0 would leave the shared parameters shorter than every read of them.
  if (theta0.size() != model.num_params()) {
    throw std::invalid_argument("run_training: theta0 has " + std::to_string(theta0.size()) +
                                " values, the model " + std::to_string(model.num_params()) +
                                " parameters");
  }
  check_shards_fit(train.size(), o);
  BasicTrainingOutcome<S> out = empty_outcome(model, theta0, o);
  // The shared batch order's schedule; its stream is apart from every worker's (worker index n).
  std::optional<SharedBatchSchedule> schedule;
  if (o.batch_order == BatchOrder::kShared) {
    schedule.emplace(train.size(), o.batch_size,
                     stream_seed(o.seed, static_cast<std::uint64_t>(o.threads)));
  }
  BasicTrainingSetup<S> setup;
  setup.model = &model;
  setup.num_params = model.num_params();
  setup.batch_size = o.batch_size;
  setup.step = static_cast<S>(o.step);
  setup.num_workers = o.threads;
  setup.shared_memory = o.shared_memory != nullptr ? o.shared_memory : &heap_shared_memory();
  setup.worker_nodes = o.worker_nodes;
  setup.worker_cpus = o.worker_cpus;
  setup.node_memory = o.node_memory;
  algo.init(theta0, setup);
  RunControl control(o.total_updates, o.total_gradients);
  Crew<S>(algo, model, train, o, out, control, schedule ? &*schedule : nullptr).run();
  finish_outcome(out, algo, model, control);
  return out;
}

template TrainingOutcome run_training(Algorithm&, const Model&, const Dataset&,
                                      std::span<const float>, const RunnerOptions&);
template BasicTrainingOutcome<double> run_training(BasicAlgorithm<double>&,
                                                   const BasicModel<double>&, const Dataset&,
                                                   std::span<const double>, const RunnerOptions&);

}  // namespace psgd
