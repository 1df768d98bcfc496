// harness/run/run_summary.cpp — the run's summary lines for the terminal, from its record.
#include "harness/run/run_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run/efficiency.hpp"
#include "harness/run/run_progress.hpp"
#include "harness/run/speed_of_light.hpp"

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

void series_row(std::string& out, const SeriesPoint& e, int epoch_decimals) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "  %8s %8s %9s %10s %10s %9s %8s\n", num(e.epoch, epoch_decimals).c_str(),
      num(e.updates, 0).c_str(), num(e.seconds, 3).c_str(), num(e.running_loss, 4).c_str(),
      num(e.train_loss, 4).c_str(), num(e.test_loss, 4).c_str(), num(e.test_accuracy, 4).c_str());
  out += buf;
}

// Decimals enough that no two shown rows of different states read as the same epoch. The budget
// ends at llround(E x N/b) gradients while checkpoint c falls after floor(c x P / K) updates, so
// --epochs 0.5 at N/b = 1875 has its last checkpoint at update 937 and the final state at 938:
// two rows both labelled 0.50 at two decimals (0.4997 and 0.5003 at four).
int epoch_decimals(const std::vector<const SeriesPoint*>& rows) {
  constexpr int kMost = 6;
  for (int d = 2; d < kMost; ++d) {
    bool clash = false;
    for (std::size_t i = 1; i < rows.size() && !clash; ++i) {
      clash = rows[i]->updates != rows[i - 1]->updates &&
              num(rows[i]->epoch, d) == num(rows[i - 1]->epoch, d);
    }
    if (!clash) return d;
  }
  return kMost;
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
  std::vector<const SeriesPoint*> rows;
  for (std::size_t i = 0; i < shown; ++i) {
    rows.push_back(&series[shown < 2 ? i : i * (n - 1) / (shown - 1)]);
  }
  const int decimals = epoch_decimals(rows);
  for (const SeriesPoint* row : rows) series_row(out, *row, decimals);
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

// What `converged` meant for this run: the tightest epsilon target reached. With the default
// targets (relative: 50%, 25%, 20% of the initial train loss) a short run on an easy set gets
// there within half an epoch, which surprised users who read "converged" as "trained out".
void converged_note(std::string& out, const RunRecord& r) {
  if (r.status != "converged" || !r.metrics || r.metrics->epsilon.empty()) return;
  const TargetRecord* tightest = &r.metrics->epsilon.front();
  for (const TargetRecord& t : r.metrics->epsilon) {
    if (t.value && tightest->value && *t.value < *tightest->value) tightest = &t;
  }
  const bool relative = !tightest->label.empty() && tightest->label.back() == '%';
  line(out, "meaning",
       "converged = the train loss reached the tightest --epsilon target, " + tightest->label +
           (relative ? " of its initial value" : "") +
           " (not a trained-out model; set a stricter --epsilon to ask for more)");
}

// Too few snapshots to draw a curve: --checkpoints counts per epoch, so a 0.1-epoch run with
// --checkpoints 20 evaluates 2 snapshots after the initial one.
constexpr std::size_t kFewSnapshots = 3;
void few_snapshots_warning(std::string& out, const RunRecord& r) {
  if (r.series.empty()) return;
  const std::size_t after_start = r.series.size() - 1;
  if (after_start >= kFewSnapshots) return;
  const nlohmann::json k = r.config.is_object() && r.config.contains("checkpoints")
                               ? r.config["checkpoints"]
                               : nlohmann::json(nullptr);
  out += "  warning: only " + std::to_string(after_start) +
         " snapshot(s) after the start: --checkpoints (" + (k.is_null() ? "-" : k.dump()) +
         ") counts per epoch; raise it for a short run\n";
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

std::string run_summary(const RunRecord& r, bool with_header) {
  std::string out;
  if (with_header) {
    const std::string roles =
        r.algorithm.is_object() && r.algorithm.contains("roles") && r.algorithm["roles"].is_string()
            ? r.algorithm["roles"].get<std::string>()
            : "";
    out = header_line(r.setup.algo.value_or("-"), r.model.spec.value_or("-"),
                      r.data.name.value_or("-"), as_written(r.setup.threads), roles,
                      as_written(r.setup.batch), as_written(r.setup.step)) +
          "\n";
  }
  series_lines(out, r.series);
  const std::vector<TargetRecord> none;
  const std::vector<TargetRecord>& eps = r.metrics ? r.metrics->epsilon : none;
  line(out, "status", status_words(r) + (eps.empty() ? "" : " (" + target_list(eps) + ")"));
  if (r.stopped) {
    line(out, "stopped",
         "by " + r.stopped->signal + " during " + r.stopped->during + " (exit " +
             std::to_string(r.stopped->exit_code) + "); the document holds what was measured");
  }
  converged_note(out, r);
  const std::vector<TargetRecord>& acc = r.metrics ? r.metrics->accuracy : none;
  if (!acc.empty()) line(out, "accuracy", "test accuracy " + target_list(acc));
  line(out, "work", work_text(r));
  line(out, "staleness", staleness_text(r));
  line(out, "contention", contention_text(r));
  line(out, "throughput", throughput_text(r));
  line(out, "efficiency", efficiency_text(efficiency_of(r)));
  if (r.speed_of_light.is_object()) line(out, "light", speed_of_light_text(r.speed_of_light));
  few_snapshots_warning(out, r);
  load_warning(out, r);
  return out;
}

}  // namespace psgd
