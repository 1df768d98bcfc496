// models/data/cifar_reader.cpp — block-wise record reads that split labels from pixels.
#include "models/data/cifar_reader.hpp"

#include <algorithm>
#include <optional>

#include "common/errors.hpp"
#include "models/data/byte_file.hpp"

namespace psgd {
namespace {

// Records are read this many at a time (3 MB) into a scratch block and split into labels and
// pixels, so the pixels land in their final vector without a whole-file intermediate copy.
constexpr std::size_t kRecordsPerBlock = 1024;

// Room is reserved for what the files can hold (decoded_size_bound: the size of a raw file, the
// trailer of a gzip one, capped by deflate's ratio), never more, so a small corrupt file cannot
// make the reader reserve memory; a file that decodes to more grows the vectors as it is read.
std::size_t expected_records(const std::string& path) {
  const std::optional<std::uintmax_t> bytes = detail::decoded_size_bound(path);
  return bytes ? static_cast<std::size_t>(*bytes / kCifarRecordBytes) : 0;
}

void read_one(const std::string& path, std::vector<std::uint8_t>& block, CifarRecords& out) {
  detail::ByteFile file(path);
  std::size_t records = 0;
  while (true) {
    const std::size_t got = file.read(block.data(), block.size());
    const std::size_t whole = got / kCifarRecordBytes;
    for (std::size_t r = 0; r < whole; ++r) {
      const std::uint8_t* record = block.data() + r * kCifarRecordBytes;
      if (record[0] >= kCifarClasses) {
        throw EnvironmentError(path + ": label " + std::to_string(record[0]) + " of record " +
                               std::to_string(records + r) + " is out of range [0, " +
                               std::to_string(kCifarClasses) +
                               ") (is this the CIFAR-100 binary version?)");
      }
      out.labels.push_back(record[0]);
      out.pixels.insert(out.pixels.end(), record + 1, record + kCifarRecordBytes);
    }
    records += whole;
    if (got % kCifarRecordBytes != 0) {
      const std::size_t total = records * kCifarRecordBytes + got % kCifarRecordBytes;
      throw EnvironmentError(
          path + ": truncated or not the CIFAR-10 binary version: " + std::to_string(total) +
          " bytes is not a whole number of " + std::to_string(kCifarRecordBytes) +
          "-byte records (1 label + 3x32x32 pixels)" + file.end_note());
    }
    if (got < block.size()) break;
  }
  // A gzip stream cut off exactly at a record boundary still lacks its CRC trailer.
  if (const std::string note = file.end_note(); !note.empty()) {
    throw EnvironmentError(path + ": truncated after " + std::to_string(records) + " records" +
                           note);
  }
  if (records == 0) throw EnvironmentError(path + ": holds no records");
}

}  // namespace

CifarRecords read_cifar_files(const std::vector<std::string>& paths) {
  std::size_t expected = 0;
  for (const std::string& path : paths) expected += expected_records(path);
  CifarRecords out;
  out.labels.reserve(expected);
  out.pixels.reserve(expected * kCifarImageBytes);
  std::vector<std::uint8_t> block(kRecordsPerBlock * kCifarRecordBytes);
  for (const std::string& path : paths) read_one(path, block, out);
  return out;
}

}  // namespace psgd
