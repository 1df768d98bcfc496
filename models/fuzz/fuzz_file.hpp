// models/fuzz/fuzz_file.hpp — hands a libFuzzer input to a reader that takes a path: the bytes
// go into an anonymous in-memory file (memfd), named by its /proc/self/fd path, so no fuzzing
// iteration touches the disk and nothing is left behind.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace psgd::fuzz {

// Owns the memfd; path() names it for open()/gzopen(). Aborts if the memfd cannot be made (the
// fuzzer cannot do anything useful then).
class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("psgd-fuzz", 0)) {
    if (fd_ < 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  [[nodiscard]] std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace psgd::fuzz
