// harness/test/shim/fail_write.cpp — an LD_PRELOAD shim for the end-to-end tests: with
// PSGD_FAIL_WRITE_MATCH=TEXT, every write(2) to a file whose path contains TEXT fails with ENOSPC,
// as on a full disk. The path is read from /proc/self/fd, so the shim needs no bookkeeping of
// open(2). Without the variable (or with it empty) every call goes through.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using Write = ssize_t (*)(int, const void*, size_t);

bool path_matches(int fd) {
  static const char* match = std::getenv("PSGD_FAIL_WRITE_MATCH");
  if (match == nullptr || *match == '\0') return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char path[PATH_MAX + 1];
  const ssize_t n = readlink(link, path, PATH_MAX);
  if (n <= 0) return false;
  path[n] = '\0';
  return std::strstr(path, match) != nullptr;
}

}  // namespace

extern "C" ssize_t write(int fd, const void* buf, size_t count) {
  if (path_matches(fd)) {
    errno = ENOSPC;
    return -1;
  }
  // The next definition in the lookup order: libc's, or a sanitizer's interceptor.
  static const auto real = reinterpret_cast<Write>(dlsym(RTLD_NEXT, "write"));
  return real(fd, buf, count);
}
