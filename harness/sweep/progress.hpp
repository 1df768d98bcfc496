// harness/sweep/progress.hpp — counts, the current run and an ETA on stderr.
//
// On a terminal one live line is redrawn in place; otherwise (a log file, CI) every start and
// every finish is one plain line, so the log reads top to bottom without control characters.
// Not thread-safe: the sweep's one thread owns it.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace psgd {

class SweepProgress {
 public:
  // total: runs in the plan; jobs: runs at once (for the ETA); live: redraw one line in place.
  SweepProgress(std::string sweep, std::size_t total, int jobs, bool live, std::FILE* out = stderr);

  // A run found complete on disk (skipped): counts, but not in the ETA.
  void skipped(const std::string& status);
  void started(const std::string& run_id);
  void finished(const std::string& run_id, const std::string& status, double seconds);
  // Redraws the live line with the runs in flight (run id, seconds so far). No-op when not live.
  void tick(const std::vector<std::pair<std::string, double>>& running);
  // A line of its own (a warning, a note), kept above the live line.
  void message(const std::string& line);
  // Ends the live line and prints the final counts.
  void summary();

  // "45s", "3m05s", "2h07m".
  static std::string duration_text(double seconds);

 private:
  [[nodiscard]] std::string counts_text() const;
  [[nodiscard]] std::string eta_text(
      const std::vector<std::pair<std::string, double>>& running) const;
  void draw(const std::string& line);
  void clear_live();

  std::string sweep_;
  std::size_t total_;
  int jobs_;
  bool live_;
  std::FILE* out_;
  std::size_t finished_ = 0;  // skipped + finished in this session
  std::size_t started_ = 0;   // started in this session
  std::size_t ran_ = 0;       // finished in this session
  double ran_seconds_ = 0.0;
  std::map<std::string, std::size_t> status_counts_;
  std::chrono::steady_clock::time_point start_;
  bool live_drawn_ = false;
};

}  // namespace psgd
