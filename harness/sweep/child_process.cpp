// harness/sweep/child_process.cpp — fork/exec with a process group, a timeout and pdeathsig.
#include "harness/sweep/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "common/errors.hpp"
#include "common/seconds_since.hpp"

namespace psgd {
namespace {

// The mask the process had before block_sweep_signals(); children get it back before exec.
sigset_t g_original_mask;
bool g_mask_saved = false;

sigset_t sweep_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

// Between fork and exec only async-signal-safe calls: write what failed and errno, and leave
// with 127, the shell's code for "could not execute".
[[noreturn]] void child_fail(const char* what) {
  const int err = errno;
  char digits[16];
  int n = 0;
  for (int e = err; n < 15 && (e > 0 || n == 0); e /= 10)
    digits[n++] = static_cast<char>('0' + e % 10);
  char line[512];
  std::size_t len = 0;
  auto put = [&](const char* s, std::size_t k) {
    for (std::size_t i = 0; i < k && len < sizeof line; ++i) line[len++] = s[i];
  };
  put("psgd sweep: cannot start child: ", 32);
  put(what, strlen(what));
  put(": errno ", 8);
  while (n > 0) put(&digits[--n], 1);
  put("\n", 1);
  [[maybe_unused]] const ssize_t w = write(STDERR_FILENO, line, len);
  _exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& stderr_path,
                           double timeout_seconds, const std::string& stdout_path)
    : timeout_seconds_(timeout_seconds) {
  if (argv.empty()) throw EnvironmentError("ChildProcess: empty command");
  // Everything the child needs is prepared before fork: the child may only make
  // async-signal-safe calls until exec.
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0)
    throw EnvironmentError("cannot create '" + stderr_path + "': " + std::strerror(errno));
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    close(err_fd);
    throw EnvironmentError(std::string("cannot open /dev/null: ") + std::strerror(errno));
  }
  const int out_fd = stdout_path.empty() ? null_fd
                                         : open(stdout_path.c_str(),
                                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    const std::string why = std::strerror(errno);
    close(err_fd);
    close(null_fd);
    throw EnvironmentError("cannot create '" + stdout_path + "': " + why);
  }
  sigset_t child_mask;
  if (g_mask_saved) {
    child_mask = g_original_mask;
  } else {
    pthread_sigmask(SIG_SETMASK, nullptr, &child_mask);
  }
  const pid_t parent = getpid();
  start_ = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    close(err_fd);
    close(null_fd);
    if (out_fd != null_fd) close(out_fd);
    throw EnvironmentError("cannot fork: " + why);
  }
  if (pid == 0) {
    // dup2 clears FD_CLOEXEC on the copies, so exactly these three reach the program.
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0) {
      _exit(127);
    }
    if (setpgid(0, 0) != 0) child_fail("setpgid");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail("prctl(PR_SET_PDEATHSIG)");
    // The parent may have died before prctl took effect: then nobody would kill us.
    if (getppid() != parent) _exit(127);
    sigprocmask(SIG_SETMASK, &child_mask, nullptr);
    execv(cargv[0], cargv.data());
    child_fail(cargv[0]);
  }
  // Also set the group from the parent, so kill(-pid) works even before the child runs.
  setpgid(pid, pid);
  close(err_fd);
  close(null_fd);
  if (out_fd != null_fd) close(out_fd);
  pid_ = pid;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      start_(other.start_),
      timeout_seconds_(other.timeout_seconds_),
      term_sent_(other.term_sent_) {
  other.pid_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) (void)kill_now();
}

ChildOutcome ChildProcess::outcome_from_status(int status) const {
  ChildOutcome o;
  o.seconds = seconds_since(start_);
  if (WIFEXITED(status)) {
    o.kind = ChildOutcome::Kind::kExited;
    o.exit_code = WEXITSTATUS(status);
  } else {
    o.kind = ChildOutcome::Kind::kSignaled;
    o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  // A child that finished cleanly just as the timeout struck has a valid result: keep it.
  if (term_sent_ && !(o.kind == ChildOutcome::Kind::kExited && o.exit_code == 0)) {
    o.kind = ChildOutcome::Kind::kTimedOut;
  }
  return o;
}

std::optional<ChildOutcome> ChildProcess::poll() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    kill(-pid_, SIGKILL);  // anything the child left behind in its group
    const ChildOutcome o = outcome_from_status(status);
    pid_ = -1;
    return o;
  }
  if (!term_sent_ && seconds_since(start_) >= timeout_seconds_) {
    kill(-pid_, SIGTERM);
    term_sent_ = std::chrono::steady_clock::now();
  } else if (term_sent_ && seconds_since(*term_sent_) >= kGraceSeconds) {
    kill(-pid_, SIGKILL);
  }
  return std::nullopt;
}

ChildOutcome ChildProcess::kill_now() {
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ChildOutcome o = outcome_from_status(status);
  pid_ = -1;
  return o;
}

double ChildProcess::seconds_to_deadline() const {
  const double left = term_sent_ ? kGraceSeconds - seconds_since(*term_sent_)
                                 : timeout_seconds_ - seconds_since(start_);
  return std::max(0.0, left);
}

double ChildProcess::elapsed_seconds() const { return seconds_since(start_); }

void block_sweep_signals() {
  const sigset_t set = sweep_signals();
  pthread_sigmask(SIG_BLOCK, &set, &g_original_mask);
  g_mask_saved = true;
}

int wait_for_child_or_signal(double seconds) {
  const sigset_t set = sweep_signals();
  seconds = std::max(0.0, seconds);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(seconds);
  ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
  siginfo_t info{};
  const int s = sigtimedwait(&set, &info, &ts);
  return s == SIGINT || s == SIGTERM || s == SIGHUP ? s : 0;
}

}  // namespace psgd
