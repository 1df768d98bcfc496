// harness/run/run_summary.cpp — the run's summary lines for the terminal, from its record.
#include "harness/run/run_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace psgd {
namespace {

// A number with `precision` decimals, "-" when the record lacks it or it is not finite.
template <class T>
std::string num(const std::optional<T>& v, int precision) {
  if (!v || !std::isfinite(static_cast<double>(*v))) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, static_cast<double>(*v));
  return buf;
}

// A value as the document spells it (0.05, not 0.050000), "-" when absent.
template <class T>
std::string as_written(const std::optional<T>& v) {
  return v ? nlohmann::json(*v).dump() : "-";
}

std::string target_list(const std::vector<TargetRecord>& targets) {
  std::string s;
  for (const TargetRecord& t : targets) {
    s += (s.empty() ? "" : ", ") + t.label +
         (t.seconds ? " at " + num(t.seconds, 3) + " s" : " not reached");
  }
  return s;
}

void line(std::string& out, const char* label, const std::string& text) {
  char head[32];
  std::snprintf(head, sizeof head, "  %-11s ", label);
  out += head + text + "\n";
}

void series_row(std::string& out, const SeriesPoint& e) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %8s %8s %9s %10s %10s %9s %8s\n", num(e.epoch, 2).c_str(),
                num(e.updates, 0).c_str(), num(e.seconds, 3).c_str(),
                num(e.running_loss, 4).c_str(), num(e.train_loss, 4).c_str(),
                num(e.test_loss, 4).c_str(), num(e.test_accuracy, 4).c_str());
  out += buf;
}

void series_lines(std::string& out, const std::vector<SeriesPoint>& series) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %8s %8s %9s %10s %10s %9s %8s\n", "epoch", "updates", "seconds",
                "run_loss", "train_loss", "test_loss", "test_acc");
  out += buf;
  // At most kSummaryRows rows, evenly spaced, first and last included: a time-limited run of a
  // tiny model can store 65,536 snapshots, and a screenful says as much as the JSON's series.
  constexpr std::size_t kSummaryRows = 24;
  const std::size_t n = series.size();
  const std::size_t shown = std::min(n, kSummaryRows);
  for (std::size_t i = 0; i < shown; ++i) {
    series_row(out, series[shown < 2 ? i : i * (n - 1) / (shown - 1)]);
  }
  if (shown < n) {
    std::snprintf(buf, sizeof buf, "  (%zu of %zu snapshots shown; all are in the JSON)\n", shown,
                  n);
    out += buf;
  }
}

// The warning when the 1-minute load average at the end of the run exceeds the hardware threads:
// other processes then shared the cores and every timing of the run is inflated.
void load_warning(std::string& out, const RunRecord& r) {
  if (!r.load_average || !r.hardware_threads) return;
  if (*r.load_average <= static_cast<double>(*r.hardware_threads)) return;
  out += "  warning: load average " + num(r.load_average, 2) +
         " at the end of the run, above the " + num(r.hardware_threads, 0) +
         " hardware threads: other work shared the cores (timings inflated)\n";
}

std::string staleness_text(const RunRecord& r) {
  const HistogramRecord s = r.staleness.value_or(HistogramRecord{});
  return "mean " + num(s.mean, 2) + ", p99 " + (s.p99 ? num(s.p99, 0) : "in the overflow bin") +
         ", max " + num(s.max, 0) + " (updates between read and apply)";
}

std::string contention_text(const RunRecord& r) {
  const ContentionRecord c = r.contention.value_or(ContentionRecord{});
  const std::optional<double> per_update =
      c.failed_attempts_per_update ? c.failed_attempts_per_update->mean : std::nullopt;
  return num(per_update, 3) + " failed attempts per update, " + num(c.dropped_gradients, 0) +
         " dropped gradients" +
         (c.peak_live_vectors ? ", peak " + num(c.peak_live_vectors, 0) + " live vectors" : "");
}

// Passes over the data and the share of the computed gradients that never reached the model.
std::string work_text(const RunRecord& r) {
  const WorkDoneRecord w = r.work.value_or(WorkDoneRecord{});
  const std::optional<double> lost = w.lost_fraction();
  const LostRecord l = w.lost.value_or(LostRecord{});
  return num(w.passes, 2) + " passes, " + num(w.gradients, 0) + " gradients, " +
         num(lost ? std::optional<double>(*lost * 100.0) : std::nullopt, 1) + "% lost (" +
         num(l.dropped, 0) + " dropped, " + num(l.abandoned, 0) + " abandoned, " +
         num(l.discarded_at_end, 0) + " discarded at the end)";
}

std::string throughput_text(const RunRecord& r) {
  const ThroughputRecord t = r.throughput.value_or(ThroughputRecord{});
  const std::optional<double> wall = r.metrics ? r.metrics->wall_seconds : std::nullopt;
  std::optional<double> rss_mib;
  if (r.resources && r.resources->peak_rss_bytes) {
    rss_mib = static_cast<double>(*r.resources->peak_rss_bytes) / 1048576.0;
  }
  return num(t.samples_per_second, 0) + " samples/s, " + num(wall, 3) + " s, peak RSS " +
         num(rss_mib, 0) + " MiB";
}

}  // namespace

std::string status_words(const RunRecord& r) {
  const std::string status = r.status.empty() ? "-" : r.status;
  if (!r.metrics || status == "diverged") return status;
  std::size_t n = 0;
  std::size_t k = 0;
  for (const TargetRecord& t : r.metrics->epsilon) {
    n += t.reached.has_value() ? 1 : 0;
    k += t.reached.value_or(false) ? 1 : 0;
  }
  if (n == 0) return status;
  if (k == n) return status + ": all " + std::to_string(n) + " epsilon targets reached";
  return status + ": " + std::to_string(k) + " of " + std::to_string(n) +
         " epsilon targets reached";
}

std::string run_summary(const RunRecord& r) {
  std::string out = "psgd run: " + r.setup.algo.value_or("-") + ", " + r.model.spec.value_or("-") +
                    " on " + r.data.name.value_or("-") + ", " + as_written(r.setup.threads) +
                    " thread(s), batch " + as_written(r.setup.batch) + ", step " +
                    as_written(r.setup.step) + "\n";
  series_lines(out, r.series);
  const std::vector<TargetRecord> none;
  const std::vector<TargetRecord>& eps = r.metrics ? r.metrics->epsilon : none;
  line(out, "status", status_words(r) + (eps.empty() ? "" : " (" + target_list(eps) + ")"));
  const std::vector<TargetRecord>& acc = r.metrics ? r.metrics->accuracy : none;
  if (!acc.empty()) line(out, "accuracy", "test accuracy " + target_list(acc));
  line(out, "work", work_text(r));
  line(out, "staleness", staleness_text(r));
  line(out, "contention", contention_text(r));
  line(out, "throughput", throughput_text(r));
  load_warning(out, r);
  return out;
}

}  // namespace psgd
