// harness/run/run_summary.hpp — the few lines `psgd run` prints to stderr after a run: the series,
// the status in words, the targets reached, staleness and contention, and a load warning.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace psgd {

// The summary of a run's JSON document (as build_report writes it), one line per fact, each
// ending in '\n'. A pure function of the document (the run prints it to stderr whatever --out
// is, so a JSON on stdout stays clean); fields a document lacks print as "-".
std::string run_summary(const nlohmann::json& doc);

// "converged: all 3 epsilon targets reached" / "not_converged: 2 of 3 epsilon targets reached" /
// "diverged": the status and what it means, in the words the summary, index.csv (status,
// epsilon_targets_reached) and the figures' captions share.
std::string status_words(const nlohmann::json& doc);

}  // namespace psgd
