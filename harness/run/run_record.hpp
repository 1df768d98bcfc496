// harness/run/run_record.hpp — what one run measured, as typed values: the record the JSON
// document (report.hpp), the terminal summary (run_summary.hpp) and a sweep's index.csv are each
// written from. A run builds it once from the runner's outcome and the evaluation
// (make_run_record); a sweep, which only has the documents its children wrote, reads it back
// (read_run_record in report.hpp, beside the writer, so every key of the document is spelled in
// one file).
//
// A value a document may lack or hold as null (a crashed run's document, an older one, a loss
// that was not finite) is an optional: absent prints as an empty cell or "-", never as 0. The
// blocks that belong to another part of the program stay JSON: the config (run_config.hpp's
// writer), the context (build_info.hpp), the placement (placement.hpp) and the algorithm's own
// report().
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/runner.hpp"
#include "harness/run/evaluation.hpp"
#include "harness/run/run_config.hpp"

namespace psgd {

// A histogram of per-update counts (staleness, failed attempts per update).
struct HistogramRecord {
  std::optional<std::int64_t> count;
  std::optional<double> mean;
  std::optional<std::int64_t> max;
  std::optional<std::int64_t> p50;  // nullopt also when it lies in the overflow bin
  std::optional<std::int64_t> p99;
  std::vector<std::int64_t> histogram;  // exact bins 0.., trailing zeros trimmed
  std::optional<std::int64_t> bins;
  std::optional<std::int64_t> overflow;
  std::optional<std::int64_t> worker;  // per-worker entries only
};

// One evaluated snapshot of the series.
struct SeriesPoint {
  std::optional<std::int64_t> updates;
  std::optional<double> epoch;
  std::optional<double> seconds;
  std::optional<double> running_loss;  // nullopt before the first update
  std::optional<double> train_loss;
  std::optional<double> test_loss;
  std::optional<double> test_accuracy;
};

// An epsilon (train loss) or test-accuracy target and when it was reached.
struct TargetRecord {
  std::string label;                    // "50%", "0.3", "85%"
  std::optional<double> value;          // the loss or accuracy to reach
  std::optional<double> seconds;        // nullopt: not reached
  std::optional<std::int64_t> updates;  // likewise
  std::optional<bool> reached;          // epsilon targets only (documents before it lack it)
};

// The options the summary's first line names (the whole config is RunRecord::config).
struct RunSetup {
  std::optional<std::string> algo;
  std::optional<std::int64_t> threads;
  std::optional<std::int64_t> batch;
  std::optional<double> step;
};

struct DataRecord {
  std::optional<std::string> name, source, pixel_scale;
  std::optional<std::int64_t> train_samples, test_samples, classes;
  std::vector<std::int64_t> shape;  // [C, H, W]
};

struct ModelRecord {
  std::optional<std::string> spec, activation, init, dtype;
  std::optional<std::int64_t> params;
};

struct MetricsRecord {
  std::optional<double> initial_train_loss, final_train_loss, final_test_loss;
  std::optional<double> final_test_accuracy, wall_seconds;
  std::vector<TargetRecord> epsilon;  // loosest first (target_order)
  std::optional<std::int64_t> epsilon_targets_reached;
  std::vector<TargetRecord> accuracy;  // lowest first
};

// How the snapshots were kept: every checkpoint, or every kept_every-th once a long run ran out of
// slots (thinned); final_state_separate when the final state was not itself a kept checkpoint.
struct CheckpointRecord {
  std::optional<std::int64_t> per_epoch, effective_per_epoch, slot_cap, kept_every, evaluated;
  std::optional<bool> thinned, final_state_separate;
};

struct WorkRecord {
  std::optional<std::int64_t> budget, applied, computed, dropped, discarded_at_end, per_epoch;
};

// What the run was budgeted (harness/run/run_command.cpp plan_budget).
struct BudgetRecord {
  std::optional<std::string> kind;  // epochs | gradients | updates | time
  std::optional<double> amount;     // E, G, U or the time limit's seconds
  // The gradient budget of an epochs or gradients budget (nullopt for the others), and the
  // gradients an update nominally costs (the method's entry: W for the round-based methods).
  std::optional<std::int64_t> gradients, gradients_per_update;
};

// Computed gradients that never reached the shared model, by cause (WorkerStats).
struct LostRecord {
  std::optional<std::int64_t> dropped, abandoned, discarded_at_end, total;
};

// The work block: the gradients all workers computed and where they went, counted the same way
// for every method (algorithms/algorithm.hpp: computed = contributed + dropped + abandoned +
// discarded_at_end, each term counted by the workers, contributed included).
struct WorkDoneRecord {
  std::optional<BudgetRecord> budget;
  std::optional<std::int64_t> gradients, samples, contributed;
  std::optional<LostRecord> lost;
  std::optional<double> passes;  // samples / training-set size

  // lost.total / gradients; nullopt when either is unknown or nothing was computed.
  [[nodiscard]] std::optional<double> lost_fraction() const;
};

struct ThroughputRecord {
  std::optional<double> updates_per_second;  // applied updates per second of the timed loop
  std::optional<double> samples_per_second;  // gradient samples computed per second
};

struct ContentionRecord {
  std::optional<std::int64_t> failed_attempts, failed_tests, polls, contended_acquisitions;
  std::optional<HistogramRecord> failed_attempts_per_update;
  std::optional<double> lock_wait_seconds, backoff_seconds;
  std::optional<std::int64_t> dropped_gradients;
  std::optional<std::int64_t> peak_live_vectors;  // Leashed's pool; null for the others
};

struct PaceRecord {
  std::optional<std::string> slowdown, delay;
  std::optional<double> step_decay, slowdown_seconds, delay_seconds;
  std::vector<std::int64_t> computed_per_worker;
  // --comm-delay: the spec, its waits, and the exchanges charged (every method counts them).
  std::optional<std::string> comm_delay;
  std::optional<double> comm_delay_seconds;
  std::optional<std::int64_t> exchanges;
};

struct ResourceRecord {
  std::optional<std::int64_t> peak_rss_bytes, shared_bytes;
  std::optional<double> cpu_seconds, cpu_utilisation;
};

// A run that SIGINT or SIGTERM stopped (mark_stopped): the document's `stopped` block.
struct StoppedRecord {
  std::string signal;  // SIGINT | SIGTERM
  int exit_code = 0;   // 128 + the signal's number: 130 | 143
  std::string during;  // training (the workers stopped early) | evaluation (training had ended)
};

struct RunRecord {
  // converged | not_converged | diverged | stopped (a signal; a sweep adds crashed, invalid)
  std::string status;
  std::optional<std::string> stop_reason;
  std::optional<StoppedRecord> stopped;
  nlohmann::json context;         // run_context(); null when the document lacks it
  nlohmann::json config;          // config_to_json()
  std::vector<std::string> argv;  // `psgd run` and its arguments (empty before schema 3)
  nlohmann::json algorithm;       // name and the algorithm's own report()
  nlohmann::json placement;       // planned / observed, or null
  RunSetup setup;
  std::optional<double> load_average;            // 1-minute, at the end (context.load_avg[0])
  std::optional<std::int64_t> hardware_threads;  // context.hardware_threads
  DataRecord data;
  ModelRecord model;
  std::optional<bool> oversubscribed;
  std::vector<SeriesPoint> series;
  std::optional<MetricsRecord> metrics;
  std::optional<CheckpointRecord> checkpoints;
  std::optional<WorkDoneRecord> work;
  std::optional<WorkRecord> updates;
  std::optional<ThroughputRecord> throughput;
  std::optional<HistogramRecord> staleness;
  std::vector<HistogramRecord> staleness_per_worker;
  // --step-rule's effective steps (effective_step_json); null for a method without step rules.
  nlohmann::json effective_step;
  std::optional<ContentionRecord> contention;
  std::optional<PaceRecord> pace;
  std::optional<ResourceRecord> resources;
  // --backend mpi: one object per rank (harness/run/ranks.hpp); null for one process, and then
  // absent from the document.
  nlohmann::json ranks;
  // Against the machine's measured limits (harness/run/speed_of_light.hpp); null in a document
  // written before it.
  nlohmann::json speed_of_light;
};

// What the run command knows once training and evaluation are done: the inputs of
// make_run_record. S: the run's scalar type (--precision); instantiated for float and double.
template <class S>
struct RunFacts {
  const RunConfig* config = nullptr;
  DataRecord data;
  ModelRecord model;
  nlohmann::json algorithm;                       // the algorithm's own report(), with its name
  std::optional<std::int64_t> peak_live_vectors;  // Algorithm::peak_live_vectors()
  nlohmann::json placement;                       // planned / observed, or null
  std::int64_t updates_per_epoch = 1;
  std::int64_t total_updates = 0;
  BudgetRecord budget;
  bool oversubscribed = false;
  const BasicTrainingOutcome<S>* outcome = nullptr;
  std::vector<std::size_t> slots;  // checkpoint slots evaluated, in order
  std::vector<EvalPoint> points;   // one per slot
  // Bytes the algorithm allocated through its SharedMemory and still held after the run (the
  // shared parameters, Leashed's whole pool, sync's gradient slots): what every method pays in
  // shared storage, measured the same way for all of them.
  std::int64_t shared_bytes = 0;
};

// The record of a finished run: its outcome judged (run_outcome.hpp), the workers' counters
// merged, the context and peak RSS taken now.
template <class S>
RunRecord make_run_record(const RunFacts<S>& facts);

// Puts targets in the order they are read: epsilon targets loosest (largest loss) first,
// accuracy targets lowest first; ties keep the labels' alphabetical order (the order of the
// document's JSON objects), so a run and a document read back list them alike.
void order_targets(MetricsRecord& metrics);

// The signal that stopped the run (stop_signals.hpp) and when. During training (stop_reason
// `signal`: the workers stopped early) the status becomes `stopped`: the run measured part of its
// budget. During the evaluation, training had ended on its own and every snapshot is still
// evaluated, so the run is complete and keeps its status; the `stopped` block says the signal
// came. What the run measured (series, metrics, work) stays as it is.
void mark_stopped(RunRecord& record, int signal);

// Peak resident set size of this process in bytes.
std::int64_t peak_rss_bytes();

}  // namespace psgd
