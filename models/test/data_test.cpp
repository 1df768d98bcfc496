// models/test/data_test.cpp — data loading: IDX and CIFAR readers on small fixture files
// written here (raw and gzipped), their one-line diagnostics, the name table, and the
// synthetic generators.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "models/data/load.hpp"
#include "models/data/synthetic.hpp"
#include "models/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

void write_file(const fs::path& path, const Bytes& bytes, bool gzip) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr) << path;
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(file), Z_OK);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
  }
}

void put_u32(Bytes& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

// Pixel value of image i at offset k: distinct enough to catch misplaced bytes.
std::uint8_t pixel(std::size_t i, std::size_t k) {
  return static_cast<std::uint8_t>((i * 37 + k * 11 + 5) % 256);
}

Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes out;
  put_u32(out, 0x00000803);
  put_u32(out, count);
  put_u32(out, rows);
  put_u32(out, cols);
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t k = 0; k < std::size_t{rows} * cols; ++k) out.push_back(pixel(i, k));
  }
  return out;
}

Bytes idx_labels(const std::vector<std::uint8_t>& labels) {
  Bytes out;
  put_u32(out, 0x00000801);
  put_u32(out, static_cast<std::uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

Bytes cifar_records(const std::vector<std::uint8_t>& labels, std::size_t first_index) {
  Bytes out;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    out.push_back(labels[r]);
    for (std::size_t k = 0; k < 3072; ++k) out.push_back(pixel(first_index + r, k));
  }
  return out;
}

// A fresh directory per test, removed afterwards.
class DataDir : public psgd::test::ScratchDirTest {
 protected:
  // A 5-train / 3-test IDX set of 3x4 images with labels below 10.
  void write_idx_set(bool gzip) {
    const std::string ext = gzip ? ".gz" : "";
    write_file(scratch_ / ("train-images-idx3-ubyte" + ext), idx_images(5, 3, 4), gzip);
    write_file(scratch_ / ("train-labels-idx1-ubyte" + ext), idx_labels({0, 3, 1, 2, 3}), gzip);
    write_file(scratch_ / ("t10k-images-idx3-ubyte" + ext), idx_images(3, 3, 4), gzip);
    write_file(scratch_ / ("t10k-labels-idx1-ubyte" + ext), idx_labels({2, 0, 1}), gzip);
  }

  DataOptions options(const std::string& name) const {
    DataOptions o;
    o.name = name;
    o.dir = scratch_.string();
    return o;
  }
};

// The message of the EnvironmentError that `load` throws (a failure if it throws none).
std::string environment_error(const std::function<void()>& load) {
  try {
    load();
  } catch (const EnvironmentError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no EnvironmentError";
  return "";
}

std::string config_error(const std::function<void()>& load) {
  try {
    load();
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

void check_idx_round_trip(const DataSplit& split, float scale) {
  ASSERT_EQ(split.train.size(), 5U);
  ASSERT_EQ(split.test.size(), 3U);
  EXPECT_EQ(split.train.shape(), (ImageShape{1, 3, 4}));
  EXPECT_EQ(split.test.shape(), (ImageShape{1, 3, 4}));
  EXPECT_EQ(std::vector<std::int32_t>(split.train.labels().begin(), split.train.labels().end()),
            (std::vector<std::int32_t>{0, 3, 1, 2, 3}));
  std::vector<float> features(5 * 12);
  std::vector<std::int32_t> labels(5);
  split.train.gather_range(0, 5, features.data(), labels.data());
  for (std::size_t i = 0; i < 5; ++i) {
    for (std::size_t k = 0; k < 12; ++k) {
      ASSERT_FLOAT_EQ(features[i * 12 + k], static_cast<float>(pixel(i, k)) * scale) << i << k;
    }
  }
}

TEST_F(DataDir, IdxRoundTripRaw) {
  write_idx_set(false);
  const DataSplit split = load_dataset(options("idx"));
  check_idx_round_trip(split, 1.0F / 255.0F);
  EXPECT_EQ(split.train.num_classes(), 4);  // max label 3, + 1
  EXPECT_EQ(split.name, "idx");
  EXPECT_EQ(split.source, scratch_.string());
}

TEST_F(DataDir, IdxRoundTripGzipAndRawPixels) {
  write_idx_set(true);
  DataOptions o = options("idx");
  o.raw_pixels = true;
  check_idx_round_trip(load_dataset(o), 1.0F);
}

TEST_F(DataDir, IdxFashionMnistNameFromDirHasTenClasses) {
  write_idx_set(true);
  const DataSplit split = load_dataset(options("fashion-mnist"));
  check_idx_round_trip(split, 1.0F / 255.0F);
  EXPECT_EQ(split.train.num_classes(), 10);
  EXPECT_EQ(split.test.num_classes(), 10);
  EXPECT_EQ(split.name, "fashion-mnist");
}

TEST_F(DataDir, IdxWrongMagic) {
  write_idx_set(false);
  // A label file where the images belong.
  write_file(scratch_ / "train-images-idx3-ubyte", idx_labels({1, 2}), false);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, (scratch_ / "train-images-idx3-ubyte").string() + ": wrong magic");
  expect_contains(message, "0x00000801");
}

TEST_F(DataDir, IdxTruncatedRaw) {
  write_idx_set(false);
  Bytes images = idx_images(5, 3, 4);
  images.erase(images.end() - 7, images.end());
  write_file(scratch_ / "train-images-idx3-ubyte", images, false);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, (scratch_ / "train-images-idx3-ubyte").string() +
                               ": truncated: header announces 5 images of 3x4 (60 bytes) but "
                               "the file holds 53");
}

TEST_F(DataDir, IdxTruncatedGzipStream) {
  write_idx_set(true);
  // Compress a larger image file, then cut the compressed stream in half.
  const fs::path path = scratch_ / "train-images-idx3-ubyte.gz";
  write_file(path, idx_images(200, 28, 28), true);
  fs::resize_file(path, fs::file_size(path) / 2);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, path.string() + ": truncated: header announces 200 images of 28x28");
  expect_contains(message, "truncated gzip stream");
}

TEST_F(DataDir, IdxGzipCutAfterDataLacksTrailer) {
  write_idx_set(true);
  const fs::path path = scratch_ / "t10k-labels-idx1-ubyte.gz";
  fs::resize_file(path, fs::file_size(path) - 8);  // drop the CRC32 + size trailer
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, path.string() + ": truncated");
  expect_contains(message, "truncated gzip stream");
}

TEST_F(DataDir, IdxCorruptGzipStream) {
  write_idx_set(true);
  const fs::path path = scratch_ / "train-labels-idx1-ubyte.gz";
  Bytes labels(1000);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  write_file(path, idx_labels(labels), true);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(-8, std::ios::end);  // flip the stored CRC32
  file.put('\x55');
  file.close();
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, path.string() + ": corrupt gzip stream");
}

TEST_F(DataDir, IdxTrailingBytes) {
  write_idx_set(false);
  Bytes labels = idx_labels({0, 3, 1, 2, 3});
  labels.push_back(4);
  write_file(scratch_ / "train-labels-idx1-ubyte", labels, false);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, "train-labels-idx1-ubyte: holds more bytes than the header announces");
}

TEST_F(DataDir, IdxCountMismatch) {
  write_idx_set(false);
  write_file(scratch_ / "t10k-labels-idx1-ubyte", idx_labels({1, 2}), false);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message,
                  (scratch_ / "t10k-labels-idx1-ubyte").string() + ": count mismatch: 2 labels");
  expect_contains(message, (scratch_ / "t10k-images-idx3-ubyte").string() + " holds 3 images");
}

TEST_F(DataDir, IdxLabelOutOfRange) {
  write_idx_set(false);
  write_file(scratch_ / "train-labels-idx1-ubyte", idx_labels({0, 3, 10, 2, 3}), false);
  const std::string message = environment_error([&] { load_dataset(options("mnist")); });
  expect_contains(message, (scratch_ / "train-labels-idx1-ubyte").string() +
                               ": label 10 of sample 2 is out of range [0, 10)");
}

TEST_F(DataDir, IdxZeroImages) {
  write_idx_set(false);
  write_file(scratch_ / "t10k-images-idx3-ubyte", idx_images(0, 3, 4), false);
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, "t10k-images-idx3-ubyte: header announces zero images");
}

TEST_F(DataDir, IdxMissingFileNamesFileAndFlag) {
  write_idx_set(false);
  fs::remove(scratch_ / "t10k-images-idx3-ubyte");
  const std::string message = environment_error([&] { load_dataset(options("fashion-mnist")); });
  expect_contains(message, "fashion-mnist: " + (scratch_ / "t10k-images-idx3-ubyte").string() +
                               ".gz not found");
  expect_contains(message, "--data-dir");
  const std::string mnist = environment_error([&] { load_dataset(options("mnist")); });
  expect_contains(mnist, "no Debian package");
}

// A directory where a data file belongs is named as a directory (it was "not found").
TEST_F(DataDir, IdxDirectoryInPlaceOfAFileIsNamedAsSuch) {
  write_idx_set(false);
  fs::remove(scratch_ / "t10k-images-idx3-ubyte");
  fs::create_directory(scratch_ / "t10k-images-idx3-ubyte");
  const std::string message = environment_error([&] { load_dataset(options("mnist")); });
  expect_contains(message, (scratch_ / "t10k-images-idx3-ubyte").string() + " is a directory");
  EXPECT_EQ(message.find("not found"), std::string::npos) << message;
}

// A gzip stream broken past its first megabyte says where, not "corrupt after 0 bytes" (one read
// of the whole block once lost the count of what it had decoded).
TEST_F(DataDir, IdxCorruptGzipStreamSaysWhereNotZeroBytes) {
  write_idx_set(true);
  const fs::path path = scratch_ / "train-labels-idx1-ubyte.gz";
  Bytes labels(3'000'000);
  std::uint32_t x = 12345;
  for (std::uint8_t& l : labels) {
    x = x * 1664525U + 1013904223U;  // pseudo-random, so the stream stays long
    l = static_cast<std::uint8_t>((x >> 24) % 10);
  }
  write_file(path, idx_labels(labels), true);
  const std::uintmax_t size = fs::file_size(path);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  for (std::uintmax_t k = size * 3 / 4; k < size * 3 / 4 + 64; ++k) {
    file.seekp(static_cast<std::streamoff>(k));
    file.put('\xff');
  }
  file.close();
  const std::string message = environment_error([&] { load_dataset(options("idx")); });
  expect_contains(message, path.string() + ": corrupt gzip stream between decoded bytes ");
  EXPECT_EQ(message.find("between decoded bytes 8 and"), std::string::npos) << message;
}

TEST(DataLoad, MnistWithoutDirSaysNoDebianPackage) {
  DataOptions o;
  o.name = "mnist";
  const std::string message = config_error([&] { load_dataset(o); });
  expect_contains(message, "--data-dir");
  expect_contains(message, "no Debian package");
}

TEST(DataLoad, UnknownNameListsValidNames) {
  DataOptions o;
  o.name = "imagenet";
  const std::string message = config_error([&] { load_dataset(o); });
  expect_contains(message, "unknown data set 'imagenet'");
  for (const char* name :
       {"fashion-mnist", "mnist", "idx", "cifar10", "synthetic-dense", "synthetic-sparse"}) {
    expect_contains(message, name);
    expect_contains(dataset_names_help(), name);
  }
}

// CIFAR-10: five training batches of 2 records and a test batch of 3.
class CifarDir : public DataDir {
 protected:
  void write_cifar(const fs::path& dir, bool gzip) {
    fs::create_directories(dir);
    const std::string ext = gzip ? ".gz" : "";
    for (std::size_t b = 0; b < 5; ++b) {
      const auto label = static_cast<std::uint8_t>(b);
      write_file(dir / ("data_batch_" + std::to_string(b + 1) + ".bin" + ext),
                 cifar_records({label, static_cast<std::uint8_t>(9 - label)}, 2 * b), gzip);
    }
    write_file(dir / ("test_batch.bin" + ext), cifar_records({7, 8, 9}, 100), gzip);
  }
};

void check_cifar(const DataSplit& split, float scale) {
  ASSERT_EQ(split.train.size(), 10U);
  ASSERT_EQ(split.test.size(), 3U);
  EXPECT_EQ(split.train.shape(), (ImageShape{3, 32, 32}));
  EXPECT_EQ(split.train.num_classes(), 10);
  EXPECT_EQ(split.test.labels()[2], 9);
  std::vector<float> features(10 * 3072);
  std::vector<std::int32_t> labels(10);
  split.train.gather_range(0, 10, features.data(), labels.data());
  for (std::size_t i = 0; i < 10; ++i) {
    const std::size_t batch = i / 2;
    EXPECT_EQ(labels[i], i % 2 == 0 ? static_cast<int>(batch) : static_cast<int>(9 - batch));
    for (std::size_t k = 0; k < 3072; k += 97) {
      ASSERT_FLOAT_EQ(features[i * 3072 + k], static_cast<float>(pixel(i, k)) * scale);
    }
  }
}

TEST_F(CifarDir, CifarRoundTripRaw) {
  write_cifar(scratch_, false);
  const DataSplit split = load_dataset(options("cifar10"));
  check_cifar(split, 1.0F / 255.0F);
  EXPECT_EQ(split.name, "cifar10");
}

TEST_F(CifarDir, CifarRoundTripGzipInSubdirRawPixels) {
  write_cifar(scratch_ / "cifar-10-batches-bin", true);
  DataOptions o = options("cifar10");
  o.raw_pixels = true;
  const DataSplit split = load_dataset(o);
  check_cifar(split, 1.0F);
  EXPECT_EQ(split.source, (scratch_ / "cifar-10-batches-bin").string());
}

TEST_F(CifarDir, CifarPartialRecord) {
  write_cifar(scratch_, false);
  Bytes records = cifar_records({1, 2}, 0);
  records.erase(records.end() - 100, records.end());
  write_file(scratch_ / "data_batch_3.bin", records, false);
  const std::string message = environment_error([&] { load_dataset(options("cifar10")); });
  expect_contains(message, (scratch_ / "data_batch_3.bin").string() +
                               ": truncated or not the CIFAR-10 binary version: 6046 bytes");
}

TEST_F(CifarDir, CifarLabelOutOfRange) {
  write_cifar(scratch_, false);
  write_file(scratch_ / "test_batch.bin", cifar_records({1, 42}, 0), false);
  const std::string message = environment_error([&] { load_dataset(options("cifar10")); });
  expect_contains(message, (scratch_ / "test_batch.bin").string() +
                               ": label 42 of record 1 is out of range [0, 10)");
}

TEST_F(CifarDir, CifarMissingFile) {
  write_cifar(scratch_, false);
  fs::remove(scratch_ / "data_batch_4.bin");
  const std::string message = environment_error([&] { load_dataset(options("cifar10")); });
  expect_contains(message,
                  "cifar10: " + (scratch_ / "data_batch_4.bin").string() + ".gz not found");
  expect_contains(message, "--data-dir");
}

TEST_F(CifarDir, CifarEmptyFile) {
  write_cifar(scratch_, false);
  write_file(scratch_ / "data_batch_2.bin", {}, false);
  const std::string message = environment_error([&] { load_dataset(options("cifar10")); });
  expect_contains(message, "data_batch_2.bin: holds no records");
}

TEST(DataFashionMnist, LoadsInstalledPackage) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  }
  const auto start = std::chrono::steady_clock::now();
  const DataSplit split = load_dataset(DataOptions{});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("load_seconds", std::to_string(seconds));
  EXPECT_EQ(split.name, "fashion-mnist");
  EXPECT_EQ(split.source, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(split.train.size(), 60000U);
  EXPECT_EQ(split.test.size(), 10000U);
  EXPECT_EQ(split.train.shape(), (ImageShape{1, 28, 28}));
  EXPECT_EQ(split.train.num_classes(), 10);
}

// ---- synthetic generators ----

std::vector<float> all_features(const Dataset& data) {
  std::vector<float> out(data.size() * data.num_features());
  std::vector<std::int32_t> labels(data.size());
  data.gather_range(0, data.size(), out.data(), labels.data());
  return out;
}

DataSplit synthetic(const std::string& name, std::uint64_t seed) {
  DataOptions o;
  o.name = name;
  o.seed = seed;
  return load_dataset(o);
}

TEST(Synthetic, DenseShapeLabelsAndDeterminism) {
  const DataSplit a = synthetic("synthetic-dense:400x12x5", 7);
  EXPECT_EQ(a.name, "synthetic-dense");
  EXPECT_EQ(a.train.size(), 400U);
  EXPECT_EQ(a.test.size(), 100U);
  EXPECT_EQ(a.train.shape(), (ImageShape{1, 1, 12}));
  EXPECT_EQ(a.train.num_classes(), 5);
  std::vector<int> seen(5, 0);
  for (const std::int32_t y : a.train.labels()) {
    ASSERT_GE(y, 0);
    ASSERT_LT(y, 5);
    ++seen[static_cast<std::size_t>(y)];
  }
  for (const int count : seen) EXPECT_GT(count, 0);
  expect_contains(a.source, "seed=7");

  const DataSplit same = synthetic("synthetic-dense:400x12x5", 7);
  EXPECT_EQ(all_features(a.train), all_features(same.train));
  EXPECT_EQ(all_features(a.test), all_features(same.test));
  EXPECT_TRUE(
      std::equal(a.train.labels().begin(), a.train.labels().end(), same.train.labels().begin()));
  const DataSplit other = synthetic("synthetic-dense:400x12x5", 8);
  EXPECT_NE(all_features(a.train), all_features(other.train));
}

TEST(Synthetic, DefaultsApplyWithoutSuffix) {
  const SyntheticSpec dense = parse_synthetic_name("synthetic-dense");
  EXPECT_EQ(dense.train_samples, kDenseDefaults.train_samples);
  EXPECT_EQ(dense.features, kDenseDefaults.features);
  EXPECT_EQ(dense.classes, kDenseDefaults.classes);
  const SyntheticSpec sparse = parse_synthetic_name("synthetic-sparse:100x50x3");
  EXPECT_EQ(sparse.kind, SyntheticKind::kSparse);
  EXPECT_EQ(sparse.features, 50U);
  EXPECT_DOUBLE_EQ(sparse.density, kSparseDefaults.density);
  EXPECT_DOUBLE_EQ(parse_synthetic_name("synthetic-sparse:100x50x3:0.25").density, 0.25);
}

TEST(Synthetic, BadSuffixIsConfigError) {
  for (const char* name :
       {"synthetic-dense:100x10", "synthetic-dense:100x10x1", "synthetic-dense:3x10x2",
        "synthetic-dense:axbxc", "synthetic-dense:100x10x2:0.5", "synthetic-sparse:100x10x2:0",
        "synthetic-sparse:100x10x2:1.5", "synthetic-dense:100000000x100000x2"}) {
    DataOptions o;
    o.name = name;
    expect_contains(config_error([&] { load_dataset(o); }), name);
  }
}

TEST(Synthetic, SparseHasRequestedDensity) {
  const SyntheticProblem problem =
      make_synthetic(parse_synthetic_name("synthetic-sparse:500x200x3:0.05"), 3);
  EXPECT_EQ(problem.nonzeros_per_sample, 10U);
  const Dataset& train = problem.split.train;
  EXPECT_EQ(train.shape(), (ImageShape{1, 1, 200}));
  const std::vector<float> x = all_features(train);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < train.size(); ++i) {
    std::size_t row_nonzero = 0;
    for (std::size_t j = 0; j < 200; ++j) row_nonzero += x[i * 200 + j] != 0.0F ? 1 : 0;
    EXPECT_LE(row_nonzero, 10U);
    nonzero += row_nonzero;
  }
  const double density = static_cast<double>(nonzero) / static_cast<double>(x.size());
  EXPECT_NEAR(density, 0.05, 0.001);
  for (const std::int32_t y : train.labels()) ASSERT_LT(y, 3);
  // Every feature column is used by some sample (positions are spread over all of D).
  std::vector<bool> used(200, false);
  for (std::size_t k = 0; k < x.size(); ++k) used[k % 200] = used[k % 200] || x[k] != 0.0F;
  EXPECT_EQ(std::count(used.begin(), used.end(), true), 200);
}

// Mean cross-entropy of softmax(W x) (no bias) over a split.
double mean_loss(const Dataset& data, const std::vector<float>& weights) {
  const std::vector<float> x = all_features(data);
  const std::size_t d = data.num_features();
  const auto c = static_cast<std::size_t>(data.num_classes());
  double total = 0.0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::vector<double> z(c, 0.0);
    double max_z = -1e300;
    for (std::size_t k = 0; k < c; ++k) {
      for (std::size_t j = 0; j < d; ++j) z[k] += double{weights[k * d + j]} * x[i * d + j];
      max_z = std::max(max_z, z[k]);
    }
    double partition = 0.0;
    for (const double v : z) partition += std::exp(v - max_z);
    total += max_z + std::log(partition) - z[static_cast<std::size_t>(data.labels()[i])];
  }
  return total / static_cast<double>(data.size());
}

TEST(Synthetic, TrueWeightsBeatZeroWeights) {
  for (const char* name : {"synthetic-dense:2000x16x4", "synthetic-sparse:2000x400x4:0.02"}) {
    const SyntheticProblem problem = make_synthetic(parse_synthetic_name(name), 11);
    const std::vector<float> zero(problem.true_weights.size(), 0.0F);
    const double zero_loss = mean_loss(problem.split.test, zero);
    const double true_loss = mean_loss(problem.split.test, problem.true_weights);
    EXPECT_NEAR(zero_loss, std::log(4.0), 1e-9) << name;
    EXPECT_LT(true_loss, 0.75 * zero_loss) << name;
    // The Bayes loss estimate is what W* scores on fresh samples, up to sampling noise.
    EXPECT_NEAR(true_loss, problem.bayes_loss, 0.1) << name;
    EXPECT_LT(problem.bayes_loss, std::log(4.0)) << name;
  }
}

}  // namespace
}  // namespace psgd
