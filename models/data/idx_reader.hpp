// models/data/idx_reader.hpp — the IDX format of MNIST and Fashion-MNIST.
//
// An IDX file is a big-endian header (magic, then one uint32 per dimension) followed by the
// values. We read the two kinds these data sets use: 0x00000803, unsigned bytes N x rows x
// cols (images), and 0x00000801, unsigned bytes N (labels). Files may be gzip-compressed
// (NAME.gz, as distributed) or raw. Every problem is an EnvironmentError of one line that
// starts with the file's path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace psgd {

inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;

struct IdxImages {
  std::size_t count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> pixels;  // count x rows x cols, row-major, read once in bulk
};

// Reads an image file. Throws EnvironmentError for a missing or unreadable file, a wrong magic,
// zero images or an empty dimension, a file shorter than its header announces (raw, or a
// truncated gzip stream), a corrupt gzip stream, or bytes after the announced data.
IdxImages read_idx_images(const std::string& path);

// Reads a label file as class indices. With num_classes > 0 every label must be below it;
// with 0 any byte value is accepted. Throws EnvironmentError as read_idx_images does, and for
// a label out of range.
std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes);

struct IdxPair {
  IdxImages images;
  std::vector<std::int32_t> labels;
};

// Reads matching image and label files and checks that they hold the same number of samples
// (an EnvironmentError naming both files otherwise).
IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int num_classes);

}  // namespace psgd
