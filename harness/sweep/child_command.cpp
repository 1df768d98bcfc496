// harness/sweep/child_command.cpp — the command line of a sweep's child run: the psgd binary,
// its launcher across ranks (mpirun, srun) and its arguments, and how it prints.
#include <unistd.h>

#include <filesystem>

#include "common/errors.hpp"
#include "harness/sweep/rank_launch.hpp"
#include "harness/sweep/scheduler.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;

std::string self_executable() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw EnvironmentError("cannot find this executable (/proc/self/exe): " + ec.message() +
                           "; use --psgd");
  return p.string();
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() &&
      s.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/%+@") ==
          std::string::npos) {
    return s;
  }
  std::string q = "'";
  for (const char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

}  // namespace

std::string resolve_psgd_binary(const std::string& given) {
  const std::string psgd = given.empty() ? self_executable() : given;
  if (access(psgd.c_str(), X_OK) != 0)
    throw EnvironmentError("--psgd: '" + psgd + "' is not executable");
  return psgd;
}

std::vector<std::string> child_argv(const std::string& psgd, const PlannedRun& run,
                                    const std::string& out) {
  // A run across processes starts under its launcher (harness/sweep/rank_launch.hpp): mpirun
  // here, srun in a Slurm allocation; the launcher's own path, as execv needs, when PATH has it
  // (else its name: the child then fails with exit 127, recorded as a crash naming it).
  std::vector<std::string> argv =
      rank_launch_prefix(run.options, rank_launcher_here(), launch_host_here());
  if (!argv.empty()) {
    if (std::string found = rank_launcher_path(argv[0]); !found.empty()) argv[0] = std::move(found);
  }
  argv.push_back(psgd);
  argv.emplace_back("run");
  for (std::string& a : run.run_args(out)) argv.push_back(std::move(a));
  return argv;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    s += shell_quote(a);
  }
  return s;
}

}  // namespace psgd
