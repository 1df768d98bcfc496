// models/test/data_reservation_test.cpp — the readers reserve memory in proportion to what a
// file can hold, never to what its header claims: a small gzip file announcing 4e9 images must
// not reserve a gigabyte before the "truncated" error, and a CIFAR batch of one record must not
// reserve room for the official 10,000.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "models/data/byte_file.hpp"
#include "models/data/cifar_reader.hpp"
#include "models/data/idx_reader.hpp"
#include "models/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// Appends one gzip member holding `bytes` to `path` (several calls: a multi-member file, which
// gzread decodes as the concatenation and whose trailer only gives the last member's size).
void append_gzip_member(const fs::path& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "ab");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

Bytes idx_header(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes out;
  for (const std::uint32_t word : {0x00000803U, count, rows, cols}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<std::uint8_t>(word >> shift));
    }
  }
  return out;
}

using Reservation = psgd::test::ScratchDirTest;

constexpr std::uint32_t kClaimedImages = 4000000000U;
constexpr std::size_t kPixelsWritten = 100;

TEST_F(Reservation, GzipHeaderClaimingBillionsOfImagesReservesOnlyWhatTheFileHolds) {
  const fs::path path = scratch_ / "train-images-idx3-ubyte.gz";
  Bytes bytes = idx_header(kClaimedImages, 28, 28);
  bytes.resize(bytes.size() + kPixelsWritten, 7);
  append_gzip_member(path, bytes);

  detail::ByteFile file(path.string());
  Bytes header(16);
  ASSERT_EQ(file.read(header.data(), header.size()), 16U);
  Bytes pixels;
  const std::size_t want = std::size_t{kClaimedImages} * 28 * 28;
  EXPECT_EQ(detail::read_append(file, want, pixels), kPixelsWritten);
  // The file decodes to 116 bytes; the old reader reserved min(claim, 1 GiB).
  EXPECT_LE(pixels.capacity(), std::size_t{1} << 20);
  EXPECT_EQ(pixels, Bytes(kPixelsWritten, 7));

  // And the reader itself still says "truncated", naming the file.
  try {
    static_cast<void>(read_idx_images(path.string()));
    ADD_FAILURE() << "a truncated file was accepted";
  } catch (const EnvironmentError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST_F(Reservation, AForgedGzipTrailerIsCappedByDeflatesRatio) {
  const fs::path path = scratch_ / "forged.gz";
  append_gzip_member(path, Bytes(kPixelsWritten, 3));
  {  // ISIZE (the last 4 bytes) claims 4 GiB - 1.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-4, std::ios::end);
    const char all_ones[4] = {'\xff', '\xff', '\xff', '\xff'};
    file.write(all_ones, 4);
  }
  const auto bound = detail::decoded_size_bound(path.string());
  ASSERT_TRUE(bound.has_value());
  EXPECT_LE(*bound, fs::file_size(path) * 1032);
}

TEST_F(Reservation, MultiMemberGzipPastTheTrailersEstimateIsReadWhole) {
  // The trailer gives only the last member's size (300 bytes): the rest is read incrementally.
  const fs::path path = scratch_ / "members.gz";
  Bytes first(3 * 1000 * 1000);
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<std::uint8_t>(i * 13);
  append_gzip_member(path, first);
  append_gzip_member(path, Bytes(300, 9));
  EXPECT_EQ(detail::decoded_size_bound(path.string()), std::optional<std::uintmax_t>(300));

  detail::ByteFile file(path.string());
  Bytes out;
  ASSERT_EQ(detail::read_append(file, first.size() + 300, out), first.size() + 300);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), out.begin()));
  EXPECT_EQ(Bytes(out.begin() + static_cast<std::ptrdiff_t>(first.size()), out.end()),
            Bytes(300, 9));
  EXPECT_TRUE(file.at_end());
}

TEST_F(Reservation, CifarBatchOfOneGzippedRecordReservesOneRecord) {
  const fs::path path = scratch_ / "data_batch_1.bin.gz";
  Bytes record(kCifarRecordBytes, 5);
  record[0] = 3;
  append_gzip_member(path, record);
  const CifarRecords records = read_cifar_files({path.string()});
  ASSERT_EQ(records.labels.size(), 1U);
  EXPECT_EQ(records.labels[0], 3);
  // The old reader reserved the official 10,000 records (30 MB) for every gzip file.
  EXPECT_LE(records.pixels.capacity(), std::size_t{kCifarImageBytes});
}

}  // namespace
}  // namespace psgd
