// harness/run/efficiency.cpp — passes to each target and seconds per pass (efficiency.hpp).
#include "harness/run/efficiency.hpp"

#include <cmath>
#include <cstdio>

namespace psgd {
namespace {

// The epoch of the first snapshot of `series` at `updates` (the one that reached the target:
// run_outcome.cpp takes the first snapshot at or past a target, and no two snapshots share an
// update count).
std::optional<double> epoch_at(const std::vector<SeriesPoint>& series,
                               const std::optional<std::int64_t>& updates) {
  if (!updates) return std::nullopt;
  for (const SeriesPoint& p : series) {
    if (p.updates == updates) return p.epoch;
  }
  return std::nullopt;
}

std::vector<TargetPasses> passes_to(const std::vector<TargetRecord>& targets,
                                    const std::vector<SeriesPoint>& series) {
  std::vector<TargetPasses> out;
  for (const TargetRecord& t : targets) {
    // A target's seconds say whether it was reached (reached is absent for accuracy targets).
    out.push_back({t.label, t.seconds ? epoch_at(series, t.updates) : std::nullopt});
  }
  return out;
}

nlohmann::json finite_or_null(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json passes_map(const std::vector<TargetPasses>& targets) {
  nlohmann::json m = nlohmann::json::object();
  for (const TargetPasses& t : targets) m[t.label] = finite_or_null(t.passes);
  return m;
}

std::string passes_text(const std::optional<double>& v, int decimals) {
  if (!v || !std::isfinite(*v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

}  // namespace

EfficiencyRecord efficiency_of(const RunRecord& r) {
  EfficiencyRecord e;
  if (r.metrics) {
    e.epsilon = passes_to(r.metrics->epsilon, r.series);
    e.accuracy = passes_to(r.metrics->accuracy, r.series);
  }
  if (!r.series.empty()) e.passes = r.series.back().epoch;
  if (r.metrics && r.metrics->wall_seconds && e.passes && *e.passes > 0) {
    e.seconds_per_pass = *r.metrics->wall_seconds / *e.passes;
  }
  return e;
}

nlohmann::json efficiency_json(const EfficiencyRecord& e) {
  return {{"passes_to_target",
           {{"epsilon", passes_map(e.epsilon)}, {"accuracy", passes_map(e.accuracy)}}},
          {"passes", finite_or_null(e.passes)},
          {"seconds_per_pass", finite_or_null(e.seconds_per_pass)}};
}

std::string efficiency_text(const EfficiencyRecord& e) {
  std::string targets;
  for (const std::vector<TargetPasses>* list : {&e.epsilon, &e.accuracy}) {
    for (const TargetPasses& t : *list) {
      targets += (targets.empty() ? "" : ", ") + passes_text(t.passes, 2) + " to " + t.label;
    }
  }
  return (targets.empty() ? std::string("no targets") : targets + " passes") + " (statistical); " +
         passes_text(e.seconds_per_pass, 3) + " s per pass (hardware)";
}

}  // namespace psgd
