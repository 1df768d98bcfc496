// harness/fuzz/cli_fuzz.cpp — libFuzzer target: `psgd run`'s command line. The input is split at
// NUL bytes into arguments (so the seeds are readable: `--threads\0004`); every argument that
// names a file (`--config`) is dropped, because files are config_fuzz's job and the fuzzer must
// not read the disk. A ConfigError is the expected answer to a bad command line; anything else
// (another exception, a crash, a sanitizer report, a leak) is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "harness/run/run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string_view arg : args) {
    if (arg.starts_with("--config")) return 0;
  }
  try {
    static_cast<void>(psgd::parse_run_args(args));
  } catch (const psgd::ConfigError&) {
  }
  return 0;
}
