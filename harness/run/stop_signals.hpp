// harness/run/stop_signals.hpp — SIGINT and SIGTERM during `psgd run`: the first asks the run to
// stop (the workers stop within the runner's poll, the document is written with status `stopped`
// and the process exits 128 + the signal's number); a second of either ends the process at once,
// as if no handler were there, for the person who does not want to wait for the document (a
// second of the same signal: SA_RESETHAND restores the default action of the one that came; of
// the other: the handler restores it and raises it again). The first signal is the one recorded.
#pragma once

#include <atomic>
#include <csignal>
#include <string>

namespace psgd {

// Installs the handlers for its lifetime (one at a time: a second instance is a programming error
// and throws std::logic_error) and restores the previous dispositions when it goes.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The flag the handler sets: 0 until a signal came, then its number. For
  // RunnerOptions::stop_request.
  [[nodiscard]] static const std::atomic<int>& request() noexcept;
  // The signal received so far, 0 for none.
  [[nodiscard]] static int received() noexcept;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

// The signal's name ("SIGINT", "SIGTERM", "SIGKILL", ...), or "signal N" for a number without one.
std::string signal_name(int signal);

// The exit status of a run stopped by `signal`: 128 + its number (130 for SIGINT, 143 for
// SIGTERM), what a shell reports for a process that signal ended.
int stopped_exit_code(int signal) noexcept;

}  // namespace psgd
