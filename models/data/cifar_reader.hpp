// models/data/cifar_reader.hpp — the binary version of CIFAR-10.
//
// cifar-10-binary.tar.gz unpacks to cifar-10-batches-bin/ with data_batch_1.bin ..
// data_batch_5.bin (training) and test_batch.bin, each a sequence of 3073-byte records: one
// label byte (0..9), then a 3x32x32 image stored channel-major (all red, all green, all blue,
// each row-major) — already the CHW layout the models read. Files may also be gzip-compressed
// (NAME.gz). Every problem is an EnvironmentError of one line that starts with the file's path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace psgd {

inline constexpr int kCifarClasses = 10;
inline constexpr std::size_t kCifarImageBytes = 3 * 32 * 32;
inline constexpr std::size_t kCifarRecordBytes = 1 + kCifarImageBytes;

struct CifarRecords {
  std::vector<std::uint8_t> pixels;  // labels.size() images of kCifarImageBytes, CHW
  std::vector<std::int32_t> labels;
};

// Reads and concatenates the given files in order. Throws EnvironmentError for an unreadable
// file, a file with no records, a size that is not a whole number of records (truncated, or
// not the binary version), a corrupt or truncated gzip stream, or a label >= 10 (for example
// the CIFAR-100 binary version, whose records are longer and whose labels go to 99).
CifarRecords read_cifar_files(const std::vector<std::string>& paths);

}  // namespace psgd
