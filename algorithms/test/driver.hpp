// algorithms/test/driver.hpp — a minimal stand-in for harness/runner, for the algorithm tests and
// micro-benchmarks (which link psgd_algorithms only). It drives an Algorithm the way the runner
// does: per-worker buffers built on the worker's own thread, one start barrier, the clock started
// when every worker is ready, an optional time limit, the join, then read_params().
// Pinning, placement and the report are the runner's and are not reproduced here.
#pragma once

#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "models/batch_sampler.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd::testing {

struct DriveOptions {
  int threads = 1;
  std::uint64_t seed = 1;
  std::size_t batch = 8;
  float step = 0.01F;
  std::int64_t total_updates = 100;
  std::int64_t checkpoint_interval = 1000000;
  std::size_t staleness_bins = 256;
  std::optional<double> time_limit_seconds;
};

struct DriveResult {
  double wall_seconds = 0.0;
  StopReason stop_reason = StopReason::kNone;
  std::vector<WorkerStats> workers;
  std::vector<std::unique_ptr<Workspace>> workspaces;  // kept for models that log into them
  std::unique_ptr<Checkpoints> checkpoints;
  std::vector<float> final_params;

  [[nodiscard]] std::int64_t sum(std::int64_t WorkerStats::*field) const {
    std::int64_t s = 0;
    for (const WorkerStats& w : workers) s += w.*field;
    return s;
  }
  [[nodiscard]] Histogram merged_staleness() const {
    Histogram h(workers.front().staleness.bins().size());
    for (const WorkerStats& w : workers) h.merge(w.staleness);
    return h;
  }
  [[nodiscard]] double backoff_seconds() const {
    double s = 0.0;
    for (const WorkerStats& w : workers) s += w.backoff_seconds;
    return s;
  }
};

inline DriveResult drive(Algorithm& algo, const Model& model, const Dataset& data,
                         std::span<const float> theta0, const DriveOptions& o) {
  const auto n = static_cast<std::size_t>(o.threads);
  DriveResult r;
  // One checkpoint per "epoch" of checkpoint_interval updates: a snapshot every interval.
  r.checkpoints =
      std::make_unique<Checkpoints>(model.num_params(), o.checkpoint_interval, 1, o.total_updates);
  r.checkpoints->record_at(0, 0, 0.0, theta0);
  r.workers.resize(n);
  r.workspaces.resize(n);
  for (WorkerStats& s : r.workers) {
    s.staleness = Histogram(o.staleness_bins);
    s.attempts = Histogram(o.staleness_bins);
    s.slot_loss_sum.assign(r.checkpoints->num_slots(), 0.0);
    s.slot_loss_count.assign(r.checkpoints->num_slots(), 0);
  }
  const TrainingSetup setup{&model, model.num_params(), o.batch, o.step, o.threads};
  algo.init(theta0, setup);
  RunControl control(o.total_updates);
  std::chrono::steady_clock::time_point t0;
  auto start_clock = [&]() noexcept {
    t0 = std::chrono::steady_clock::now();
    r.checkpoints->start_clock(t0);
  };
  std::barrier start(static_cast<std::ptrdiff_t>(n + 1), start_clock);
  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::size_t done = 0;
  {
    std::vector<std::jthread> threads;
    for (std::size_t w = 0; w < n; ++w) {
      threads.emplace_back([&, w] {
        r.workspaces[w] = model.make_workspace(o.batch);
        BatchSampler sampler(data, o.batch, stream_seed(o.seed, w));
        std::vector<float> grad(model.num_params());
        std::vector<float> local(model.num_params());
        WorkerContext ctx{static_cast<int>(w),
                          o.threads,
                          &model,
                          r.workspaces[w].get(),
                          &sampler,
                          grad,
                          local,
                          &control,
                          r.checkpoints.get(),
                          &r.workers[w]};
        start.arrive_and_wait();
        algo.run_worker(ctx);
        {
          const std::lock_guard lock(done_mutex);
          ++done;
        }
        done_cv.notify_one();
      });
    }
    start.arrive_and_wait();
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
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  r.stop_reason = control.reason();
  r.final_params.resize(model.num_params());
  algo.read_params(r.final_params);
  return r;
}

}  // namespace psgd::testing
