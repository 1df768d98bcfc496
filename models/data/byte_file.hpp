// models/data/byte_file.hpp — sequential reads of a raw or gzip-compressed data file.
//
// The IDX and CIFAR readers share this: zlib's gzread decompresses .gz files and passes other
// files through unchanged ("transparent" mode), so one code path reads both, and a truncated
// or corrupt gzip stream is told apart from a file that simply ends early.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psgd::detail {

// Owns one open file. Not thread-safe; the readers use one per file, on the loading thread.
class ByteFile {
 public:
  // Throws EnvironmentError ("PATH: cannot open: REASON") if the file cannot be opened.
  explicit ByteFile(std::string path);
  ~ByteFile();
  ByteFile(const ByteFile&) = delete;
  ByteFile& operator=(const ByteFile&) = delete;

  // Reads up to n bytes into out and returns how many were read; fewer than n only at the end
  // of the data. Throws EnvironmentError ("PATH: corrupt gzip stream: ...") on a data error.
  std::size_t read(std::uint8_t* out, std::size_t n);

  // Bytes left after the current position when the file is uncompressed (known from its size
  // without reading it); nullopt for a gzip file. Valid once something has been read.
  [[nodiscard]] std::optional<std::size_t> raw_bytes_left() const;

  // After a short read: "" when the data simply ended, or " (truncated gzip stream: zlib says
  // 'unexpected end of file')" when the compressed stream was cut off. Meant to be appended
  // to the caller's own "truncated: ..." message.
  [[nodiscard]] std::string end_note() const;

  // True if no byte is left (reads one byte to find out).
  [[nodiscard]] bool at_end();

  // Decoded bytes read so far (gztell).
  [[nodiscard]] z_off_t position() const { return gztell(file_); }

  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

// An upper bound on the bytes the file at `path` decodes to, known without decoding it: its size
// for an uncompressed file; for a gzip file its trailer's ISIZE, capped at 1032 times its size
// (deflate's maximum ratio). nullopt if the file cannot be read. Never believes a data header,
// so a corrupt one cannot make a reader reserve memory the file could not fill.
std::optional<std::uintmax_t> decoded_size_bound(const std::string& path);

// Reads up to `want` bytes, appending them to `out`, and returns how many were appended. Room
// is reserved for at most what the file can hold (raw_bytes_left, or decoded_size_bound for a
// gzip file), so a well-formed file costs one allocation and no copy; past that, the data is
// appended 1 MiB at a time as it actually arrives. A header announcing 4e9 images in a small
// file thus costs memory in proportion to the file, not to the header.
std::size_t read_append(ByteFile& file, std::size_t want, std::vector<std::uint8_t>& out);

// `dir/name` if that file exists, else `dir/name.gz` if that exists, else nullopt. The raw
// file wins when both exist because it needs no decompression.
std::optional<std::string> find_data_file(const std::string& dir, std::string_view name);

}  // namespace psgd::detail
