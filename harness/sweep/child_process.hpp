// harness/sweep/child_process.hpp — one child process with a timeout, in its own process group.
//
// The sweep runs every `psgd run` as a child so that a crash, a hang or an out-of-memory kill
// of one run is a recorded outcome, never the end of the sweep. The child gets its own process
// group (so a timeout kills everything it started: SIGTERM, then SIGKILL after a grace period)
// and PR_SET_PDEATHSIG (so a sweep killed with SIGKILL leaves no orphan training on, stealing
// cores from the next sweep and writing results nobody waits for).
//
// Not thread-safe: one thread owns a ChildProcess. PR_SET_PDEATHSIG fires when the *thread*
// that spawned the child exits, so spawn from the thread that lives as long as the sweep.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace psgd {

struct ChildOutcome {
  enum class Kind { kExited, kSignaled, kTimedOut };
  Kind kind = Kind::kExited;
  int exit_code = 0;     // kExited
  int signal = 0;        // kSignaled, or the signal that ended a timed-out child
  double seconds = 0.0;  // wall time from spawn to reaping
};

class ChildProcess {
 public:
  // After SIGTERM on timeout, the child gets this long to exit before SIGKILL. psgd run does not
  // catch SIGTERM, so it normally dies at once; the grace only matters for a child that ignores it.
  static constexpr double kGraceSeconds = 5.0;

  // Starts argv[0] (a path) with argv. stdin is /dev/null; stderr goes to stderr_path and stdout
  // to stdout_path (each created or truncated; an empty stdout_path is /dev/null: psgd run writes
  // its document to --out, and the Slurm backend reads what sbatch and squeue print). Throws
  // EnvironmentError when it cannot fork or open a file; a failed exec shows as exit code 127
  // with the reason in the stderr file.
  ChildProcess(const std::vector<std::string>& argv, const std::string& stderr_path,
               double timeout_seconds, const std::string& stdout_path = "");
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the process group and reaps the child if it still runs.
  ~ChildProcess();

  // Reaps the child if it has ended, and enforces the timeout. Never blocks.
  std::optional<ChildOutcome> poll();
  // Kills the whole process group with SIGKILL and reaps the child (blocks until reaped).
  ChildOutcome kill_now();
  // Seconds until this child's next deadline (timeout or end of grace); 0 when past it.
  [[nodiscard]] double seconds_to_deadline() const;
  [[nodiscard]] double elapsed_seconds() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  ChildOutcome outcome_from_status(int status) const;

  pid_t pid_ = -1;  // also the process group id; -1 once reaped
  std::chrono::steady_clock::time_point start_;
  double timeout_seconds_;
  std::optional<std::chrono::steady_clock::time_point> term_sent_;
};

// Blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP in the calling thread, so that
// wait_for_child_or_signal() can take them synchronously (no handlers, no races). Children
// spawned afterwards get the original mask back before exec.
void block_sweep_signals();

// Waits up to `seconds` for SIGCHLD, SIGINT, SIGTERM or SIGHUP (after block_sweep_signals()).
// Returns the termination signal taken (SIGINT, SIGTERM, SIGHUP), or 0 on SIGCHLD or timeout.
int wait_for_child_or_signal(double seconds);

}  // namespace psgd
