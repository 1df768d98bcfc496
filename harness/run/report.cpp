// harness/run/report.cpp — the run document: the record written as JSON, a document read back
// into a record, and the error document.
#include "harness/run/report.hpp"

#include <cmath>
#include <iostream>

#include "harness/cli/atomic_file.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/efficiency.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// ---- writing ----

// JSON has no inf or nan: a non-finite number is written as null, like a missing one.
json num(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json histogram_json(const HistogramRecord& h) {
  json j = {{"count", opt(h.count)}, {"mean", num(h.mean)},        {"max", opt(h.max)},
            {"p50", opt(h.p50)},     {"p99", opt(h.p99)},          {"histogram", h.histogram},
            {"bins", opt(h.bins)},   {"overflow", opt(h.overflow)}};
  if (h.worker) j["worker"] = *h.worker;
  return j;
}

json series_json(const std::vector<SeriesPoint>& series) {
  json out = json::array();
  for (const SeriesPoint& e : series) {
    out.push_back({{"updates", opt(e.updates)},
                   {"epoch", num(e.epoch)},
                   {"seconds", num(e.seconds)},
                   {"running_loss", num(e.running_loss)},
                   {"train_loss", num(e.train_loss)},
                   {"test_loss", num(e.test_loss)},
                   {"test_accuracy", num(e.test_accuracy)}});
  }
  return out;
}

json metrics_json(const MetricsRecord& m) {
  json targets = json::object(), tte = json::object(), ute = json::object();
  json reached = json::object();
  for (const TargetRecord& t : m.epsilon) {
    targets[t.label] = num(t.value);
    tte[t.label] = num(t.seconds);
    ute[t.label] = opt(t.updates);
    reached[t.label] = opt(t.reached);
  }
  json accuracy = json::object(), tta = json::object(), uta = json::object();
  for (const TargetRecord& t : m.accuracy) {
    accuracy[t.label] = num(t.value);
    tta[t.label] = num(t.seconds);
    uta[t.label] = opt(t.updates);
  }
  return {{"initial_train_loss", num(m.initial_train_loss)},
          {"final_train_loss", num(m.final_train_loss)},
          {"final_test_loss", num(m.final_test_loss)},
          {"final_test_accuracy", num(m.final_test_accuracy)},
          {"wall_seconds", num(m.wall_seconds)},
          {"epsilon_targets", targets},
          {"time_to_epsilon", tte},
          {"updates_to_epsilon", ute},
          {"epsilon_reached", reached},
          {"epsilon_targets_reached", opt(m.epsilon_targets_reached)},
          {"accuracy_targets", accuracy},
          {"time_to_accuracy", tta},
          {"updates_to_accuracy", uta}};
}

json identity_json(const DataRecord& d, const ModelRecord& m) {
  return {{"data",
           {{"name", opt(d.name)},
            {"source", opt(d.source)},
            {"train_samples", opt(d.train_samples)},
            {"test_samples", opt(d.test_samples)},
            {"shape", d.shape},
            {"classes", opt(d.classes)},
            {"pixel_scale", opt(d.pixel_scale)}}},
          {"model",
           {{"spec", opt(m.spec)},
            {"params", opt(m.params)},
            {"activation", opt(m.activation)},
            {"init", opt(m.init)},
            {"dtype", opt(m.dtype)}}}};
}

json work_json(const RunRecord& r) {
  const CheckpointRecord c = r.checkpoints.value_or(CheckpointRecord{});
  const WorkRecord u = r.updates.value_or(WorkRecord{});
  const ThroughputRecord t = r.throughput.value_or(ThroughputRecord{});
  return {{"checkpoints",
           {{"per_epoch", opt(c.per_epoch)},
            {"effective_per_epoch", opt(c.effective_per_epoch)},
            {"slot_cap", opt(c.slot_cap)},
            {"kept_every", opt(c.kept_every)},
            {"thinned", opt(c.thinned)},
            {"final_state_separate", opt(c.final_state_separate)},
            {"evaluated", opt(c.evaluated)}}},
          {"updates",
           {{"budget", opt(u.budget)},
            {"applied", opt(u.applied)},
            {"computed", opt(u.computed)},
            {"dropped", opt(u.dropped)},
            {"discarded_at_end", opt(u.discarded_at_end)},
            {"per_epoch", opt(u.per_epoch)}}},
          {"throughput",
           {{"updates_per_second", num(t.updates_per_second)},
            {"samples_per_second", num(t.samples_per_second)}}}};
}

// The budget's amount as given: E (a number) for epochs, seconds for time, an integer else.
json amount_json(const BudgetRecord& b) {
  const bool whole = b.kind == "gradients" || b.kind == "updates";
  if (whole && b.amount && std::isfinite(*b.amount)) return json(std::llround(*b.amount));
  return num(b.amount);
}

json work_block_json(const WorkDoneRecord& w) {
  const BudgetRecord b = w.budget.value_or(BudgetRecord{});
  const LostRecord l = w.lost.value_or(LostRecord{});
  return {{"budget",
           {{"kind", opt(b.kind)},
            {"amount", amount_json(b)},
            {"gradients", opt(b.gradients)},
            {"gradients_per_update", opt(b.gradients_per_update)}}},
          {"gradients", opt(w.gradients)},
          {"samples", opt(w.samples)},
          {"contributed", opt(w.contributed)},
          {"lost",
           {{"dropped", opt(l.dropped)},
            {"abandoned", opt(l.abandoned)},
            {"discarded_at_end", opt(l.discarded_at_end)},
            {"total", opt(l.total)}}},
          {"passes", num(w.passes)}};
}

json staleness_json(const RunRecord& r) {
  json s = histogram_json(r.staleness.value_or(HistogramRecord{}));
  s["per_worker"] = json::array();
  for (const HistogramRecord& w : r.staleness_per_worker)
    s["per_worker"].push_back(histogram_json(w));
  return s;
}

json contention_json(const ContentionRecord& c) {
  return {{"failed_attempts", opt(c.failed_attempts)},
          {"failed_tests", opt(c.failed_tests)},
          {"polls", opt(c.polls)},
          {"contended_acquisitions", opt(c.contended_acquisitions)},
          {"failed_attempts_per_update",
           histogram_json(c.failed_attempts_per_update.value_or(HistogramRecord{}))},
          {"lock_wait_seconds", num(c.lock_wait_seconds)},
          {"backoff_seconds", num(c.backoff_seconds)},
          {"dropped_gradients", opt(c.dropped_gradients)},
          {"peak_live_vectors", opt(c.peak_live_vectors)}};
}

json pace_json(const PaceRecord& p) {
  return {
      {"slowdown", opt(p.slowdown)},           {"delay", opt(p.delay)},
      {"step_decay", num(p.step_decay)},       {"slowdown_seconds", num(p.slowdown_seconds)},
      {"delay_seconds", num(p.delay_seconds)}, {"computed_per_worker", p.computed_per_worker},
      {"comm_delay", opt(p.comm_delay)},       {"comm_delay_seconds", num(p.comm_delay_seconds)},
      {"exchanges", opt(p.exchanges)}};
}

json resources_json(const ResourceRecord& r) {
  return {{"peak_rss_bytes", opt(r.peak_rss_bytes)},
          {"shared_bytes", opt(r.shared_bytes)},
          {"cpu_seconds", num(r.cpu_seconds)},
          {"cpu_utilisation", num(r.cpu_utilisation)}};
}

// ---- reading ----

// block[key] when block is an object that has it, else null.
const json& at(const json& block, const char* key) {
  static const json null_json = nullptr;
  if (!block.is_object()) return null_json;
  const auto it = block.find(key);
  return it == block.end() ? null_json : *it;
}

std::optional<double> real(const json& block, const char* key) {
  const json& v = at(block, key);
  return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
}

std::optional<std::int64_t> integer(const json& block, const char* key) {
  const json& v = at(block, key);
  return v.is_number_integer() ? std::optional<std::int64_t>(v.get<std::int64_t>()) : std::nullopt;
}

std::optional<bool> boolean(const json& block, const char* key) {
  const json& v = at(block, key);
  return v.is_boolean() ? std::optional<bool>(v.get<bool>()) : std::nullopt;
}

std::optional<std::string> text(const json& block, const char* key) {
  const json& v = at(block, key);
  return v.is_string() ? std::optional<std::string>(v.get<std::string>()) : std::nullopt;
}

std::vector<std::int64_t> integers(const json& block, const char* key) {
  std::vector<std::int64_t> out;
  const json& v = at(block, key);
  if (!v.is_array()) return out;
  for (const json& e : v) out.push_back(e.is_number_integer() ? e.get<std::int64_t>() : 0);
  return out;
}

HistogramRecord read_histogram(const json& h) {
  return {integer(h, "count"), real(h, "mean"),        integer(h, "max"),
          integer(h, "p50"),   integer(h, "p99"),      integers(h, "histogram"),
          integer(h, "bins"),  integer(h, "overflow"), integer(h, "worker")};
}

// The targets of a metrics map: labels from `times`, the rest by label from the other maps.
std::vector<TargetRecord> read_targets(const json& m, const char* values, const char* times,
                                       const char* updates, const char* reached) {
  std::vector<TargetRecord> out;
  const json& t = at(m, times);
  if (!t.is_object()) return out;
  for (const auto& [label, seconds] : t.items()) {
    const char* l = label.c_str();
    out.push_back({label, real(at(m, values), l), real(t, l), integer(at(m, updates), l),
                   reached ? boolean(at(m, reached), l) : std::nullopt});
  }
  return out;
}

MetricsRecord read_metrics(const json& m) {
  MetricsRecord r;
  r.initial_train_loss = real(m, "initial_train_loss");
  r.final_train_loss = real(m, "final_train_loss");
  r.final_test_loss = real(m, "final_test_loss");
  r.final_test_accuracy = real(m, "final_test_accuracy");
  r.wall_seconds = real(m, "wall_seconds");
  r.epsilon = read_targets(m, "epsilon_targets", "time_to_epsilon", "updates_to_epsilon",
                           "epsilon_reached");
  r.epsilon_targets_reached = integer(m, "epsilon_targets_reached");
  r.accuracy =
      read_targets(m, "accuracy_targets", "time_to_accuracy", "updates_to_accuracy", nullptr);
  order_targets(r);
  return r;
}

void read_identity(RunRecord& r, const json& doc) {
  const json& cfg = at(doc, "config");
  r.setup = {text(cfg, "algo"), integer(cfg, "threads"), integer(cfg, "batch"), real(cfg, "step")};
  const json& d = at(doc, "data");
  r.data = {text(d, "name"),
            text(d, "source"),
            text(d, "pixel_scale"),
            integer(d, "train_samples"),
            integer(d, "test_samples"),
            integer(d, "classes"),
            integers(d, "shape")};
  const json& m = at(doc, "model");
  r.model = {text(m, "spec"), text(m, "activation"), text(m, "init"), text(m, "dtype"),
             integer(m, "params")};
  for (const json& e : at(doc, "series").is_array() ? at(doc, "series") : json::array()) {
    r.series.push_back({integer(e, "updates"), real(e, "epoch"), real(e, "seconds"),
                        real(e, "running_loss"), real(e, "train_loss"), real(e, "test_loss"),
                        real(e, "test_accuracy")});
  }
}

void read_counters(RunRecord& r, const json& doc) {
  if (const json& c = at(doc, "checkpoints"); c.is_object()) {
    r.checkpoints = {integer(c, "per_epoch"),
                     integer(c, "effective_per_epoch"),
                     integer(c, "slot_cap"),
                     integer(c, "kept_every"),
                     integer(c, "evaluated"),
                     boolean(c, "thinned"),
                     boolean(c, "final_state_separate")};
  }
  if (const json& w = at(doc, "work"); w.is_object()) {
    const json& b = at(w, "budget");
    const json& l = at(w, "lost");
    r.work = {BudgetRecord{text(b, "kind"), real(b, "amount"), integer(b, "gradients"),
                           integer(b, "gradients_per_update")},
              integer(w, "gradients"),
              integer(w, "samples"),
              integer(w, "contributed"),
              LostRecord{integer(l, "dropped"), integer(l, "abandoned"),
                         integer(l, "discarded_at_end"), integer(l, "total")},
              real(w, "passes")};
  }
  if (const json& u = at(doc, "updates"); u.is_object()) {
    r.updates = {integer(u, "budget"),  integer(u, "applied"),          integer(u, "computed"),
                 integer(u, "dropped"), integer(u, "discarded_at_end"), integer(u, "per_epoch")};
  }
  if (const json& t = at(doc, "throughput"); t.is_object()) {
    r.throughput = {real(t, "updates_per_second"), real(t, "samples_per_second")};
  }
  if (const json& e = at(doc, "effective_step"); e.is_object()) r.effective_step = e;
  if (const json& s = at(doc, "staleness"); s.is_object()) {
    r.staleness = read_histogram(s);
    for (const json& w : at(s, "per_worker").is_array() ? at(s, "per_worker") : json::array())
      r.staleness_per_worker.push_back(read_histogram(w));
  }
}

void read_costs(RunRecord& r, const json& doc) {
  if (const json& c = at(doc, "contention"); c.is_object()) {
    const json& h = at(c, "failed_attempts_per_update");
    r.contention = {integer(c, "failed_attempts"),
                    integer(c, "failed_tests"),
                    integer(c, "polls"),
                    integer(c, "contended_acquisitions"),
                    h.is_object() ? std::optional(read_histogram(h)) : std::nullopt,
                    real(c, "lock_wait_seconds"),
                    real(c, "backoff_seconds"),
                    integer(c, "dropped_gradients"),
                    integer(c, "peak_live_vectors")};
  }
  if (const json& p = at(doc, "pace"); p.is_object()) {
    r.pace = {text(p, "slowdown"),      text(p, "delay"),
              real(p, "step_decay"),    real(p, "slowdown_seconds"),
              real(p, "delay_seconds"), integers(p, "computed_per_worker"),
              text(p, "comm_delay"),    real(p, "comm_delay_seconds"),
              integer(p, "exchanges")};
  }
  if (const json& s = at(doc, "resources"); s.is_object()) {
    r.resources = {integer(s, "peak_rss_bytes"), integer(s, "shared_bytes"), real(s, "cpu_seconds"),
                   real(s, "cpu_utilisation")};
  }
}

}  // namespace

nlohmann::json build_report(const RunRecord& r) {
  json doc = identity_json(r.data, r.model);
  doc["schema_version"] = kSchemaVersion;
  doc["context"] = r.context;
  doc["argv"] = r.argv;
  doc["config"] = r.config;
  doc["algorithm"] = r.algorithm;
  doc["placement"] = r.placement;
  doc["oversubscribed"] = opt(r.oversubscribed);
  doc["series"] = series_json(r.series);
  doc["status"] = r.status;
  doc["stop_reason"] = opt(r.stop_reason);
  if (r.stopped) {
    doc["stopped"] = {{"signal", r.stopped->signal},
                      {"exit_code", r.stopped->exit_code},
                      {"during", r.stopped->during}};
  }
  doc["metrics"] = metrics_json(r.metrics.value_or(MetricsRecord{}));
  doc["work"] = work_block_json(r.work.value_or(WorkDoneRecord{}));
  doc.update(work_json(r));
  doc["staleness"] = staleness_json(r);
  doc["effective_step"] = r.effective_step;
  doc["contention"] = contention_json(r.contention.value_or(ContentionRecord{}));
  doc["pace"] = pace_json(r.pace.value_or(PaceRecord{}));
  doc["resources"] = resources_json(r.resources.value_or(ResourceRecord{}));
  if (!r.ranks.is_null()) doc["ranks"] = r.ranks;
  // Derived from the record (efficiency.hpp), so never read back; speed_of_light is the run's.
  doc["efficiency"] = efficiency_json(efficiency_of(r));
  doc["speed_of_light"] = r.speed_of_light;
  return doc;
}

RunRecord read_run_record(const nlohmann::json& doc) {
  RunRecord r;
  if (const json& s = at(doc, "status"); s.is_string()) r.status = s.get<std::string>();
  r.stop_reason = text(doc, "stop_reason");
  if (const json& s = at(doc, "stopped"); s.is_object()) {
    // An exit status is 0..255; anything else in a document is no exit code (0: none read).
    const std::int64_t code = integer(s, "exit_code").value_or(0);
    r.stopped = StoppedRecord{text(s, "signal").value_or(""),
                              code >= 0 && code <= 255 ? static_cast<int>(code) : 0,
                              text(s, "during").value_or("")};
  }
  r.context = at(doc, "context");
  r.load_average = load_average_of(r.context);
  r.hardware_threads = hardware_threads_of(r.context);
  r.config = at(doc, "config");
  for (const json& a : at(doc, "argv").is_array() ? at(doc, "argv") : json::array()) {
    if (a.is_string()) r.argv.push_back(a.get<std::string>());
  }
  r.algorithm = at(doc, "algorithm");
  r.placement = at(doc, "placement");
  r.oversubscribed = boolean(doc, "oversubscribed");
  r.ranks = at(doc, "ranks");
  r.speed_of_light = at(doc, "speed_of_light");
  read_identity(r, doc);
  if (const json& m = at(doc, "metrics"); m.is_object()) r.metrics = read_metrics(m);
  read_counters(r, doc);
  read_costs(r, doc);
  return r;
}

std::optional<double> load_average_of(const nlohmann::json& context) {
  const json& load = at(context, "load_avg");
  if (!load.is_array() || load.empty() || !load[0].is_number()) return std::nullopt;
  return load[0].get<double>();
}

std::optional<std::int64_t> hardware_threads_of(const nlohmann::json& context) {
  return integer(context, "hardware_threads");
}

nlohmann::json error_report(const std::string& kind, const std::string& message,
                            const nlohmann::json& config, const std::vector<std::string>& argv) {
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["status"] = "error";
  doc["error"] = {{"kind", kind}, {"message", message}};
  doc["context"] = run_context();
  doc["argv"] = argv;
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

}  // namespace psgd
