// models/batch_sampler.cpp — per-worker permutation sampling.
#include "models/batch_sampler.hpp"

#include <algorithm>
#include <numeric>
#include <span>
#include <utility>

namespace psgd {

template <class S>
BasicBatchSampler<S>::BasicBatchSampler(const Dataset& data, std::size_t batch_size,
                                        std::uint64_t seed)
    : BasicBatchSampler(data, batch_size, seed, SampleRange{0, data.size()}) {}

template <class S>
BasicBatchSampler<S>::BasicBatchSampler(const Dataset& data, std::size_t batch_size,
                                        std::uint64_t seed, SampleRange slice)
    : data_(&data),
      batch_size_(batch_size),
      rng_(seed),
      order_(slice.size()),
      features_(batch_size * data.num_features()),
      labels_(batch_size) {
  std::iota(order_.begin(), order_.end(), static_cast<std::uint32_t>(slice.begin));
  reshuffle();
}

SharedBatchSchedule::SharedBatchSchedule(std::size_t num_samples, std::size_t batch_size,
                                         std::uint64_t seed)
    : order_(num_samples),
      batch_size_(batch_size),
      num_batches_((num_samples + batch_size - 1) / batch_size) {
  std::iota(order_.begin(), order_.end(), 0U);
  SplitMix64 rng(seed);
  for (std::size_t i = order_.size(); i > 1; --i) {  // Fisher–Yates, once
    std::swap(order_[i - 1], order_[rng.below(i)]);
  }
}

std::span<const std::uint32_t> SharedBatchSchedule::next() noexcept {
  // relaxed: the counter only hands out batch indices; the order is immutable after construction
  // (published to the workers by their creation).
  const std::uint64_t k = next_.fetch_add(1, std::memory_order_relaxed) % num_batches_;
  const std::size_t start = static_cast<std::size_t>(k) * batch_size_;
  return {order_.data() + start, std::min(batch_size_, order_.size() - start)};
}

template <class S>
BasicBatchSampler<S>::BasicBatchSampler(const Dataset& data, std::size_t batch_size,
                                        SharedBatchSchedule& schedule)
    : BasicBatchSampler(data, batch_size, std::uint64_t{0}) {
  schedule_ = &schedule;
}

template <class S>
void BasicBatchSampler<S>::reshuffle() noexcept {
  for (std::size_t i = order_.size(); i > 1; --i) {  // Fisher–Yates
    std::swap(order_[i - 1], order_[rng_.below(i)]);
  }
  position_ = 0;
}

template <class S>
BasicBatch<S> BasicBatchSampler<S>::next() noexcept {
  if (schedule_ != nullptr) {
    const std::span<const std::uint32_t> picked = schedule_->next();
    data_->gather(picked, features_.data(), labels_.data());
    return BasicBatch<S>{features_.data(), labels_.data(), picked.size(), data_->num_features()};
  }
  if (position_ + batch_size_ > order_.size()) reshuffle();
  const std::span<const std::uint32_t> picked(order_.data() + position_, batch_size_);
  position_ += batch_size_;
  data_->gather(picked, features_.data(), labels_.data());
  return BasicBatch<S>{features_.data(), labels_.data(), batch_size_, data_->num_features()};
}

template class BasicBatchSampler<float>;
template class BasicBatchSampler<double>;

}  // namespace psgd
