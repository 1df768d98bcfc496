// harness/report.cpp — metrics, status and the JSON document.
#include "harness/report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "harness/atomic_file.hpp"
#include "harness/build_info.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// JSON has no inf or nan: a non-finite number is written as null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json histogram_json(const Histogram& h) {
  json j;
  j["count"] = h.count();
  j["mean"] = h.mean();
  j["max"] = h.max();
  const std::int64_t p50 = h.quantile(0.5);
  const std::int64_t p99 = h.quantile(0.99);
  // A quantile in the overflow bin is only known to be >= the bin count: say so, not a number.
  j["p50"] = p50 >= 0 ? json(p50) : json(nullptr);
  j["p99"] = p99 >= 0 ? json(p99) : json(nullptr);
  std::size_t used = h.bins().size();
  while (used > 0 && h.bins()[used - 1] == 0) --used;  // trailing zeros carry no information
  j["histogram"] = std::vector<std::int64_t>(h.bins().begin(),
                                             h.bins().begin() + static_cast<std::ptrdiff_t>(used));
  j["bins"] = h.bins().size();
  j["overflow"] = h.overflow();
  return j;
}

struct EpsilonTarget {
  std::string label;
  double loss = 0.0;
};

}  // namespace

nlohmann::json build_report(const RunFacts& f) {
  const RunConfig& cfg = *f.config;
  const TrainingOutcome& o = *f.outcome;
  const Checkpoints& cp = *o.checkpoints;
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["context"] = run_context();
  doc["config"] = config_to_json(cfg);
  doc["data"] = f.data;
  doc["model"] = f.model;
  doc["algorithm"] = f.algorithm;
  doc["placement"] = f.placement;
  doc["oversubscribed"] = f.oversubscribed;

  // ---- series: one entry per evaluated checkpoint ----
  json series = json::array();
  bool any_non_finite = false;
  for (std::size_t i = 0; i < f.slots.size(); ++i) {
    const std::size_t k = f.slots[i];
    const EvalPoint& p = f.points[i];
    json e;
    e["updates"] = cp.slot(k).updates;
    e["epoch"] = static_cast<double>(cp.slot(k).updates) / static_cast<double>(f.updates_per_epoch);
    e["seconds"] = cp.slot(k).seconds;
    double sum = 0.0;
    std::int64_t count = 0;
    for (const WorkerStats& s : o.workers) {
      sum += s.slot_loss_sum[k];
      count += s.slot_loss_count[k];
    }
    e["running_loss"] = count > 0 ? number(sum / static_cast<double>(count)) : json(nullptr);
    e["train_loss"] = number(p.train_loss);
    e["test_loss"] = number(p.test_loss);
    e["test_accuracy"] = number(p.test_accuracy);
    any_non_finite = any_non_finite || !std::isfinite(p.train_loss) || !std::isfinite(p.test_loss);
    series.push_back(e);
  }
  doc["series"] = series;

  // ---- metrics and status ----
  const double initial = f.points.front().train_loss;
  const double final_loss = f.points.back().train_loss;
  std::vector<EpsilonTarget> targets;
  for (const Epsilon& e : cfg.epsilons) {
    targets.push_back({e.text(), e.relative ? e.value * initial : e.value});
  }
  json tte = json::object();
  json tte_updates = json::object();
  json target_losses = json::object();
  bool tightest_reached = false;
  double tightest = INFINITY;
  for (const EpsilonTarget& t : targets) tightest = std::min(tightest, t.loss);
  for (const EpsilonTarget& t : targets) {
    json seconds = nullptr;
    json updates = nullptr;
    for (std::size_t i = 0; i < f.slots.size(); ++i) {
      if (std::isfinite(f.points[i].train_loss) && f.points[i].train_loss <= t.loss) {
        seconds = cp.slot(f.slots[i]).seconds;
        updates = cp.slot(f.slots[i]).updates;
        if (t.loss == tightest) tightest_reached = true;
        break;
      }
    }
    tte[t.label] = seconds;
    tte_updates[t.label] = updates;
    target_losses[t.label] = number(t.loss);
  }
  const bool diverged = o.stop_reason == StopReason::kDiverged || any_non_finite ||
                        !std::isfinite(final_loss) || final_loss > initial;
  doc["status"] = diverged ? "diverged" : tightest_reached ? "converged" : "not_converged";
  doc["stop_reason"] = o.stop_reason == StopReason::kTimeLimit  ? "time_limit"
                       : o.stop_reason == StopReason::kDiverged ? "diverged"
                                                                : "budget";
  json m;
  m["initial_train_loss"] = number(initial);
  m["final_train_loss"] = number(final_loss);
  m["final_test_loss"] = number(f.points.back().test_loss);
  m["final_test_accuracy"] = number(f.points.back().test_accuracy);
  m["wall_seconds"] = o.wall_seconds;
  m["epsilon_targets"] = target_losses;
  m["time_to_epsilon"] = tte;
  m["updates_to_epsilon"] = tte_updates;
  doc["metrics"] = m;

  // ---- work done ----
  std::int64_t computed = 0, dropped = 0, discarded = 0, failed = 0;
  double lock_wait = 0.0, backoff = 0.0;
  Histogram staleness(static_cast<std::size_t>(cfg.staleness_bins));
  Histogram attempts(static_cast<std::size_t>(cfg.staleness_bins));
  json per_worker = json::array();
  for (std::size_t w = 0; w < o.workers.size(); ++w) {
    const WorkerStats& s = o.workers[w];
    computed += s.computed;
    dropped += s.dropped;
    discarded += s.discarded_at_end;
    failed += s.failed_attempts;
    lock_wait += s.lock_wait_seconds;
    backoff += s.backoff_seconds;
    staleness.merge(s.staleness);
    attempts.merge(s.attempts);
    json ws = histogram_json(s.staleness);
    ws["worker"] = w;
    per_worker.push_back(ws);
  }
  json updates;
  updates["budget"] = f.total_updates;
  updates["applied"] = o.applied_updates;
  updates["computed"] = computed;
  updates["dropped"] = dropped;
  updates["discarded_at_end"] = discarded;
  updates["per_epoch"] = f.updates_per_epoch;
  doc["updates"] = updates;

  json th;
  th["updates_per_second"] = o.wall_seconds > 0
                                 ? number(static_cast<double>(o.applied_updates) / o.wall_seconds)
                                 : json(nullptr);
  // Samples whose gradient was computed, applied or not: the work the machine did per second.
  th["samples_per_second"] =
      o.wall_seconds > 0
          ? number(static_cast<double>(computed) * static_cast<double>(cfg.batch) / o.wall_seconds)
          : json(nullptr);
  doc["throughput"] = th;

  json st = histogram_json(staleness);
  st["per_worker"] = per_worker;
  doc["staleness"] = st;

  json ct;
  ct["failed_attempts"] = failed;
  ct["failed_attempts_per_update"] = histogram_json(attempts);
  ct["lock_wait_seconds"] = lock_wait;
  ct["backoff_seconds"] = backoff;
  ct["dropped_gradients"] = dropped;
  // Leashed keeps a bounded pool of parameter vectors; its peak is a contention effect too.
  ct["peak_live_vectors"] =
      f.algorithm.contains("live_vectors") ? f.algorithm["live_vectors"]["peak"] : json(nullptr);
  doc["contention"] = ct;

  json r;
  r["peak_rss_bytes"] = peak_rss_bytes();
  r["cpu_seconds"] = o.cpu_seconds;
  r["cpu_utilisation"] =
      o.wall_seconds > 0 ? number(o.cpu_seconds / o.wall_seconds) : json(nullptr);
  doc["resources"] = r;
  return doc;
}

nlohmann::json error_report(const std::string& kind, const std::string& message,
                            const nlohmann::json& config) {
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["status"] = "error";
  doc["error"] = {{"kind", kind}, {"message", message}};
  doc["context"] = run_context();
  doc["config"] = config;
  return doc;
}

void write_json(const nlohmann::json& doc, const std::string& path) {
  const std::string text = doc.dump(2) + "\n";
  if (path == "-") {
    std::cout << text << std::flush;
    return;
  }
  write_text_atomically(path, text);
}

std::int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace psgd
