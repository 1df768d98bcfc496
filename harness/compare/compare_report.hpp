// harness/compare/compare_report.hpp — a Comparison as a table: plain text for the terminal and
// GitHub-flavoured Markdown for a CI summary or a nightly report file.
#pragma once

#include <string>

#include "harness/compare/comparison.hpp"
#include "harness/compare/result_set.hpp"

namespace psgd {

// Header (both files, their commits and dates, the machine, the rules), one row per benchmark
// (benchmark, unit, baseline median, new median, ratio, p-value, min effect, verdict) and a summary
// line ending in PASS or FAIL. Pure; thread-safe.
std::string format_text_report(const Comparison& c, const ResultSet& baseline,
                               const ResultSet& now);
std::string format_markdown_report(const Comparison& c, const ResultSet& baseline,
                                   const ResultSet& now);

// "41 compared: 1 REGRESSION, 0 CHANGED, 2 improved, ... -> FAIL".
std::string summary_line(const Comparison& c);

}  // namespace psgd
