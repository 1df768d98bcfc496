// harness/run/report.cpp — metrics, status and the JSON document.
#include "harness/run/report.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "common/errors.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/run_outcome.hpp"

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

// One entry per evaluated checkpoint: when, how far, and the losses.
template <class S>
json series_json(const RunFacts<S>& f, const WorkerStats& total) {
  const BasicCheckpoints<S>& cp = *f.outcome->checkpoints;
  json series = json::array();
  for (std::size_t i = 0; i < f.slots.size(); ++i) {
    const std::size_t k = f.slots[i];
    const EvalPoint& p = f.points[i];
    json e;
    e["updates"] = cp.slot(k).updates;
    e["epoch"] = static_cast<double>(cp.slot(k).updates) / static_cast<double>(f.updates_per_epoch);
    e["seconds"] = cp.slot(k).seconds;
    const std::int64_t count = total.slot_loss_count[k];
    e["running_loss"] =
        count > 0 ? number(total.slot_loss_sum[k] / static_cast<double>(count)) : json(nullptr);
    e["train_loss"] = number(p.train_loss);
    e["test_loss"] = number(p.test_loss);
    e["test_accuracy"] = number(p.test_accuracy);
    series.push_back(e);
  }
  return series;
}

template <class S>
RunOutcome outcome_of(const RunFacts<S>& f) {
  const BasicCheckpoints<S>& cp = *f.outcome->checkpoints;
  std::vector<EvaluatedSnapshot> snapshots;
  for (std::size_t i = 0; i < f.slots.size(); ++i) {
    const typename BasicCheckpoints<S>::Slot& slot = cp.slot(f.slots[i]);
    snapshots.push_back({slot.updates, slot.seconds, f.points[i].train_loss, f.points[i].test_loss,
                         f.points[i].test_accuracy});
  }
  return judge_run(snapshots, f.config->epsilons, f.outcome->stop_reason,
                   f.config->target_accuracies);
}

template <class S>
json metrics_json(const RunFacts<S>& f, const RunOutcome& v) {
  json tte = json::object();
  json tte_updates = json::object();
  json target_losses = json::object();
  json reached = json::object();
  for (const TargetOutcome& t : v.targets) {
    tte[t.label] = t.seconds ? json(*t.seconds) : json(nullptr);
    tte_updates[t.label] = t.updates ? json(*t.updates) : json(nullptr);
    target_losses[t.label] = number(t.loss);
    reached[t.label] = t.reached();
  }
  json tta = json::object();
  json tta_updates = json::object();
  json accuracy_targets = json::object();
  for (const AccuracyOutcome& t : v.accuracy_targets) {
    tta[t.label] = t.seconds ? json(*t.seconds) : json(nullptr);
    tta_updates[t.label] = t.updates ? json(*t.updates) : json(nullptr);
    accuracy_targets[t.label] = t.accuracy;
  }
  json m;
  m["initial_train_loss"] = number(v.initial_train_loss);
  m["final_train_loss"] = number(v.final_train_loss);
  m["final_test_loss"] = number(f.points.back().test_loss);
  m["final_test_accuracy"] = number(f.points.back().test_accuracy);
  m["wall_seconds"] = f.outcome->wall_seconds;
  m["epsilon_targets"] = target_losses;
  m["time_to_epsilon"] = tte;
  m["updates_to_epsilon"] = tte_updates;
  m["epsilon_reached"] = reached;
  m["epsilon_targets_reached"] = v.targets_reached();
  m["accuracy_targets"] = accuracy_targets;
  m["time_to_accuracy"] = tta;
  m["updates_to_accuracy"] = tta_updates;
  return m;
}

// Per second of the timed loop, or null when it took no measurable time.
json per_second(double amount, double seconds) {
  return seconds > 0 ? number(amount / seconds) : json(nullptr);
}

}  // namespace

template <class S>
nlohmann::json build_report(const RunFacts<S>& f) {
  const RunConfig& cfg = *f.config;
  const BasicTrainingOutcome<S>& o = *f.outcome;
  const WorkerStats total = merge_workers(o.workers);
  const RunOutcome outcome = outcome_of(f);
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["context"] = run_context();
  doc["config"] = config_to_json(cfg);
  doc["data"] = f.data;
  doc["model"] = f.model;
  doc["algorithm"] = f.algorithm;
  doc["placement"] = f.placement;
  doc["oversubscribed"] = f.oversubscribed;
  doc["series"] = series_json(f, total);
  doc["status"] = outcome.status;
  doc["stop_reason"] = outcome.stop_reason;
  doc["metrics"] = metrics_json(f, outcome);

  // How the snapshots were kept: every checkpoint, or every kept_every-th once a long run ran out
  // of slots (thinned evenly, never cut off); the final state is always the series' last entry.
  const BasicCheckpoints<S>& cp = *o.checkpoints;
  doc["checkpoints"] = {
      {"per_epoch", cfg.checkpoints},   {"effective_per_epoch", cp.per_epoch()},
      {"slot_cap", cp.num_slots() - 1}, {"kept_every", cp.stride()},
      {"thinned", cp.stride() > 1},     {"final_state_separate", cp.slot(cp.final_slot()).filled},
      {"evaluated", f.slots.size()}};
  doc["updates"] = {{"budget", f.total_updates},
                    {"applied", o.applied_updates},
                    {"computed", total.computed},
                    {"dropped", total.dropped},
                    {"discarded_at_end", total.discarded_at_end},
                    {"per_epoch", f.updates_per_epoch}};
  // Samples whose gradient was computed, applied or not: the work the machine did per second.
  doc["throughput"] = {
      {"updates_per_second", per_second(static_cast<double>(o.applied_updates), o.wall_seconds)},
      {"samples_per_second",
       per_second(static_cast<double>(total.computed) * static_cast<double>(cfg.batch),
                  o.wall_seconds)}};

  json staleness = histogram_json(total.staleness);
  staleness["per_worker"] = json::array();
  for (std::size_t w = 0; w < o.workers.size(); ++w) {
    json ws = histogram_json(o.workers[w].staleness);
    ws["worker"] = w;
    staleness["per_worker"].push_back(ws);
  }
  doc["staleness"] = staleness;

  // failed_attempts: failed read-modify-writes (a spin lock's exchange or CAS, an OS lock's
  // try_lock, a publish or coordinate CAS), the same for every method and backoff policy;
  // polls: lock tests that saw it held; failed_tests: Leashed publishes abandoned on a test.
  doc["contention"] = {
      {"failed_attempts", total.failed_attempts},
      {"failed_tests", total.failed_tests},
      {"polls", total.polls},
      {"contended_acquisitions", total.contended_acquisitions},
      {"failed_attempts_per_update", histogram_json(total.attempts)},
      {"lock_wait_seconds", total.lock_wait_seconds},
      {"backoff_seconds", total.backoff_seconds},
      {"dropped_gradients", total.dropped},
      // Leashed keeps a bounded pool of parameter vectors; its peak is a contention effect too.
      {"peak_live_vectors", f.peak_live_vectors ? json(*f.peak_live_vectors) : json(nullptr)}};

  // Injected heterogeneity (--slowdown, --delay): what was asked is in config; what it cost here.
  json computed_per_worker = json::array();
  for (const WorkerStats& s : o.workers) computed_per_worker.push_back(s.computed);
  doc["pace"] = {{"slowdown", slowdown_text(cfg.pace.slowdown)},
                 {"delay", cfg.pace.delay.text()},
                 {"step_decay", cfg.pace.step_decay},
                 {"slowdown_seconds", total.slowdown_seconds},
                 {"delay_seconds", total.delay_seconds},
                 {"computed_per_worker", computed_per_worker}};

  doc["resources"] = {{"peak_rss_bytes", peak_rss_bytes()},
                      {"shared_bytes", f.shared_bytes},
                      {"cpu_seconds", o.cpu_seconds},
                      {"cpu_utilisation", per_second(o.cpu_seconds, o.wall_seconds)}};
  return doc;
}

template nlohmann::json build_report(const RunFacts<float>&);
template nlohmann::json build_report(const RunFacts<double>&);

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
