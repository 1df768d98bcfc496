// models/data/idx_reader.cpp — bulk IDX reads with one-line diagnostics.
#include "models/data/idx_reader.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include "common/errors.hpp"
#include "models/data/byte_file.hpp"

namespace psgd {
namespace {

using detail::ByteFile;

[[noreturn]] void fail(const ByteFile& file, const std::string& problem) {
  throw EnvironmentError(file.path() + ": " + problem);
}

std::string hex32(std::uint32_t value) {
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "0x%08x", value);
  return text.data();
}

std::string describe_magic(std::uint32_t magic) {
  if (magic == kIdxImagesMagic) return " (an IDX image file)";
  if (magic == kIdxLabelsMagic) return " (an IDX label file)";
  // 0x1f8b is the gzip signature: a file compressed twice, or a .gz renamed without it.
  if ((magic >> 16) == 0x1f8bU) return " (still gzip-compressed)";
  return "";
}

// Reads `count` big-endian uint32 header words after checking the magic (the first word).
template <std::size_t kWords>
std::array<std::uint32_t, kWords> read_header(ByteFile& file, std::uint32_t magic,
                                              std::string_view what) {
  std::array<std::uint8_t, 4 * kWords> bytes{};
  const std::size_t got = file.read(bytes.data(), bytes.size());
  std::array<std::uint32_t, kWords> words{};
  for (std::size_t w = 0; w < kWords; ++w) {
    words[w] = (std::uint32_t{bytes[4 * w]} << 24) | (std::uint32_t{bytes[4 * w + 1]} << 16) |
               (std::uint32_t{bytes[4 * w + 2]} << 8) | std::uint32_t{bytes[4 * w + 3]};
  }
  if (got >= 4 && words[0] != magic) {
    fail(file, "wrong magic " + hex32(words[0]) + describe_magic(words[0]) + ", expected " +
                   hex32(magic) + " (" + std::string(what) + ")");
  }
  if (got < bytes.size()) {
    fail(file, "truncated: " + std::to_string(got) + " bytes, shorter than the " +
                   std::to_string(bytes.size()) + "-byte IDX header" + file.end_note());
  }
  return words;
}

// Fails unless the file is at its end: bytes beyond the announced data mean the header's
// dimensions are not the file's (or it is some other file).
// A gzip stream cut off just after the data still lacks its CRC trailer, so it is truncated too.
void expect_end(ByteFile& file, const std::string& announced) {
  if (!file.at_end()) fail(file, "holds more bytes than the header announces (" + announced + ")");
  if (const std::string note = file.end_note(); !note.empty()) {
    fail(file, "truncated after the announced " + announced + note);
  }
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  ByteFile file(path);
  const auto header =
      read_header<4>(file, kIdxImagesMagic, "IDX images: unsigned bytes, N x rows x cols");
  const std::uint32_t count = header[1];
  const std::uint32_t rows = header[2];
  const std::uint32_t cols = header[3];
  if (count == 0) fail(file, "header announces zero images");
  // No real IDX image is 65536 pixels on a side; the cap also keeps rows and cols in an int.
  if (rows == 0 || cols == 0 || rows > (1U << 16) || cols > (1U << 16)) {
    fail(file, "header announces images of " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  const std::size_t want = std::size_t{count} * rows * cols;
  const std::string announced = std::to_string(count) + " images of " + std::to_string(rows) + "x" +
                                std::to_string(cols) + " (" + std::to_string(want) + " bytes)";

  // An uncompressed file's size is known before reading, so a bogus header never allocates.
  if (const auto left = file.raw_bytes_left(); left && *left < want) {
    fail(file, "truncated: header announces " + announced + " but the file holds " +
                   std::to_string(*left));
  }
  IdxImages images;
  images.count = count;
  images.rows = static_cast<int>(rows);
  images.cols = static_cast<int>(cols);
  const std::size_t got = detail::read_append(file, want, images.pixels);
  if (got < want) {
    fail(file, "truncated: header announces " + announced + " but the file holds " +
                   std::to_string(got) + file.end_note());
  }
  expect_end(file, announced);
  return images;
}

std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes) {
  ByteFile file(path);
  const auto header = read_header<2>(file, kIdxLabelsMagic, "IDX labels: unsigned bytes, N");
  const std::uint32_t count = header[1];
  if (count == 0) fail(file, "header announces zero labels");
  const std::string announced = std::to_string(count) + " labels";
  if (const auto left = file.raw_bytes_left(); left && *left < count) {
    fail(file, "truncated: header announces " + announced + " but the file holds " +
                   std::to_string(*left));
  }
  std::vector<std::uint8_t> bytes;
  const std::size_t got = detail::read_append(file, count, bytes);
  if (got < count) {
    fail(file, "truncated: header announces " + announced + " but the file holds " +
                   std::to_string(got) + file.end_note());
  }
  expect_end(file, announced);

  std::vector<std::int32_t> labels(bytes.begin(), bytes.end());
  if (num_classes > 0) {
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] >= num_classes) {
        fail(file, "label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                       " is out of range [0, " + std::to_string(num_classes) + ")");
      }
    }
  }
  return labels;
}

IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int num_classes) {
  IdxPair pair{read_idx_images(images_path), read_idx_labels(labels_path, num_classes)};
  if (pair.labels.size() != pair.images.count) {
    throw EnvironmentError(labels_path + ": count mismatch: " + std::to_string(pair.labels.size()) +
                           " labels but " + images_path + " holds " +
                           std::to_string(pair.images.count) + " images");
  }
  return pair;
}

}  // namespace psgd
