// harness/cli/atomic_file.cpp — temporary file plus rename, or a direct write to a special file.
#include "harness/cli/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <filesystem>

namespace psgd {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, int error) {
  throw OutputPathError("cannot write '" + path + "': " + std::strerror(error));
}

// Writes all of bytes to fd; returns 0 or the errno.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

void write_directly(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) fail(path, errno);
  const int error = write_all(fd, bytes);
  ::close(fd);
  if (error != 0) fail(path, error);
}

void write_and_rename(const std::string& path, std::string_view bytes) {
  const std::string tmp = temporary_name(path);
  const HeldTerminationSignals held;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, errno);
  int error = write_all(fd, bytes);
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(tmp.c_str());
    fail(path, error);
  }
}

}  // namespace

HeldTerminationSignals::HeldTerminationSignals() {
  sigset_t held;
  sigemptyset(&held);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&held, s);
  pthread_sigmask(SIG_BLOCK, &held, &previous_);
}

HeldTerminationSignals::~HeldTerminationSignals() {
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

std::string temporary_name(const std::string& path) {
  const fs::path p(path);
  const std::string suffix = ".tmp." + std::to_string(getpid());
  std::string name = p.filename().string();
  // PATH.tmp.PID must itself be a valid name: a 250-character PATH once trained, then lost its
  // result to "File name too long". The name is cut, never the folder, so the rename stays
  // within one file system; the sweep's clean-up still sees ".tmp.".
  const std::size_t max = name_max(p.parent_path().empty() ? "." : p.parent_path().string());
  if (name.size() + suffix.size() > max) name.resize(max > suffix.size() ? max - suffix.size() : 1);
  return (p.parent_path() / (name + suffix)).string();
}

std::size_t name_max(const std::string& folder) {
  const long max = ::pathconf(folder.c_str(), _PC_NAME_MAX);
  return max > 0 ? static_cast<std::size_t>(max) : std::size_t{NAME_MAX};
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {  // follows links: what the path names in the end
    if (S_ISDIR(st.st_mode)) fail(path, EISDIR);
    if (!S_ISREG(st.st_mode)) return write_directly(path, bytes);
  }
  std::error_code ec;
  const bool link = fs::is_symlink(path, ec);
  const fs::path target = link ? fs::weakly_canonical(path, ec) : fs::path(path);
  if (link && ec) fail(path, ec.value());
  write_and_rename(target.string(), bytes);
}

void check_output_path(const std::string& path, std::string_view option) {
  const std::string head = std::string(option) + ": cannot write '" + path + "': ";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw OutputPathError(head + "it is a directory");
    if (!S_ISREG(st.st_mode)) {
      if (::access(path.c_str(), W_OK) != 0) throw OutputPathError(head + std::strerror(errno));
      return;
    }
  }
  std::error_code ec;
  fs::path folder = fs::weakly_canonical(path, ec).parent_path();
  if (ec || folder.empty()) folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  if (!fs::is_directory(folder, ec)) {
    throw OutputPathError(head + "folder '" + folder.string() + "' does not exist");
  }
  if (::access(folder.c_str(), W_OK | X_OK) != 0) {
    throw OutputPathError(head + "folder '" + folder.string() + "': " + std::strerror(errno));
  }
  const std::size_t name = fs::path(path).filename().string().size();
  if (name > name_max(folder.string())) {
    throw OutputPathError(head + "its file name has " + std::to_string(name) +
                          " characters, more than the folder's limit of " +
                          std::to_string(name_max(folder.string())) + ": " +
                          std::strerror(ENAMETOOLONG));
  }
}

bool same_output_path(const std::string& a, const std::string& b) {
  std::error_code ea;
  std::error_code eb;
  const fs::path ca = fs::weakly_canonical(a, ea);
  const fs::path cb = fs::weakly_canonical(b, eb);
  return (!ea && !eb) ? ca == cb : a == b;
}

}  // namespace psgd
