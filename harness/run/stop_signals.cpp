// harness/run/stop_signals.cpp — the handler stores the signal's number in a lock-free atomic
// (the one thing a handler may touch besides volatile sig_atomic_t, and, unlike it, well defined
// when another thread reads it) and does nothing else: no I/O, no allocation, no lock.
#include "harness/run/stop_signals.hpp"

#include <cstring>
#include <stdexcept>

namespace psgd {
namespace {

static_assert(std::atomic<int>::is_always_lock_free,
              "a signal handler may store only to a lock-free atomic");

// The one flag of the process: a signal handler cannot reach an object by any other route.
std::atomic<int> g_stop_request{0};    // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
std::atomic<bool> g_installed{false};  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

extern "C" void on_stop_signal(int signal) {
  int none = 0;
  // relaxed: a flag read by polling (the runner's caller); nothing is published through it. The
  // first signal is the one recorded; a later one never overwrites it.
  if (g_stop_request.compare_exchange_strong(none, signal, std::memory_order_relaxed)) return;
  // A second signal, of the other kind (SA_RESETHAND already gave the first kind its default
  // action back): end the process as if no handler were there. Both calls are async-signal-safe;
  // the raised signal is blocked until this handler returns, then takes its default action.
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

StopSignals::StopSignals() {
  if (g_installed.exchange(true)) throw std::logic_error("StopSignals installed twice");
  g_stop_request.store(0, std::memory_order_relaxed);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the handler runs once; the next SIGINT or SIGTERM gets the default action and
  // ends the process. SA_RESTART: a read or write in progress is resumed, not failed with EINTR.
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_installed.store(false);
}

const std::atomic<int>& StopSignals::request() noexcept { return g_stop_request; }

int StopSignals::received() noexcept { return g_stop_request.load(std::memory_order_relaxed); }

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);  // "INT" for SIGINT; null for a number with no name
  return abbrev != nullptr ? "SIG" + std::string(abbrev) : "signal " + std::to_string(signal);
}

int stopped_exit_code(int signal) noexcept { return 128 + signal; }

}  // namespace psgd
