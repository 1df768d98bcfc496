// harness/run/run_summary.cpp — the run's summary lines for the terminal.
#include "harness/run/run_summary.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace psgd {
namespace {

using nlohmann::json;

// The value at a JSON pointer, or null when the document lacks it.
const json& at(const json& doc, const char* pointer) {
  static const json null_json = nullptr;
  const json::json_pointer p(pointer);
  return doc.contains(p) ? doc.at(p) : null_json;
}

// A string without its JSON quotes; anything else as JSON.
std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string num(const json& v, int precision) {
  if (!v.is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v.get<double>());
  return buf;
}

// (label, time) of a metrics map of targets, ordered by `order` (the target values): the JSON
// object itself is alphabetical, which puts "5%" after "25%".
std::vector<std::pair<std::string, json>> ordered_targets(const json& times, const json& values,
                                                          bool loosest_first_descending) {
  std::vector<std::pair<std::string, json>> out;
  if (!times.is_object()) return out;
  for (const auto& [label, t] : times.items()) out.emplace_back(label, t);
  auto value = [&](const std::string& l) {
    return values.is_object() && values.contains(l) && values[l].is_number()
               ? values[l].get<double>()
               : 0.0;
  };
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return loosest_first_descending ? value(a.first) > value(b.first)
                                    : value(a.first) < value(b.first);
  });
  return out;
}

std::string target_list(const std::vector<std::pair<std::string, json>>& targets) {
  std::string s;
  for (const auto& [label, seconds] : targets) {
    s += (s.empty() ? "" : ", ") + label +
         (seconds.is_number() ? " at " + num(seconds, 3) + " s" : " not reached");
  }
  return s;
}

void line(std::string& out, const char* label, const std::string& text) {
  char head[32];
  std::snprintf(head, sizeof head, "  %-11s ", label);
  out += head + text + "\n";
}

void series_lines(std::string& out, const json& doc) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %8s %8s %9s %10s %10s %9s %8s\n", "epoch", "updates", "seconds",
                "run_loss", "train_loss", "test_loss", "test_acc");
  out += buf;
  const json& series = at(doc, "/series");
  if (!series.is_array()) return;
  // At most kSummaryRows rows, evenly spaced, first and last included: a time-limited run of a
  // tiny model can store 65,536 snapshots, and a screenful says as much as the JSON's series.
  constexpr std::size_t kSummaryRows = 24;
  const std::size_t n = series.size();
  const std::size_t shown = std::min(n, kSummaryRows);
  for (std::size_t i = 0; i < shown; ++i) {
    const json& e = series[shown < 2 ? i : i * (n - 1) / (shown - 1)];
    std::snprintf(buf, sizeof buf, "  %8s %8s %9s %10s %10s %9s %8s\n",
                  num(at(e, "/epoch"), 2).c_str(), num(at(e, "/updates"), 0).c_str(),
                  num(at(e, "/seconds"), 3).c_str(), num(at(e, "/running_loss"), 4).c_str(),
                  num(at(e, "/train_loss"), 4).c_str(), num(at(e, "/test_loss"), 4).c_str(),
                  num(at(e, "/test_accuracy"), 4).c_str());
    out += buf;
  }
  if (shown < n) {
    std::snprintf(buf, sizeof buf, "  (%zu of %zu snapshots shown; all are in the JSON)\n", shown,
                  n);
    out += buf;
  }
}

// The warning when the 1-minute load average at the end of the run exceeds the hardware threads:
// other processes then shared the cores and every timing of the run is inflated.
void load_warning(std::string& out, const json& doc) {
  const json& load = at(doc, "/context/load_avg");
  const json& threads = at(doc, "/context/hardware_threads");
  if (!load.is_array() || load.empty() || !load[0].is_number() || !threads.is_number()) return;
  if (load[0].get<double>() <= threads.get<double>()) return;
  out += "  warning: load average " + num(load[0], 2) + " at the end of the run, above the " +
         num(threads, 0) + " hardware threads: other work shared the cores (timings inflated)\n";
}

}  // namespace

std::string status_words(const json& doc) {
  const std::string status =
      at(doc, "/status").is_string() ? doc["status"].get<std::string>() : "-";
  const json& reached = at(doc, "/metrics/epsilon_reached");
  if (!reached.is_object() || reached.empty() || status == "diverged") return status;
  const auto n = reached.size();
  const auto k = static_cast<std::size_t>(
      std::count_if(reached.begin(), reached.end(), [](const json& r) { return r == true; }));
  if (k == n) return status + ": all " + std::to_string(n) + " epsilon targets reached";
  return status + ": " + std::to_string(k) + " of " + std::to_string(n) +
         " epsilon targets reached";
}

std::string run_summary(const json& doc) {
  std::string out;
  char head[256];
  std::snprintf(head, sizeof head, "psgd run: %s, %s on %s, %s thread(s), batch %s, step %s\n",
                text(at(doc, "/config/algo")).c_str(), text(at(doc, "/model/spec")).c_str(),
                text(at(doc, "/data/name")).c_str(), text(at(doc, "/config/threads")).c_str(),
                text(at(doc, "/config/batch")).c_str(), text(at(doc, "/config/step")).c_str());
  out += head;
  series_lines(out, doc);
  const json& m = at(doc, "/metrics");
  const auto eps = ordered_targets(at(m, "/time_to_epsilon"), at(m, "/epsilon_targets"), true);
  line(out, "status", status_words(doc) + (eps.empty() ? "" : " (" + target_list(eps) + ")"));
  const auto acc = ordered_targets(at(m, "/time_to_accuracy"), at(m, "/accuracy_targets"), false);
  if (!acc.empty()) line(out, "accuracy", "test accuracy " + target_list(acc));
  line(out, "staleness",
       "mean " + num(at(doc, "/staleness/mean"), 2) + ", p99 " +
           (at(doc, "/staleness/p99").is_null() ? "in the overflow bin"
                                                : num(at(doc, "/staleness/p99"), 0)) +
           ", max " + num(at(doc, "/staleness/max"), 0) + " (updates between read and apply)");
  const json& live = at(doc, "/contention/peak_live_vectors");
  line(out, "contention",
       num(at(doc, "/contention/failed_attempts_per_update/mean"), 3) +
           " failed attempts per update, " + num(at(doc, "/contention/dropped_gradients"), 0) +
           " dropped gradients" +
           (live.is_number() ? ", peak " + num(live, 0) + " live vectors" : ""));
  line(out, "throughput",
       num(at(doc, "/throughput/samples_per_second"), 0) + " samples/s, " +
           num(at(doc, "/metrics/wall_seconds"), 3) + " s, peak RSS " +
           (at(doc, "/resources/peak_rss_bytes").is_number()
                ? num(json(at(doc, "/resources/peak_rss_bytes").get<double>() / 1048576.0), 0)
                : std::string("-")) +
           " MiB");
  load_warning(out, doc);
  return out;
}

}  // namespace psgd
