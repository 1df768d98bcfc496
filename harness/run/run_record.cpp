// harness/run/run_record.cpp — the run's record, built once from the runner's outcome and the
// evaluation.
#include "harness/run/run_record.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>

#include "algorithms/step_rule.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/report.hpp"
#include "harness/run/run_outcome.hpp"
#include "harness/run/stop_signals.hpp"

namespace psgd {
namespace {

HistogramRecord histogram_record(const Histogram& h) {
  HistogramRecord r;
  r.count = h.count();
  r.mean = h.mean();
  r.max = h.max();
  // A quantile in the overflow bin is only known to be >= the bin count: say so, not a number.
  const std::int64_t p50 = h.quantile(0.5);
  const std::int64_t p99 = h.quantile(0.99);
  if (p50 >= 0) r.p50 = p50;
  if (p99 >= 0) r.p99 = p99;
  std::size_t used = h.bins().size();
  while (used > 0 && h.bins()[used - 1] == 0) --used;  // trailing zeros carry no information
  r.histogram.assign(h.bins().begin(), h.bins().begin() + static_cast<std::ptrdiff_t>(used));
  r.bins = static_cast<std::int64_t>(h.bins().size());
  r.overflow = h.overflow();
  return r;
}

// Per second of the timed loop, or nullopt when it took no measurable time.
std::optional<double> per_second(double amount, double seconds) {
  if (seconds > 0) return amount / seconds;
  return std::nullopt;
}

// One entry per evaluated checkpoint: when, how far, and the losses.
template <class S>
std::vector<SeriesPoint> series_of(const RunFacts<S>& f, const WorkerStats& total) {
  const BasicCheckpoints<S>& cp = *f.outcome->checkpoints;
  std::vector<SeriesPoint> series;
  for (std::size_t i = 0; i < f.slots.size(); ++i) {
    const std::size_t k = f.slots[i];
    SeriesPoint e;
    e.updates = cp.slot(k).updates;
    e.epoch = static_cast<double>(cp.slot(k).updates) / static_cast<double>(f.updates_per_epoch);
    e.seconds = cp.slot(k).seconds;
    const std::int64_t count = total.slot_loss_count[k];
    if (count > 0) e.running_loss = total.slot_loss_sum[k] / static_cast<double>(count);
    e.train_loss = f.points[i].train_loss;
    e.test_loss = f.points[i].test_loss;
    e.test_accuracy = f.points[i].test_accuracy;
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
MetricsRecord metrics_of(const RunFacts<S>& f, const RunOutcome& v) {
  MetricsRecord m;
  m.initial_train_loss = v.initial_train_loss;
  m.final_train_loss = v.final_train_loss;
  m.final_test_loss = f.points.back().test_loss;
  m.final_test_accuracy = f.points.back().test_accuracy;
  m.wall_seconds = f.outcome->wall_seconds;
  for (const TargetOutcome& t : v.targets) {
    m.epsilon.push_back({t.label, t.loss, t.seconds, t.updates, t.reached()});
  }
  m.epsilon_targets_reached = static_cast<std::int64_t>(v.targets_reached());
  for (const AccuracyOutcome& t : v.accuracy_targets) {
    m.accuracy.push_back({t.label, t.accuracy, t.seconds, t.updates, std::nullopt});
  }
  order_targets(m);
  return m;
}

// How the snapshots were kept: every checkpoint, or every kept_every-th once a long run ran out
// of slots (thinned evenly, never cut off); the final state is always the series' last entry.
template <class S>
CheckpointRecord checkpoints_of(const RunFacts<S>& f) {
  const BasicCheckpoints<S>& cp = *f.outcome->checkpoints;
  CheckpointRecord c;
  c.per_epoch = f.config->checkpoints;
  c.effective_per_epoch = cp.per_epoch();
  c.slot_cap = static_cast<std::int64_t>(cp.num_slots()) - 1;
  c.kept_every = cp.stride();
  c.thinned = cp.stride() > 1;
  c.final_state_separate = cp.slot(cp.final_slot()).filled;
  c.evaluated = static_cast<std::int64_t>(f.slots.size());
  return c;
}

// failed_attempts: failed read-modify-writes (a spin lock's exchange or CAS, an OS lock's
// try_lock, a publish or coordinate CAS), the same for every method and backoff policy;
// polls: lock tests that saw it held; failed_tests: Leashed publishes abandoned on a test.
ContentionRecord contention_of(const WorkerStats& total, std::optional<std::int64_t> live) {
  ContentionRecord c;
  c.failed_attempts = total.failed_attempts;
  c.failed_tests = total.failed_tests;
  c.polls = total.polls;
  c.contended_acquisitions = total.contended_acquisitions;
  c.failed_attempts_per_update = histogram_record(total.attempts);
  c.lock_wait_seconds = total.lock_wait_seconds;
  c.backoff_seconds = total.backoff_seconds;
  c.dropped_gradients = total.dropped;
  // Leashed keeps a bounded pool of parameter vectors; its peak is a contention effect too.
  c.peak_live_vectors = live;
  return c;
}

// Injected heterogeneity (--slowdown, --delay): what was asked is in config; what it cost here.
template <class S>
PaceRecord pace_of(const RunFacts<S>& f, const WorkerStats& total) {
  PaceRecord p;
  p.slowdown = slowdown_text(f.config->pace.slowdown);
  p.delay = f.config->pace.delay.text();
  p.step_decay = f.config->pace.step_decay;
  p.slowdown_seconds = total.slowdown_seconds;
  p.delay_seconds = total.delay_seconds;
  p.comm_delay = f.config->pace.comm_delay.text();
  p.comm_delay_seconds = total.comm_delay_seconds;
  p.exchanges = total.exchanges;
  for (const WorkerStats& s : f.outcome->workers) p.computed_per_worker.push_back(s.computed);
  return p;
}

// The work block: every worker's gradients, their samples and where they went.
template <class S>
WorkDoneRecord work_of(const RunFacts<S>& f, const WorkerStats& total) {
  WorkDoneRecord w;
  w.budget = f.budget;
  w.gradients = total.computed;
  w.samples = total.samples;
  const std::int64_t lost = total.dropped + total.abandoned + total.discarded_at_end;
  w.lost = LostRecord{total.dropped, total.abandoned, total.discarded_at_end, lost};
  // Counted by the workers where a gradient's effect reached the shared model, not derived:
  // the identity computed = contributed + lost is a check on the method, not a definition.
  w.contributed = total.contributed;
  if (f.data.train_samples && *f.data.train_samples > 0) {
    w.passes = static_cast<double>(total.samples) / static_cast<double>(*f.data.train_samples);
  }
  return w;
}

// The distribution of the steps applied under --step-rule, beside the staleness histogram: each
// update's factor (step / --step) in bins of 1/64 (bin i holds factors in [i/64, (i+1)/64)),
// trailing empty bins cut; sum and mean are exact. Null when no update recorded one (a method
// without step rules).
nlohmann::json effective_step_json(const Histogram& factors, double factor_sum) {
  if (factors.count() == 0) return nullptr;
  std::vector<std::int64_t> bins = factors.bins();
  while (!bins.empty() && bins.back() == 0) bins.pop_back();
  const double n = static_cast<double>(factors.count());
  return {{"unit", "step factor (effective step / --step)"},
          {"count", factors.count()},
          {"factor_sum", factor_sum},
          {"factor_mean", factor_sum / n},
          {"bin_width", 1.0 / kStepFactorBinsPerUnit},
          {"histogram", bins},
          {"bins", factors.bins().size()},
          {"overflow", factors.overflow()}};
}

// The counters of the timed loop: work done, its rate, staleness and contention.
template <class S>
void add_counters(RunRecord& r, const RunFacts<S>& f, const WorkerStats& total) {
  const BasicTrainingOutcome<S>& o = *f.outcome;
  r.work = work_of(f, total);
  r.updates = WorkRecord{f.total_updates, o.applied_updates,      total.computed,
                         total.dropped,   total.discarded_at_end, f.updates_per_epoch};
  // Samples whose gradient was computed, applied or not: the work the machine did per second.
  r.throughput =
      ThroughputRecord{per_second(static_cast<double>(o.applied_updates), o.wall_seconds),
                       per_second(static_cast<double>(total.samples), o.wall_seconds)};
  r.staleness = histogram_record(total.staleness);
  for (std::size_t w = 0; w < o.workers.size(); ++w) {
    r.staleness_per_worker.push_back(histogram_record(o.workers[w].staleness));
    r.staleness_per_worker.back().worker = static_cast<std::int64_t>(w);
  }
  r.effective_step = effective_step_json(total.step_factor, total.step_factor_sum);
  r.contention = contention_of(total, f.peak_live_vectors);
  r.pace = pace_of(f, total);
  r.resources = ResourceRecord{peak_rss_bytes(), f.shared_bytes, o.cpu_seconds,
                               per_second(o.cpu_seconds, o.wall_seconds)};
}

// The sort key of a target: its value, 0 when unknown (as a document with null reads).
double key_of(const TargetRecord& t) { return t.value && std::isfinite(*t.value) ? *t.value : 0.0; }

}  // namespace

template <class S>
RunRecord make_run_record(const RunFacts<S>& f) {
  const RunConfig& cfg = *f.config;
  const WorkerStats total = merge_workers(f.outcome->workers);
  const RunOutcome outcome = outcome_of(f);
  RunRecord r;
  r.status = outcome.status;
  r.stop_reason = outcome.stop_reason;
  r.context = run_context();
  r.load_average = load_average_of(r.context);
  r.hardware_threads = hardware_threads_of(r.context);
  r.config = config_to_json(cfg);
  r.argv = cfg.argv;
  r.setup = {cfg.algorithm, cfg.threads, cfg.batch, cfg.step};
  r.data = f.data;
  r.model = f.model;
  r.algorithm = f.algorithm;
  r.placement = f.placement;
  r.oversubscribed = f.oversubscribed;
  r.series = series_of(f, total);
  r.metrics = metrics_of(f, outcome);
  r.checkpoints = checkpoints_of(f);
  add_counters(r, f, total);
  return r;
}

template RunRecord make_run_record(const RunFacts<float>&);
template RunRecord make_run_record(const RunFacts<double>&);

void mark_stopped(RunRecord& record, int signal) {
  record.stopped = StoppedRecord{signal_name(signal), stopped_exit_code(signal),
                                 record.stop_reason == "signal" ? "training" : "evaluation"};
  if (record.stop_reason == "signal") record.status = "stopped";
}

std::optional<double> WorkDoneRecord::lost_fraction() const {
  if (!lost || !lost->total || !gradients || *gradients <= 0) return std::nullopt;
  return static_cast<double>(*lost->total) / static_cast<double>(*gradients);
}

void order_targets(MetricsRecord& m) {
  auto by_label = [](const TargetRecord& a, const TargetRecord& b) { return a.label < b.label; };
  auto same_label = [](const TargetRecord& a, const TargetRecord& b) { return a.label == b.label; };
  for (std::vector<TargetRecord>* targets : {&m.epsilon, &m.accuracy}) {
    // A label given twice is one target (one key of the document's object).
    std::stable_sort(targets->begin(), targets->end(), by_label);
    targets->erase(std::unique(targets->begin(), targets->end(), same_label), targets->end());
  }
  std::stable_sort(m.epsilon.begin(), m.epsilon.end(),
                   [](const auto& a, const auto& b) { return key_of(a) > key_of(b); });
  std::stable_sort(m.accuracy.begin(), m.accuracy.end(),
                   [](const auto& a, const auto& b) { return key_of(a) < key_of(b); });
}

std::int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::int64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace psgd
