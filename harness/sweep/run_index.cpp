// harness/sweep/run_index.cpp — index.csv from the typed entries of the result documents.
#include "harness/sweep/run_index.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "harness/cli/atomic_file.hpp"
#include "harness/run/efficiency.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// A value as CSV text, as the document spells it ("0.5", "40", "true"); empty when absent.
template <class T>
std::string cell(const std::optional<T>& v) {
  if (!v) return "";
  if constexpr (std::is_same_v<T, std::string>) {
    return *v;
  } else if constexpr (std::is_same_v<T, double>) {
    return std::isfinite(*v) ? json(*v).dump() : "";
  } else {
    return json(*v).dump();
  }
}

// block->*field as CSV text; empty when the document has no such block.
template <class B, class T>
std::string cell(const std::optional<B>& block, std::optional<T> B::*field) {
  return block ? cell((*block).*field) : "";
}

// A column of the index and how its cell is read from an entry.
struct Column {
  const char* name;
  std::string (*value)(const IndexEntry&);
};
using E = const IndexEntry&;

// Before the epsilon columns.
constexpr Column kLeadColumns[] = {
    {"status", [](E e) { return e.run.status; }},
    {"stop_reason", [](E e) { return cell(e.run.stop_reason); }},
    {"crash", [](E e) { return cell(e.crash.kind); }},
    {"exit_code", [](E e) { return cell(e.crash.exit_code); }},
    {"signal", [](E e) { return cell(e.crash.signal_name); }},
    {"run_seconds", [](E e) { return cell(e.run_seconds); }},
    {"wall_seconds", [](E e) { return cell(e.run.metrics, &MetricsRecord::wall_seconds); }},
    {"initial_train_loss",
     [](E e) { return cell(e.run.metrics, &MetricsRecord::initial_train_loss); }},
    {"final_train_loss", [](E e) { return cell(e.run.metrics, &MetricsRecord::final_train_loss); }},
    {"final_test_loss", [](E e) { return cell(e.run.metrics, &MetricsRecord::final_test_loss); }},
    {"final_test_accuracy",
     [](E e) { return cell(e.run.metrics, &MetricsRecord::final_test_accuracy); }},
};

// The mean of the document's contention.failed_attempts_per_update histogram (named for what it
// is: before schema 3 the column was failed_attempts_per_update, like the histogram).
std::string failed_attempts_per_update_mean(E e) {
  const auto& c = e.run.contention;
  return c ? cell(c->failed_attempts_per_update, &HistogramRecord::mean) : "";
}

// After the epsilon columns.
constexpr Column kTailColumns[] = {
    {"updates_applied", [](E e) { return cell(e.run.updates, &WorkRecord::applied); }},
    {"updates_computed", [](E e) { return cell(e.run.updates, &WorkRecord::computed); }},
    {"updates_dropped", [](E e) { return cell(e.run.updates, &WorkRecord::dropped); }},
    {"updates_per_second",
     [](E e) { return cell(e.run.throughput, &ThroughputRecord::updates_per_second); }},
    {"samples_per_second",
     [](E e) { return cell(e.run.throughput, &ThroughputRecord::samples_per_second); }},
    {"staleness_mean", [](E e) { return cell(e.run.staleness, &HistogramRecord::mean); }},
    {"staleness_p50", [](E e) { return cell(e.run.staleness, &HistogramRecord::p50); }},
    {"staleness_p99", [](E e) { return cell(e.run.staleness, &HistogramRecord::p99); }},
    {"staleness_max", [](E e) { return cell(e.run.staleness, &HistogramRecord::max); }},
    {"failed_attempts",
     [](E e) { return cell(e.run.contention, &ContentionRecord::failed_attempts); }},
    {"failed_attempts_per_update_mean", failed_attempts_per_update_mean},
    {"lock_wait_seconds",
     [](E e) { return cell(e.run.contention, &ContentionRecord::lock_wait_seconds); }},
    {"backoff_seconds",
     [](E e) { return cell(e.run.contention, &ContentionRecord::backoff_seconds); }},
    {"dropped_gradients",
     [](E e) { return cell(e.run.contention, &ContentionRecord::dropped_gradients); }},
    {"peak_rss_bytes", [](E e) { return cell(e.run.resources, &ResourceRecord::peak_rss_bytes); }},
    {"cpu_utilisation",
     [](E e) { return cell(e.run.resources, &ResourceRecord::cpu_utilisation); }},
    {"oversubscribed", [](E e) { return cell(e.run.oversubscribed); }},
};

std::string lost_fraction(E e) { return e.run.work ? cell(e.run.work->lost_fraction()) : ""; }

// The work block (schema 2), after `file`.
constexpr Column kWorkColumns[] = {
    {"passes", [](E e) { return cell(e.run.work, &WorkDoneRecord::passes); }},
    {"lost_fraction", lost_fraction},
    {"gradients", [](E e) { return cell(e.run.work, &WorkDoneRecord::gradients); }},
};

// Every cell an entry has, by column name; the per-target columns in the entry's target order.
std::vector<std::pair<std::string, std::string>> cells_of(const IndexEntry& e) {
  std::vector<std::pair<std::string, std::string>> cells;
  for (const Column& c : kLeadColumns) cells.emplace_back(c.name, c.value(e));
  for (const Column& c : kTailColumns) cells.emplace_back(c.name, c.value(e));
  for (const Column& c : kWorkColumns) cells.emplace_back(c.name, c.value(e));
  // The efficiency split (harness/run/efficiency.hpp), derived from the record as the run does.
  const EfficiencyRecord split = efficiency_of(e.run);
  cells.emplace_back("seconds_per_pass", cell(split.seconds_per_pass));
  for (const TargetPasses& t : split.epsilon)
    cells.emplace_back("passes_to_epsilon_" + epsilon_column_suffix(t.label), cell(t.passes));
  for (const TargetPasses& t : split.accuracy)
    cells.emplace_back("passes_to_accuracy_" + epsilon_column_suffix(t.label), cell(t.passes));
  if (!e.run.metrics) return cells;
  const MetricsRecord& m = *e.run.metrics;
  for (const TargetRecord& t : m.epsilon) {
    const std::string suffix = epsilon_column_suffix(t.label);
    cells.emplace_back("time_to_epsilon_" + suffix, cell(t.seconds));
    cells.emplace_back("updates_to_epsilon_" + suffix, cell(t.updates));
    cells.emplace_back("epsilon_reached_" + suffix, cell(t.reached));
  }
  cells.emplace_back("epsilon_targets_reached", cell(m.epsilon_targets_reached));
  for (const TargetRecord& t : m.accuracy) {
    cells.emplace_back("time_to_accuracy_" + epsilon_column_suffix(t.label), cell(t.seconds));
    cells.emplace_back("updates_to_accuracy_" + epsilon_column_suffix(t.label), cell(t.updates));
  }
  return cells;
}

// The epsilon and accuracy labels of an entry, in its order.
std::vector<std::string> labels_of(const std::vector<TargetRecord>& targets) {
  std::vector<std::string> labels;
  for (const TargetRecord& t : targets) labels.push_back(t.label);
  return labels;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (const char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';  // not `"," + csv_quote(..)`: GCC 12's false -Wrestrict at -O3
    line += csv_quote(cells[i]);
  }
  return line + "\n";
}

}  // namespace

IndexEntry read_index_entry(const json& doc) {
  return {read_run_record(doc), read_crash(doc), recorded_run_seconds(doc)};
}

std::string epsilon_column_suffix(const std::string& label) {
  std::string out;
  for (const char ch : label) {
    if (ch == '%') {
      out += "pct";
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '.') {
      out += ch;
    } else {
      out += '_';
    }
  }
  return out;
}

std::vector<std::string> index_header(const SweepSpec& spec,
                                      const std::vector<std::string>& epsilon_labels,
                                      const std::vector<std::string>& accuracy_labels) {
  std::vector<std::string> h = {"run_id", "point_id", "repetition", "seed"};
  for (const std::string& option : index_option_columns(spec)) h.push_back(option);
  for (const Column& c : kLeadColumns) h.emplace_back(c.name);
  for (const std::string& label : epsilon_labels)
    h.push_back("time_to_epsilon_" + epsilon_column_suffix(label));
  for (const std::string& label : epsilon_labels)
    h.push_back("updates_to_epsilon_" + epsilon_column_suffix(label));
  for (const Column& c : kTailColumns) h.emplace_back(c.name);
  h.emplace_back("file");
  // Appended after `file`, so the columns before keep their places.
  for (const Column& c : kWorkColumns) h.emplace_back(c.name);
  h.emplace_back("epsilon_targets_reached");
  for (const std::string& label : epsilon_labels)
    h.push_back("epsilon_reached_" + epsilon_column_suffix(label));
  for (const std::string& label : accuracy_labels)
    h.push_back("time_to_accuracy_" + epsilon_column_suffix(label));
  for (const std::string& label : accuracy_labels)
    h.push_back("updates_to_accuracy_" + epsilon_column_suffix(label));
  // The efficiency split (issue #27), appended last for the same reason.
  h.emplace_back("seconds_per_pass");
  for (const std::string& label : epsilon_labels)
    h.push_back("passes_to_epsilon_" + epsilon_column_suffix(label));
  for (const std::string& label : accuracy_labels)
    h.push_back("passes_to_accuracy_" + epsilon_column_suffix(label));
  return h;
}

void write_index(const std::string& path, const SweepSpec& spec,
                 const std::vector<PlannedRun>& runs,
                 const std::vector<std::optional<IndexEntry>>& entries) {
  std::vector<std::string> labels;
  std::vector<std::string> accuracy_labels;
  auto add_new = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
    for (const std::string& l : from) {
      if (std::find(to.begin(), to.end(), l) == to.end()) to.push_back(l);
    }
  };
  for (const auto& e : entries) {
    if (!e || !e->run.metrics) continue;
    add_new(labels, labels_of(e->run.metrics->epsilon));
    add_new(accuracy_labels, labels_of(e->run.metrics->accuracy));
  }
  const std::vector<std::string> header = index_header(spec, labels, accuracy_labels);
  const std::vector<std::string> options = index_option_columns(spec);
  std::string text = csv_line(header);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!entries[i]) continue;
    const PlannedRun& run = runs[i];
    std::vector<std::string> row = {run.run_id, run.point_id, std::to_string(run.repetition),
                                    std::to_string(run.seed)};
    for (const std::string& o : options) row.push_back(option_text(run, o));
    // Metric columns by name: a document without a field (a crashed run) leaves the cell empty.
    const std::vector<std::pair<std::string, std::string>> cells = cells_of(*entries[i]);
    for (std::size_t c = row.size(); c < header.size(); ++c) {
      std::string text_of_cell = header[c] == "file" ? run.run_id + ".json" : "";
      for (const auto& [column, value] : cells) {
        if (column == header[c]) {
          text_of_cell = value;
          break;
        }
      }
      row.push_back(text_of_cell);
    }
    text += csv_line(row);
  }
  write_text_atomically(path, text);
}

}  // namespace psgd
