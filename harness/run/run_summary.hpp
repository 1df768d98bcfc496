// harness/run/run_summary.hpp — the few lines `psgd run` prints to stderr after a run: the series,
// the status in words, the targets reached, staleness and contention, and a load warning.
#pragma once

#include <string>

#include "harness/run/run_record.hpp"

namespace psgd {

// The summary of a run's record, one line per fact, each ending in '\n'. A pure function of the
// record (the run prints it to stderr whatever --out is, so a JSON on stdout stays clean); fields
// the record lacks print as "-". with_header: the first line (header_line in run_progress.hpp),
// which `psgd run` prints before it trains and so leaves out here.
std::string run_summary(const RunRecord& record, bool with_header = true);

// "converged: all 3 epsilon targets reached" / "not_converged: 2 of 3 epsilon targets reached" /
// "diverged": the status and what it means, in the words the summary, index.csv (status,
// epsilon_targets_reached) and the figures' captions share.
std::string status_words(const RunRecord& record);

}  // namespace psgd
