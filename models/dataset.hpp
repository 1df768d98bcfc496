// models/dataset.hpp — one split of a labelled data set, stored once and compactly.
//
// Images read from IDX or CIFAR files stay bytes (60k Fashion-MNIST images: 47 MB rather than
// 188 MB as floats) and are scaled to float only when a batch is gathered; synthetic data is
// stored as floats. Either way there is exactly one copy of the samples per split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace psgd {

struct ImageShape {
  int channels = 1;
  int height = 1;
  int width = 1;
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
  bool operator==(const ImageShape&) const = default;
};

// Immutable after construction, so any number of threads may gather from it concurrently.
class Dataset {
 public:
  Dataset() = default;
  // Byte samples, shape.size() bytes each, CHW; gather() writes byte * scale.
  static Dataset from_bytes(ImageShape shape, std::vector<std::uint8_t> pixels,
                            std::vector<std::int32_t> labels, int num_classes, float scale);
  // Float samples, shape.size() floats each.
  static Dataset from_floats(ImageShape shape, std::vector<float> features,
                             std::vector<std::int32_t> labels, int num_classes);

  [[nodiscard]] std::size_t size() const noexcept { return labels_.size(); }
  [[nodiscard]] std::size_t num_features() const noexcept { return shape_.size(); }
  [[nodiscard]] ImageShape shape() const noexcept { return shape_; }
  [[nodiscard]] int num_classes() const noexcept { return num_classes_; }
  [[nodiscard]] std::span<const std::int32_t> labels() const noexcept { return labels_; }

  // Writes samples indices[0..n) as the columns of the num_features x n column-major matrix
  // `features` and their labels into `labels`. Both outputs must hold n entries (n columns).
  // No allocation; safe to call from many threads at once. S is float or double (instantiated
  // in dataset.cpp): a double gather converts the float value a float gather writes, so both
  // precisions train on exactly the same sample values.
  template <class S>
  void gather(std::span<const std::uint32_t> indices, S* features,
              std::int32_t* labels) const noexcept;

  // Copies samples [first, first + n) the same way (evaluation walks the split in order).
  template <class S>
  void gather_range(std::size_t first, std::size_t n, S* features,
                    std::int32_t* labels) const noexcept;

 private:
  ImageShape shape_;
  int num_classes_ = 0;
  float scale_ = 1.0F;
  std::vector<std::uint8_t> bytes_;  // used when the source is bytes
  std::vector<float> floats_;        // used when the source is floats
  std::vector<std::int32_t> labels_;
};

// Training and test split of one named data set, plus where it came from (recorded in the JSON).
struct DataSplit {
  std::string name;    // "fashion-mnist", "mnist", "cifar10", "synthetic-dense", ...
  std::string source;  // directory read, or the generator's parameters
  Dataset train;
  Dataset test;
};

}  // namespace psgd
