// harness/fuzz/config_fuzz.cpp — libFuzzer target: `psgd run --config FILE` on arbitrary file
// contents, through the same parse_run_args as the command line (JSON, the option table, the
// number parsers, validate()). A ConfigError (or EnvironmentError for an unreadable file) is the
// expected answer; anything else (another exception, a crash, a sanitizer report, a leak) is a
// finding.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/errors.hpp"
#include "harness/run/run_config.hpp"
#include "models/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const psgd::fuzz::MemoryFile file(data, size);
  const std::string path = file.path();
  const std::array<std::string_view, 2> args = {"--config", path};
  try {
    static_cast<void>(psgd::parse_run_args(args));
  } catch (const psgd::ConfigError&) {
  } catch (const psgd::EnvironmentError&) {
  }
  return 0;
}
