// models/data/byte_file.cpp — zlib-backed reads shared by the IDX and CIFAR readers.
#include "models/data/byte_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include "common/errors.hpp"

namespace psgd::detail {
namespace {

// Measured on Fashion-MNIST (warm page cache, Release): 8 KiB (zlib's default), 256 KiB and
// 4 MiB input buffers all load it in 0.22-0.25 s, because inflate dominates. 256 KiB is kept
// only to cut the read() calls 32-fold on cold or network file systems (not measured there).
constexpr unsigned kGzipBufferBytes = 256U * 1024U;

// gzread takes an unsigned count and returns an int, so one call reads at most INT_MAX bytes.
// A call that meets corrupt data returns nothing of what it decoded, so reads are cut into
// slices of 1 MiB: an error then names where it lies within a slice (a single 47 MB read once
// said "corrupt after 0 bytes" of a stream broken near its end). The slice costs nothing
// measurable next to inflate.
constexpr std::size_t kMaxReadBytes = std::size_t{1} << 20;

// Deflate's best case is 1032 output bytes per input byte (zlib's FAQ: a 258-byte match in at
// most 2 bits, less the block overhead), so a gzip file can never decode to more than this many
// times its own size, whatever its trailer or the data's header claims.
constexpr std::uintmax_t kMaxDeflateRatio = 1032;

// Beyond the estimated size the data is read through a buffer this large and appended, so memory
// grows with the bytes actually decoded, never with a header's claim. 1 MiB: large enough that
// the extra copy is noise next to inflate (about 200 MB/s here), small enough not to matter.
constexpr std::size_t kIncrementalChunkBytes = std::size_t{1} << 20;

}  // namespace

ByteFile::ByteFile(std::string path) : path_(std::move(path)) {
  errno = 0;
  file_ = gzopen(path_.c_str(), "rb");
  if (file_ == nullptr) {
    const int saved = errno;
    throw EnvironmentError(
        path_ + ": cannot open: " + (saved != 0 ? std::strerror(saved) : "out of memory"));
  }
  gzbuffer(file_, kGzipBufferBytes);
}

ByteFile::~ByteFile() {
  if (file_ != nullptr) gzclose(file_);
}

std::size_t ByteFile::read(std::uint8_t* out, std::size_t n) {
  std::size_t total = 0;
  while (total < n) {
    const auto chunk = static_cast<unsigned>(std::min(n - total, kMaxReadBytes));
    const z_off_t before = gztell(file_);  // decoded bytes delivered so far
    const int got = gzread(file_, out + total, chunk);
    if (got < 0) {
      int errnum = 0;
      const char* message = gzerror(file_, &errnum);
      const auto good = static_cast<std::uintmax_t>(before > 0 ? before : 0);
      throw EnvironmentError(path_ + ": corrupt gzip stream between decoded bytes " +
                             std::to_string(good) + " and " + std::to_string(good + chunk) +
                             ": zlib says '" + message + "'");
    }
    total += static_cast<std::size_t>(got);
    if (static_cast<unsigned>(got) < chunk) break;
  }
  return total;
}

std::optional<std::size_t> ByteFile::raw_bytes_left() const {
  if (gzdirect(file_) == 0) return std::nullopt;
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path_, error);
  const z_off_t position = gztell(file_);
  if (error || position < 0) return std::nullopt;
  const auto consumed = static_cast<std::uintmax_t>(position);
  return static_cast<std::size_t>(size > consumed ? size - consumed : 0);
}

std::string ByteFile::end_note() const {
  int errnum = 0;
  const char* message = gzerror(file_, &errnum);
  if (errnum == Z_BUF_ERROR) {
    return std::string(" (truncated gzip stream: zlib says '") + message + "')";
  }
  return "";
}

bool ByteFile::at_end() {
  std::uint8_t byte = 0;
  return read(&byte, 1) == 0;
}

std::optional<std::uintmax_t> decoded_size_bound(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  std::array<unsigned char, 2> magic{};
  if (!in || error || !in.read(reinterpret_cast<char*>(magic.data()), 2)) return std::nullopt;
  if (magic[0] != 0x1fU || magic[1] != 0x8bU) return size;  // read as is
  // A gzip member ends with ISIZE, its decoded size mod 2^32 (little-endian): exact for every
  // member under 4 GiB, as for every real data set; the deflate bound caps a forged one.
  std::array<unsigned char, 4> trailer{};
  if (size < 18 || !in.seekg(-4, std::ios::end) ||
      !in.read(reinterpret_cast<char*>(trailer.data()), 4)) {
    return std::nullopt;
  }
  const std::uintmax_t isize = std::uintmax_t{trailer[0]} | (std::uintmax_t{trailer[1]} << 8) |
                               (std::uintmax_t{trailer[2]} << 16) |
                               (std::uintmax_t{trailer[3]} << 24);
  return std::min(isize, size * kMaxDeflateRatio);
}

std::size_t read_append(ByteFile& file, std::size_t want, std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  // The estimate is reserved and read into in place (one allocation, no copy, for a well-formed
  // file); 0 when nothing is known, so a header alone never reserves anything.
  std::size_t estimate = 0;
  if (const auto raw_left = file.raw_bytes_left()) {
    estimate = std::min(want, *raw_left);
  } else if (const auto bound = decoded_size_bound(file.path())) {
    const z_off_t position = file.position();
    const auto consumed = static_cast<std::uintmax_t>(position > 0 ? position : 0);
    estimate = static_cast<std::size_t>(
        std::min<std::uintmax_t>(want, *bound > consumed ? *bound - consumed : 0));
  }
  if (estimate > 0) {
    out.resize(start + estimate);
    const std::size_t got = file.read(out.data() + start, estimate);
    out.resize(start + got);
    if (got < estimate) return got;
  }
  // Past the estimate (a gzip member over 4 GiB, concatenated members): chunk by chunk.
  std::vector<std::uint8_t> chunk(std::min(want - estimate, kIncrementalChunkBytes));
  while (out.size() - start < want) {
    const std::size_t ask = std::min(chunk.size(), want - (out.size() - start));
    const std::size_t got = file.read(chunk.data(), ask);
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    if (got < ask) break;
  }
  return out.size() - start;
}

std::optional<std::string> find_data_file(const std::string& dir, std::string_view name) {
  const std::filesystem::path base = std::filesystem::path(dir) / name;
  std::error_code error;
  if (std::filesystem::is_regular_file(base, error)) return base.string();
  std::filesystem::path gz = base;
  gz += ".gz";
  if (std::filesystem::is_regular_file(gz, error)) return gz.string();
  return std::nullopt;
}

}  // namespace psgd::detail
