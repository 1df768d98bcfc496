// models/batch_sampler.cpp — per-worker permutation sampling.
#include "models/batch_sampler.hpp"

#include <numeric>
#include <span>
#include <utility>

namespace psgd {

BatchSampler::BatchSampler(const Dataset& data, std::size_t batch_size, std::uint64_t seed)
    : data_(&data),
      batch_size_(batch_size),
      rng_(seed),
      order_(data.size()),
      features_(batch_size * data.num_features()),
      labels_(batch_size) {
  std::iota(order_.begin(), order_.end(), 0U);
  reshuffle();
}

void BatchSampler::reshuffle() noexcept {
  for (std::size_t i = order_.size(); i > 1; --i) {  // Fisher–Yates
    std::swap(order_[i - 1], order_[rng_.below(i)]);
  }
  position_ = 0;
}

Batch BatchSampler::next() noexcept {
  if (position_ + batch_size_ > order_.size()) reshuffle();
  const std::span<const std::uint32_t> picked(order_.data() + position_, batch_size_);
  position_ += batch_size_;
  data_->gather(picked, features_.data(), labels_.data());
  return Batch{features_.data(), labels_.data(), batch_size_, data_->num_features()};
}

}  // namespace psgd
