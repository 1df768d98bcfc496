// models/fuzz/cifar_fuzz.cpp — libFuzzer target: the CIFAR-10 binary reader on arbitrary bytes
// (raw, or gzip when the input starts with gzip's signature). A one-line EnvironmentError is the
// expected answer to bad input; anything else (another exception, a crash, a sanitizer report,
// a leak) is a finding.
#include <cstddef>
#include <cstdint>

#include "common/errors.hpp"
#include "models/data/cifar_reader.hpp"
#include "models/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const psgd::fuzz::MemoryFile file(data, size);
  try {
    static_cast<void>(psgd::read_cifar_files({file.path()}));
  } catch (const psgd::EnvironmentError&) {
  }
  return 0;
}
