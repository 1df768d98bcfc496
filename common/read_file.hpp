// common/read_file.hpp — a small text file named on the command line (a --config JSON, a sweep
// spec), read whole with one-line errors: a directory, a missing or unreadable file and one too
// large for what it claims to be are EnvironmentErrors (exit 3, like every missing file) that
// say why, never an uncaught stream exception.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "common/errors.hpp"

namespace psgd {

// A JSON document a person wrote: 16 MiB is far above any spec or config here, and bounds the
// memory a wrong path (a disk image, /dev/zero) can take.
inline constexpr std::size_t kMaxTextFileBytes = std::size_t{16} << 20;

// The whole of `path`. `what` names the file in errors ("--config", "sweep spec").
inline std::string read_text_file(const std::string& path, std::string_view what,
                                  std::size_t max_bytes = kMaxTextFileBytes) {
  const std::string head = std::string(what) + ": cannot read '" + path + "': ";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw EnvironmentError(head + "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EnvironmentError(head + std::strerror(errno));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw EnvironmentError(head + "larger than " + std::to_string(max_bytes >> 20) + " MiB");
    }
  }
  if (in.bad()) throw EnvironmentError(head + std::strerror(errno));
  return text;
}

}  // namespace psgd
