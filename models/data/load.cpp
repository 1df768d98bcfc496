// models/data/load.cpp — data set names to loaded splits, with one-line diagnostics.
#include "models/data/load.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/errors.hpp"
#include "models/data/byte_file.hpp"
#include "models/data/cifar_reader.hpp"
#include "models/data/idx_reader.hpp"
#include "models/data/synthetic.hpp"

namespace psgd {
namespace {

// Where Debian's dataset-fashion-mnist package installs the four gzipped IDX files.
constexpr std::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Pixels are bytes 0..255; models see [0, 1] unless raw_pixels asks for the bytes as they are.
constexpr float kUnitScale = 1.0F / 255.0F;
constexpr int kMnistClasses = 10;

constexpr std::string_view kTrainImages = "train-images-idx3-ubyte";
constexpr std::string_view kTrainLabels = "train-labels-idx1-ubyte";
constexpr std::string_view kTestImages = "t10k-images-idx3-ubyte";
constexpr std::string_view kTestLabels = "t10k-labels-idx1-ubyte";

constexpr std::string_view kCifarSubdir = "cifar-10-batches-bin";
constexpr std::array<std::string_view, 5> kCifarTrainFiles = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
    "data_batch_5.bin"};
constexpr std::string_view kCifarTestFile = "test_batch.bin";

constexpr std::string_view kValidNames =
    "fashion-mnist, mnist, idx, cifar10, synthetic-dense[:NxDxC], "
    "synthetic-sparse[:NxDxC[:DENSITY]]";

std::string join(const std::string& dir, std::string_view name) {
  return (std::filesystem::path(dir) / name).string();
}

// The path of `file` (raw or .gz) in dir, or an EnvironmentError naming the .gz path and the
// hint that says where the file comes from.
std::string require(const std::string& data_name, const std::string& dir, std::string_view file,
                    std::string_view hint) {
  if (std::optional<std::string> path = detail::find_data_file(dir, file)) return *path;
  // Something there that is no file (a directory, a FIFO) is named as such, not "not found".
  std::error_code error;
  for (const std::string& path : {join(dir, file), join(dir, file) + ".gz"}) {
    const std::filesystem::file_status st = std::filesystem::status(path, error);
    if (error || !std::filesystem::exists(st)) continue;
    throw EnvironmentError(
        data_name + ": " + path +
        (std::filesystem::is_directory(st) ? " is a directory" : " is not a regular file") +
        ", not a data file; " + std::string(hint));
  }
  throw EnvironmentError(data_name + ": " + join(dir, file) + ".gz not found; " +
                         std::string(hint));
}

float pixel_scale(const DataOptions& options) { return options.raw_pixels ? 1.0F : kUnitScale; }

// fashion-mnist, mnist and idx: the four files in standard names. num_classes 0 means "max
// label + 1 over both splits" (the idx name); otherwise labels must lie below it.
DataSplit load_idx_set(const DataOptions& options, const std::string& dir, std::string_view hint,
                       int num_classes) {
  const std::string train_images = require(options.name, dir, kTrainImages, hint);
  const std::string train_labels = require(options.name, dir, kTrainLabels, hint);
  const std::string test_images = require(options.name, dir, kTestImages, hint);
  const std::string test_labels = require(options.name, dir, kTestLabels, hint);

  IdxPair train = read_idx_pair(train_images, train_labels, num_classes);
  IdxPair test = read_idx_pair(test_images, test_labels, num_classes);
  if (train.images.rows != test.images.rows || train.images.cols != test.images.cols) {
    throw EnvironmentError(test_images + ": images of " + std::to_string(test.images.rows) + "x" +
                           std::to_string(test.images.cols) + " but " + train_images +
                           " holds images of " + std::to_string(train.images.rows) + "x" +
                           std::to_string(train.images.cols));
  }
  if (num_classes == 0) {
    const auto max_label = [](const std::vector<std::int32_t>& labels) {
      return *std::max_element(labels.begin(), labels.end());
    };
    num_classes = std::max(max_label(train.labels), max_label(test.labels)) + 1;
  }

  const ImageShape shape{1, train.images.rows, train.images.cols};
  DataSplit split;
  split.name = options.name;
  split.source = dir;
  split.train = Dataset::from_bytes(shape, std::move(train.images.pixels), std::move(train.labels),
                                    num_classes, pixel_scale(options));
  split.test = Dataset::from_bytes(shape, std::move(test.images.pixels), std::move(test.labels),
                                   num_classes, pixel_scale(options));
  return split;
}

const std::string& require_dir(const DataOptions& options, std::string_view what) {
  if (options.dir.empty()) {
    throw ConfigError(options.name + ": needs --data-dir DIR holding " + std::string(what));
  }
  return options.dir;
}

DataSplit load_cifar10(const DataOptions& options) {
  constexpr std::string_view kWhat =
      "the CIFAR-10 binary version (cifar-10-binary.tar.gz unpacked: data_batch_1..5.bin and "
      "test_batch.bin, .gz accepted); no Debian package provides it";
  const std::string& given = require_dir(options, kWhat);
  // Accept the directory itself or the cifar-10-batches-bin folder that the archive unpacks to.
  std::string dir = given;
  if (!detail::find_data_file(dir, kCifarTrainFiles[0]) &&
      detail::find_data_file(join(given, kCifarSubdir), kCifarTrainFiles[0])) {
    dir = join(given, kCifarSubdir);
  }
  const std::string hint =
      "--data-dir must hold data_batch_1..5.bin and test_batch.bin (.gz accepted), directly or "
      "in " +
      std::string(kCifarSubdir) +
      "/ (cifar-10-binary.tar.gz unpacked); no Debian "
      "package provides CIFAR-10";
  std::vector<std::string> train_paths;
  for (const std::string_view file : kCifarTrainFiles) {
    train_paths.push_back(require(options.name, dir, file, hint));
  }
  const std::string test_path = require(options.name, dir, kCifarTestFile, hint);

  CifarRecords train = read_cifar_files(train_paths);
  CifarRecords test = read_cifar_files({test_path});
  const ImageShape shape{3, 32, 32};
  DataSplit split;
  split.name = options.name;
  split.source = dir;
  split.train = Dataset::from_bytes(shape, std::move(train.pixels), std::move(train.labels),
                                    kCifarClasses, pixel_scale(options));
  split.test = Dataset::from_bytes(shape, std::move(test.pixels), std::move(test.labels),
                                   kCifarClasses, pixel_scale(options));
  return split;
}

}  // namespace

DataSplit load_dataset(const DataOptions& options) {
  const std::string& name = options.name;
  if (name == "fashion-mnist") {
    if (options.dir.empty()) {
      return load_idx_set(options, std::string(kFashionMnistDir),
                          "install Debian's dataset-fashion-mnist (make deps) or pass "
                          "--data-dir DIR",
                          kMnistClasses);
    }
    return load_idx_set(options, options.dir,
                        "--data-dir must hold the four Fashion-MNIST IDX files (.gz or raw)",
                        kMnistClasses);
  }
  if (name == "mnist") {
    constexpr std::string_view kWhat =
        "the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz or raw); no Debian package "
        "provides MNIST";
    return load_idx_set(options, require_dir(options, kWhat),
                        "--data-dir must hold " + std::string(kWhat), kMnistClasses);
  }
  if (name == "idx") {
    constexpr std::string_view kWhat =
        "an IDX data set in standard names (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; .gz or raw)";
    return load_idx_set(options, require_dir(options, kWhat),
                        "--data-dir must hold " + std::string(kWhat), 0);
  }
  if (name == "cifar10") return load_cifar10(options);
  if (is_synthetic_name(name)) {
    return make_synthetic(parse_synthetic_name(name), options.seed).split;
  }
  throw ConfigError("unknown data set '" + name + "'; valid: " + std::string(kValidNames));
}

std::vector<std::string> dataset_files(const DataOptions& options) {
  std::vector<std::string_view> names = {kTrainImages, kTrainLabels, kTestImages, kTestLabels};
  std::vector<std::string> dirs;
  if (options.name == "cifar10") {
    names.assign(kCifarTrainFiles.begin(), kCifarTrainFiles.end());
    names.push_back(kCifarTestFile);
    if (!options.dir.empty()) dirs = {options.dir, join(options.dir, kCifarSubdir)};
  } else if (options.name == "fashion-mnist") {
    dirs = {options.dir.empty() ? std::string(kFashionMnistDir) : options.dir};
  } else if ((options.name == "mnist" || options.name == "idx") && !options.dir.empty()) {
    dirs = {options.dir};
  }
  std::vector<std::string> files;
  std::error_code error;
  for (const std::string& dir : dirs) {
    for (const std::string_view name : names) {
      for (std::string path : {join(dir, name), join(dir, name) + ".gz"}) {
        if (std::filesystem::exists(path, error)) files.push_back(std::move(path));
      }
    }
  }
  return files;
}

std::string dataset_names_help() {
  return "fashion-mnist        Fashion-MNIST, 60000+10000 28x28 grey images, 10 classes "
         "(default; from Debian's dataset-fashion-mnist in " +
         std::string(kFashionMnistDir) +
         ", or --data-dir)\n"
         "mnist                MNIST in IDX files (.gz or raw) from --data-dir; 10 classes\n"
         "idx                  any IDX set in standard file names from --data-dir; classes = "
         "max label + 1\n"
         "cifar10              CIFAR-10 binary version from --data-dir (or its "
         "cifar-10-batches-bin); 3x32x32, 10 classes\n"
         "synthetic-dense[:NxDxC]\n"
         "                     softmax regression, x ~ N(0,I), y ~ softmax(W* x); default "
         "4096x64x10; test N/4; --seed\n"
         "synthetic-sparse[:NxDxC[:DENSITY]]\n"
         "                     the same with DENSITY*D nonzero features per sample (HOGWILD! "
         "regime); default 4096x1024x2:0.02\n";
}

}  // namespace psgd
