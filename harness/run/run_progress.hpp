// harness/run/run_progress.hpp — what `psgd run` says while it runs: the header line at once
// (before the data is loaded), each thread's role, and the live progress line, which only the
// calling thread writes (RunnerOptions::on_progress), never a worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "algorithms/runner.hpp"

namespace psgd {

// What the threads of a run do, in words: "1 server + 1 gradient worker" (param-server, hybrid),
// "4 asynchronous workers, each applies its own updates" (mutex, ..., leashed), and so on for
// every registered method. first_source: AlgorithmEntry::first_source for the run (1 when slot 0
// serves without computing). An unknown name gets "N workers".
std::string worker_roles(std::string_view algo, int threads, int first_source);

// True when worker_roles has a text of its own for `algo` (a test holds every registered
// algorithm to it).
bool has_roles_text(std::string_view algo);

// "psgd run: ALGO, MODEL on DATA, N thread(s) (ROLES), batch B, step ETA", the first line the run
// prints and the first line of its summary.
std::string header_line(std::string_view algo, std::string_view model, std::string_view data,
                        std::string_view threads, std::string_view roles, std::string_view batch,
                        std::string_view step);

// How far a run is, for the progress line: the budget as the run counts it.
struct ProgressBudget {
  std::int64_t gradients_per_epoch = 1;   // a pass over the data (N / b, or --updates-per-epoch)
  std::optional<std::int64_t> gradients;  // an --epochs or --gradients budget
  std::optional<std::int64_t> updates;    // an --updates budget
  std::optional<double> seconds;          // --time-limit
};

// The share of the budget done, in [0, 1]: the larger of the budgets' shares (whichever binds
// first ends the run); nullopt when nothing is known yet.
std::optional<double> fraction_done(const LiveProgress& p, const ProgressBudget& b);

// "epoch 1.25  updates 2343  loss 0.4152  1170 updates/s  42%  ETA 3.1 s": one reading.
std::string progress_line(const LiveProgress& p, const ProgressBudget& b);

// Writes progress lines to stderr: on a terminal one line redrawn in place ('\r', cleared when
// done), otherwise (--progress into a file or pipe) one plain line per reading.
class ProgressPrinter {
 public:
  ProgressPrinter(ProgressBudget budget, bool terminal) : budget_(budget), terminal_(terminal) {}
  void show(const LiveProgress& p);
  // A line about a phase after training ("evaluating 15 snapshots ..."): replaces the live line.
  void note(const std::string& text);
  // Clears a live line left on the terminal (nothing otherwise).
  void finish();

 private:
  ProgressBudget budget_;
  bool terminal_;
  std::size_t shown_width_ = 0;  // the live line's width on the terminal, to clear it
};

// Whether `psgd run` shows progress: always with --progress, else when stderr is a terminal.
bool progress_wanted(bool progress_option);
// Whether stderr is a terminal (the live line redraws in place there).
bool stderr_is_terminal();

}  // namespace psgd
