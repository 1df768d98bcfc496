// models/batch.hpp — a mini-batch as the models read it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace psgd {

// A non-owning view of `size` samples. Sample j's features are the contiguous column
// features[j * num_features, (j + 1) * num_features): a column-major num_features x size
// matrix, which is what the models map with Eigen. Images are stored channel-major (CHW).
// Labels are class indices in [0, num_classes).
// The features are in the run's scalar type S (Dataset::gather converts the stored samples).
template <class S>
struct BasicBatch {
  const S* features = nullptr;
  const std::int32_t* labels = nullptr;
  std::size_t size = 0;
  std::size_t num_features = 0;
};
using Batch = BasicBatch<float>;

}  // namespace psgd
