// harness/compare/compare_report.cpp — text and Markdown tables of a comparison.
#include "harness/compare/compare_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

namespace psgd {
namespace {

constexpr std::size_t kColumns = 8;
using Cells = std::array<std::string, kColumns>;
// The column titles (a function: std::string is not a literal type for every compiler we lint
// with).
Cells header_cells(bool training) {
  return {training ? "point/measure" : "benchmark",
          "unit",
          "baseline",
          "now",
          "ratio",
          "p-value",
          "min effect",
          "verdict"};
}

std::string format_number(const char* format, double v) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), format, v);
  return buf.data();
}

std::string optional_number(const char* format, const std::optional<double>& v) {
  return v ? format_number(format, *v) : std::string("-");
}

// A training run's median with its number of repetitions: "0.0592 (5)"; "missed (5)" where the
// median repetition missed the target or diverged (its value is +infinity).
std::string median_with_n(const std::optional<double>& v, std::size_t n) {
  if (!v) return "-";
  return (std::isinf(*v) ? std::string("missed") : format_number("%.4g", *v)) + " (" +
         std::to_string(n) + ")";
}

Cells row_cells(const ComparisonRow& r, bool training) {
  if (r.deterministic) {
    return {r.name,
            "exact",
            r.baseline_text.empty() ? "-" : r.baseline_text,
            r.new_text.empty() ? "-" : r.new_text,
            "-",
            "-",
            "exact",
            std::string(verdict_name(r.verdict))};
  }
  std::string verdict(training ? training_verdict_name(r.verdict) : verdict_name(r.verdict));
  if (r.verdict == Verdict::kRegression || r.verdict == Verdict::kImproved) {
    verdict += format_number(" (%+.0f%%)", 100.0 * r.worse_by);
  }
  return {r.name,
          r.unit,
          training ? median_with_n(r.baseline_median, r.baseline_n)
                   : optional_number("%.4g", r.baseline_median),
          training ? median_with_n(r.new_median, r.new_n) : optional_number("%.4g", r.new_median),
          optional_number("%.3f", r.ratio),
          optional_number("%.3g", r.p_value),
          r.verdict == Verdict::kMissing || r.verdict == Verdict::kNew
              ? std::string("-")
              : format_number("%.0f%%", 100.0 * r.min_effect),
          verdict};
}

std::string file_line(const char* label, const ResultSet& s) {
  std::string line = std::string(label) + s.path + " (" + s.format;
  if (!s.git_sha.empty()) line += ", " + s.git_sha.substr(0, 12);
  if (!s.date.empty()) line += ", " + s.date;
  if (!s.build.empty()) line += ", " + s.build;
  return line + ")";
}

std::vector<std::string> header_lines(const Comparison& c, const ResultSet& baseline,
                                      const ResultSet& now) {
  std::vector<std::string> lines{file_line("baseline: ", baseline), file_line("now:      ", now)};
  if (c.baseline_machine == c.new_machine) {
    lines.push_back("machine:  " + c.baseline_machine);
  } else {
    lines.push_back("machines: DIFFERENT (--allow-different-machine): " + c.baseline_machine +
                    " vs " + c.new_machine);
  }
  if (c.training) {
    lines.push_back("rule:     WORSE = Mann-Whitney p < " + format_number("%g", c.options.alpha) +
                    " over the repetitions and worse by more than the min effect = max(" +
                    format_number("%.0f", 100.0 * c.options.min_effect) + "%, exp(" +
                    format_number("%g", c.options.noise_factor) +
                    " x measured log spread) - 1) (a time or loss higher, an accuracy or "
                    "throughput lower); better = the same the other way; (n) = repetitions "
                    "with the value");
    return lines;
  }
  lines.push_back("rule:     REGRESSION = Mann-Whitney p < " +
                  format_number("%g", c.options.alpha) +
                  " and slower by more than the min effect = max(" +
                  format_number("%.0f", 100.0 * c.options.min_effect) + "%, exp(" +
                  format_number("%g", c.options.noise_factor) +
                  " x measured log spread) - 1, file's min_effect); CHANGED = a deterministic "
                  "result differs");
  return lines;
}

std::vector<Cells> all_rows(const Comparison& c) {
  std::vector<Cells> rows;
  rows.reserve(c.rows.size());
  for (const ComparisonRow& r : c.rows) rows.push_back(row_cells(r, c.training));
  return rows;
}

}  // namespace

std::string summary_line(const Comparison& c) {
  std::string s = std::to_string(c.rows.size()) + " compared: ";
  if (c.training) {
    const std::size_t not_comparable =
        c.count(Verdict::kTooFew) + c.count(Verdict::kMissing) + c.count(Verdict::kNew);
    s += std::to_string(c.count(Verdict::kRegression)) + " WORSE, " +
         std::to_string(c.count(Verdict::kImproved)) + " better, " +
         std::to_string(c.count(Verdict::kSame)) + " same, " + std::to_string(not_comparable) +
         " not comparable";
    return s + (c.exit_code() == 0 ? " -> PASS" : " -> FAIL");
  }
  bool first = true;
  for (const Verdict v :
       {Verdict::kRegression, Verdict::kChanged, Verdict::kImproved, Verdict::kSame,
        Verdict::kUnchanged, Verdict::kTooFew, Verdict::kMissing, Verdict::kNew}) {
    const std::size_t n = c.count(v);
    if (n == 0 && v != Verdict::kRegression && v != Verdict::kChanged) continue;
    s += (first ? "" : ", ") + std::to_string(n) + " " + std::string(verdict_name(v));
    first = false;
  }
  return s + (c.exit_code() == 0 ? " -> PASS" : " -> FAIL");
}

std::string format_text_report(const Comparison& c, const ResultSet& baseline,
                               const ResultSet& now) {
  std::string out;
  for (const std::string& line : header_lines(c, baseline, now)) out += line + "\n";
  const std::vector<Cells> rows = all_rows(c);
  std::array<std::size_t, kColumns> width{};
  const Cells header = header_cells(c.training);
  for (std::size_t k = 0; k < kColumns; ++k) width[k] = header[k].size();
  for (const Cells& r : rows) {
    for (std::size_t k = 0; k < kColumns; ++k) width[k] = std::max(width[k], r[k].size());
  }
  const auto emit = [&](const Cells& r) {
    std::string line;
    for (std::size_t k = 0; k < kColumns; ++k) {
      // Names and units left-aligned, numbers right-aligned, the verdict last and unpadded.
      const std::string pad(width[k] - r[k].size(), ' ');
      if (k == kColumns - 1) {
        line += r[k];
      } else {
        line += (k < 2 ? r[k] + pad : pad + r[k]) + "  ";
      }
    }
    out += line + "\n";
  };
  out += "\n";
  emit(header);
  for (const Cells& r : rows) emit(r);
  return out + "\n" + summary_line(c) + "\n";
}

std::string format_markdown_report(const Comparison& c, const ResultSet& baseline,
                                   const ResultSet& now) {
  std::string out = std::string(c.training ? "## psgd comparison of training runs: "
                                           : "## psgd nightly comparison: ") +
                    (c.exit_code() == 0 ? "PASS" : "FAIL") + "\n\n";
  for (const std::string& line : header_lines(c, baseline, now)) out += "- " + line + "\n";
  out += std::string("\n| ") + (c.training ? "point/measure" : "benchmark") +
         " | unit | baseline | now | ratio | p-value | min effect | verdict |\n";
  out += "|---|---|--:|--:|--:|--:|--:|---|\n";
  for (const Cells& r : all_rows(c)) {
    std::string line = "|";
    for (std::size_t k = 0; k < kColumns; ++k) {
      std::string cell = r[k];
      // A '|' inside a cell would end it.
      for (std::size_t p = cell.find('|'); p != std::string::npos; p = cell.find('|', p + 2)) {
        cell.replace(p, 1, "\\|");
      }
      const bool bad = k == kColumns - 1 && (cell.starts_with("REGRESSION") ||
                                             cell.starts_with("WORSE") || cell == "CHANGED");
      // Code spans: names such as BM_CopyUnderLock<SpinMutex> would otherwise be read as HTML.
      if (k == 0) cell = "`" + cell + "`";
      // Appended piecewise: `" " + std::string&&` trips GCC 12's false -Wrestrict at -O3.
      line.append(" ").append(bad ? "**" + cell + "**" : cell).append(" |");
    }
    out += line + "\n";
  }
  return out + "\n" + summary_line(c) + "\n";
}

}  // namespace psgd
