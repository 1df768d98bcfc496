// algorithms/runner.cpp — threads, barrier, clock, time limit and the join.
#include "algorithms/runner.hpp"

#include <sys/resource.h>

#include <barrier>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace psgd {
namespace {

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// Everything one worker owns, built on its own thread after on_worker_start (pinning), so the
// pages are first touched on the worker's NUMA node.
struct WorkerBuffers {
  WorkerBuffers(const Model& model, const Dataset& train, const RunnerOptions& o, int worker,
                SharedBatchSchedule* schedule)
      : workspace(model.make_workspace(o.batch_size)),
        sampler(schedule != nullptr
                    ? BatchSampler(train, o.batch_size, *schedule)
                    : BatchSampler(train, o.batch_size,
                                   stream_seed(o.seed, static_cast<std::uint64_t>(worker)))),
        grad(model.num_params()),
        local(model.num_params()) {}
  std::unique_ptr<Workspace> workspace;  // handed to TrainingOutcome::workspaces at the end
  BatchSampler sampler;
  std::vector<float> grad;
  std::vector<float> local;
};

// The outcome before training: snapshot storage with the initial state, empty per-worker stats.
TrainingOutcome empty_outcome(const Model& model, std::span<const float> theta0,
                              const RunnerOptions& o) {
  const auto n = static_cast<std::size_t>(o.threads);
  TrainingOutcome out;
  out.checkpoints = std::make_unique<Checkpoints>(model.num_params(), o.updates_per_epoch,
                                                  o.checkpoints_per_epoch, o.total_updates);
  out.checkpoints->record_at(0, 0, 0.0, theta0);
  out.workers.resize(n);
  out.workspaces.resize(n);
  for (WorkerStats& s : out.workers) {
    s.staleness = Histogram(o.staleness_bins);
    s.attempts = Histogram(o.staleness_bins);
    s.slot_loss_sum.assign(out.checkpoints->num_slots(), 0.0);
    s.slot_loss_count.assign(out.checkpoints->num_slots(), 0);
  }
  return out;
}

// After the join: the totals, the final parameters, and their own snapshot unless the last
// checkpoint already holds them.
void finish_outcome(TrainingOutcome& out, const Algorithm& algo, const Model& model,
                    const RunControl& control) {
  out.stop_reason = control.reason();
  for (const WorkerStats& s : out.workers) out.applied_updates += s.applied;
  out.final_params.resize(model.num_params());
  algo.read_params(out.final_params);
  const std::size_t last = out.checkpoints->slot_of(out.applied_updates);
  if (out.applied_updates > 0 && !out.checkpoints->slot(last).filled) {
    out.checkpoints->record_at(last, out.applied_updates, out.wall_seconds, out.final_params);
  }
}

}  // namespace

TrainingOutcome run_training(Algorithm& algo, const Model& model, const Dataset& train,
                             std::span<const float> theta0, const RunnerOptions& o) {
  const auto n = static_cast<std::size_t>(o.threads);
  TrainingOutcome out = empty_outcome(model, theta0, o);
  // The shared batch order's schedule; its stream is apart from every worker's (worker index n).
  std::optional<SharedBatchSchedule> schedule;
  if (o.batch_order == BatchOrder::kShared) {
    schedule.emplace(train.size(), o.batch_size, stream_seed(o.seed, n));
  }
  TrainingSetup setup{
      &model,       model.num_params(),
      o.batch_size, o.step,
      o.threads,    o.shared_memory != nullptr ? o.shared_memory : &heap_shared_memory()};
  algo.init(theta0, setup);
  RunControl control(o.total_updates);

  std::chrono::steady_clock::time_point t0;
  double cpu0 = 0.0;
  // The clock starts in the barrier's completion step: after every worker is pinned and has
  // built its buffers, and before any is released, so t0 happens-before every worker's reads.
  auto start_clock = [&]() noexcept {
    t0 = std::chrono::steady_clock::now();
    cpu0 = process_cpu_seconds();
    out.checkpoints->start_clock(t0);
  };
  std::barrier start(static_cast<std::ptrdiff_t>(n + 1), start_clock);  // workers + this thread
  std::vector<std::exception_ptr> errors(n);
  std::atomic<bool> setup_failed{false};
  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::size_t done = 0;  // guarded by done_mutex
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (std::size_t w = 0; w < n; ++w) {
      threads.emplace_back([&, w] {
        const int worker = static_cast<int>(w);
        bool started = false;
        try {
          if (o.on_worker_start) o.on_worker_start(worker);
          WorkerBuffers buffers(model, train, o, worker, schedule ? &*schedule : nullptr);
          WorkerContext ctx{
              worker,       o.threads,     &model,   buffers.workspace.get(), &buffers.sampler,
              buffers.grad, buffers.local, &control, out.checkpoints.get(),   &out.workers[w]};
          started = true;
          start.arrive_and_wait();
          // seq_cst pairs with the store below: a worker that failed set-up stores before it
          // drops out of the barrier, so everyone released by the barrier sees it.
          if (!setup_failed.load()) algo.run_worker(ctx);
          out.workspaces[w] = std::move(buffers.workspace);
        } catch (...) {
          errors[w] = std::current_exception();
          setup_failed.store(true);
          if (!started) start.arrive_and_drop();
        }
        {
          const std::lock_guard lock(done_mutex);
          ++done;
        }
        done_cv.notify_one();
      });
    }
    start.arrive_and_wait();  // returns once the clock has started
    {
      std::unique_lock lock(done_mutex);
      auto all_done = [&] { return done == n; };
      if (o.time_limit_seconds) {
        const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(*o.time_limit_seconds));
        if (!done_cv.wait_until(lock, deadline, all_done)) {
          control.request_stop(StopReason::kTimeLimit);
        }
      }
      done_cv.wait(lock, all_done);
    }
    out.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.cpu_seconds = process_cpu_seconds() - cpu0;
  }  // jthreads join here
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }

  finish_outcome(out, algo, model, control);
  return out;
}

}  // namespace psgd
