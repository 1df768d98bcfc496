// harness/test/psgd_process.hpp — runs the real `psgd` binary for the end-to-end tests of bad
// input: exit code (128 + signal when killed), stdout, stderr, and a fresh scratch folder.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace psgd::test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when the process was killed
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A new, empty folder under the test temporary directory.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path d =
      std::filesystem::path(testing::TempDir()) / (name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Runs `ENV psgd ARGS` through the shell (ENV: "VAR=value ..." or empty).
inline ProcessResult run_psgd(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  const std::filesystem::path dir = scratch_dir("psgd_process") / std::to_string(counter++);
  std::filesystem::create_directories(dir);
  const std::string cmd = env + " " + PSGD_BINARY + " " + args + " >" + (dir / "out").string() +
                          " 2>" + (dir / "err").string();
  const int status = std::system(cmd.c_str());
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (const char c : s) n += c == '\n';
  return n;
}

}  // namespace psgd::test
