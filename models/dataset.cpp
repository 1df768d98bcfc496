// models/dataset.cpp — construction and batch gathering.
#include "models/dataset.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace psgd {
namespace {

void check_sizes(std::size_t values, std::size_t per_sample, std::size_t labels) {
  // Internal invariant: the readers validate files before building a Dataset.
  if (per_sample == 0 || values != per_sample * labels) {
    throw std::logic_error("Dataset: sample storage does not match the label count");
  }
}

}  // namespace

Dataset Dataset::from_bytes(ImageShape shape, std::vector<std::uint8_t> pixels,
                            std::vector<std::int32_t> labels, int num_classes, float scale) {
  check_sizes(pixels.size(), shape.size(), labels.size());
  Dataset d;
  d.shape_ = shape;
  d.num_classes_ = num_classes;
  d.scale_ = scale;
  d.bytes_ = std::move(pixels);
  d.labels_ = std::move(labels);
  return d;
}

Dataset Dataset::from_floats(ImageShape shape, std::vector<float> features,
                             std::vector<std::int32_t> labels, int num_classes) {
  check_sizes(features.size(), shape.size(), labels.size());
  Dataset d;
  d.shape_ = shape;
  d.num_classes_ = num_classes;
  d.floats_ = std::move(features);
  d.labels_ = std::move(labels);
  return d;
}

template <class S>
void Dataset::gather(std::span<const std::uint32_t> indices, S* features,
                     std::int32_t* labels) const noexcept {
  const std::size_t d = num_features();
  for (std::size_t j = 0; j < indices.size(); ++j) {
    const std::size_t i = indices[j];
    S* out = features + j * d;
    if (floats_.empty()) {
      const std::uint8_t* in = bytes_.data() + i * d;
      for (std::size_t k = 0; k < d; ++k)
        out[k] = static_cast<S>(static_cast<float>(in[k]) * scale_);
    } else {
      std::copy_n(floats_.data() + i * d, d, out);
    }
    labels[j] = labels_[i];
  }
}

template <class S>
void Dataset::gather_range(std::size_t first, std::size_t n, S* features,
                           std::int32_t* labels) const noexcept {
  const std::size_t d = num_features();
  if (floats_.empty()) {
    const std::uint8_t* in = bytes_.data() + first * d;
    for (std::size_t k = 0; k < n * d; ++k) {
      features[k] = static_cast<S>(static_cast<float>(in[k]) * scale_);
    }
  } else {
    std::copy_n(floats_.data() + first * d, n * d, features);
  }
  std::copy_n(labels_.data() + first, n, labels);
}

template void Dataset::gather(std::span<const std::uint32_t>, float*, std::int32_t*) const noexcept;
template void Dataset::gather(std::span<const std::uint32_t>, double*,
                              std::int32_t*) const noexcept;
template void Dataset::gather_range(std::size_t, std::size_t, float*, std::int32_t*) const noexcept;
template void Dataset::gather_range(std::size_t, std::size_t, double*,
                                    std::int32_t*) const noexcept;

}  // namespace psgd
