// harness/test/test_support.hpp — what the harness tests share: the scratch folder and its
// fixture, config_error_of (models/test/test_support.hpp), and reading back what a test wrote.
// Running the psgd binary is harness/test/psgd_process.hpp's.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "models/test/test_support.hpp"

namespace psgd::test {

// A whole file (empty when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `path` and returns the path.
inline std::filesystem::path write_text(const std::filesystem::path& path,
                                        const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (const char c : s) n += c == '\n';
  return n;
}

// Exactly one line, ending in its newline: the form of every error message psgd prints.
inline bool one_line(const std::string& s) { return count_lines(s) == 1 && s.back() == '\n'; }

}  // namespace psgd::test
