// harness/run/efficiency.hpp — a run's time to a target split into statistical efficiency
// (passes over the training data to reach it) and hardware efficiency (seconds per pass), as
// DimmWitted reports them (Zhang and Ré, "DimmWitted: A Study of Main-Memory Statistical
// Analytics", VLDB 2014): time to accuracy = passes to accuracy x seconds per pass, so a reader
// sees whether a method wins by needing fewer passes or by making each pass cheaper.
//
// A pure function of the run's record (its series, targets and wall seconds), so a sweep derives
// the same values from any document it reads back, older ones included, and the document's
// `efficiency` block is written from it (report.cpp), never read back.
//
// The unit of a pass is the series' `epoch`: applied updates / updates per epoch, which is
// computed gradients x b / N for the methods whose update is one gradient and one round of W
// gradients for the round-based ones (docs/run-document.md, `updates.per_epoch`).
//
// The identity: passes_to_target is the epoch of the snapshot that first reached the target, the
// same snapshot whose seconds are time_to_target, so time_to_target = passes_to_target x (the
// seconds per pass up to that snapshot). seconds_per_pass is the whole run's (wall seconds /
// passes done); the two agree where the run's pace is steady, and a target is only known at
// checkpoint granularity (1 / --checkpoints of a pass), in both time and passes alike.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/run_record.hpp"

namespace psgd {

struct TargetPasses {
  std::string label;             // as the metrics block spells it: "50%", "0.3", "85%"
  std::optional<double> passes;  // nullopt: not reached (or the document lacks the series)
};

struct EfficiencyRecord {
  std::vector<TargetPasses> epsilon;       // in the order of MetricsRecord::epsilon
  std::vector<TargetPasses> accuracy;      // in the order of MetricsRecord::accuracy
  std::optional<double> passes;            // passes done: the final snapshot's epoch
  std::optional<double> seconds_per_pass;  // metrics.wall_seconds / passes; nullopt at 0 passes
};

// The split of a run's record. Never throws; what the record lacks stays nullopt.
EfficiencyRecord efficiency_of(const RunRecord& record);

// The document's `efficiency` block: passes_to_target {epsilon: {label: passes or null},
// accuracy: {...}}, passes, seconds_per_pass (null when not finite).
nlohmann::json efficiency_json(const EfficiencyRecord& efficiency);

// The summary's line: "0.41 passes to 50%, 1.20 to 25% (statistical); 0.93 s per pass
// (hardware)"; "-" for a target not reached.
std::string efficiency_text(const EfficiencyRecord& efficiency);

}  // namespace psgd
