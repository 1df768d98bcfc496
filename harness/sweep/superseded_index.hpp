// harness/sweep/superseded_index.hpp — keeps every build's results of a sweep readable side by
// side. A result redone with another build (or by --rerun) is moved to
// <sweep>/superseded/<build id>/<run-id>.json (resume.hpp); this gives each such folder an
// index.csv and a sweep.json of its own, so it reads like the sweep folder it came from:
// `psgd compare <sweep>/superseded/<id> <sweep>` compares the two builds, and
// plots/psgd_results.py's load_sweep (and every figure script's --results) draws the old one.
#pragma once

#include <string>
#include <vector>

#include "harness/sweep/results.hpp"
#include "harness/sweep/spec.hpp"

namespace psgd {

// Rewrites index.csv (atomically, as the sweep's own, one row per planned run whose
// <run-id>.json is there, in plan order; a run moved there twice keeps its first copy, the later
// ones being <run-id>.2.json, ...) and sweep.json (the sweep's own plan, read from
// <dir>/sweep.json, with the folder's build id, and the context and build block (git state) of
// its first run) in every folder under <dir>/superseded/. A document that does not parse is
// left out of the index.
// With refresh_all false only the folders without an index.csv are indexed (those a sweep of an
// older psgd left), so a sweep that moved nothing reads no old results. Returns how many folders
// were indexed. Throws EnvironmentError when a file cannot be written; the results themselves
// are only read.
std::size_t index_superseded(const ResultsDir& dir, const SweepSpec& spec,
                             const std::vector<PlannedRun>& runs, bool refresh_all);

}  // namespace psgd
