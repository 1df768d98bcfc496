// harness/test/psgd_process.hpp — runs the real `psgd` binary (or another command line) for the
// end-to-end tests: exit code (128 + signal when killed), stdout and stderr; run_to_end adds a
// time limit, for the sweeps, whose tests kill and hang children on purpose.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "harness/sweep/child_process.hpp"
#include "harness/test/test_support.hpp"

namespace psgd::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when the process was killed
  std::string out;
  std::string err;
};

// Runs a shell command line to its end, capturing stdout, stderr and the exit code.
inline ProcessResult run_shell(const std::string& command) {
  static int counter = 0;
  const std::filesystem::path dir = scratch_dir("psgd_process") / std::to_string(counter++);
  std::filesystem::create_directories(dir);
  const std::string cmd = command + " >" + (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

// Runs `ENV psgd ARGS` through the shell (ENV: "VAR=value ..." or empty).
inline ProcessResult run_psgd(const std::string& args, const std::string& env = "") {
  return run_shell(env + " " + PSGD_BINARY + " " + args);
}

struct TimedProcessResult {
  ChildOutcome outcome;  // exited (with its code), killed by a signal, or timed out
  std::string out;
  std::string err;
};

// Runs argv to its end, killed (with its process group) after limit_seconds; stdout and stderr
// go through files in `dir` (stdout through a shell redirect: ChildProcess captures stderr only).
inline TimedProcessResult run_to_end(const std::vector<std::string>& argv,
                                     const std::filesystem::path& dir, double limit_seconds) {
  std::string command;
  for (const std::string& a : argv) command += "'" + a + "' ";
  const std::filesystem::path err = dir / "run_to_end.stderr";
  const std::filesystem::path out = dir / "run_to_end.stdout";
  ChildProcess child({"/bin/sh", "-c", "exec " + command + "> '" + out.string() + "'"},
                     err.string(), limit_seconds);
  TimedProcessResult r;
  for (;;) {
    if (const auto o = child.poll()) {
      r.outcome = *o;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace psgd::test
