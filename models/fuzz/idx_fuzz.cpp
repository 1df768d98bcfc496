// models/fuzz/idx_fuzz.cpp — libFuzzer target: the IDX image and label readers on arbitrary
// bytes (raw, or gzip when the input starts with gzip's signature). A one-line EnvironmentError
// is the expected answer to bad input; any other exception, a crash, a sanitizer report or a
// leak is a finding. The label file is read with 10 classes, as Fashion-MNIST is.
#include <cstddef>
#include <cstdint>

#include "common/errors.hpp"
#include "models/data/idx_reader.hpp"
#include "models/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const psgd::fuzz::MemoryFile file(data, size);
  try {
    static_cast<void>(psgd::read_idx_images(file.path()));
  } catch (const psgd::EnvironmentError&) {
  }
  try {
    static_cast<void>(psgd::read_idx_labels(file.path(), 10));
  } catch (const psgd::EnvironmentError&) {
  }
  return 0;
}
