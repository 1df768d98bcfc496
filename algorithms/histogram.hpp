// algorithms/histogram.hpp — an integer histogram with an overflow bin and exact moments.
//
// Used for staleness and for failed attempts per update. Bins [0, num_bins) count exact values;
// larger values go to the overflow bin, but count, sum and max stay exact for every value, so
// the mean and max never depend on the bin count (the reference framework silently dropped
// staleness >= 200). Owned by one worker while it runs; merged after the join.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace psgd {

class Histogram {
 public:
  Histogram() = default;
  explicit Histogram(std::size_t num_bins) : bins_(num_bins, 0) {}

  void add(std::int64_t value) noexcept {
    const auto v = static_cast<std::uint64_t>(value < 0 ? 0 : value);
    if (v < bins_.size()) {
      ++bins_[v];
    } else {
      ++overflow_;
    }
    ++count_;
    sum_ += static_cast<double>(v);
    max_ = std::max(max_, static_cast<std::int64_t>(v));
  }

  // Adds other's counts; other must have the same number of bins.
  void merge(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < bins_.size() && i < other.bins_.size(); ++i) {
      bins_[i] += other.bins_[i];
    }
    overflow_ += other.overflow_;
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }

  [[nodiscard]] std::int64_t count() const noexcept { return count_; }
  [[nodiscard]] double sum() const noexcept { return sum_; }
  [[nodiscard]] std::int64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept {
    return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
  }
  [[nodiscard]] std::int64_t overflow() const noexcept { return overflow_; }
  [[nodiscard]] const std::vector<std::int64_t>& bins() const noexcept { return bins_; }

  // Smallest value v with at least q of the mass at or below it (nearest-rank). Returns -1 when
  // the rank falls in the overflow bin (the JSON then reports it as ">= num_bins").
  [[nodiscard]] std::int64_t quantile(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::int64_t>(q * static_cast<double>(count_) + 0.999999999);
    std::int64_t seen = 0;
    for (std::size_t i = 0; i < bins_.size(); ++i) {
      seen += bins_[i];
      if (seen >= std::max<std::int64_t>(rank, 1)) return static_cast<std::int64_t>(i);
    }
    return -1;
  }

 private:
  std::vector<std::int64_t> bins_;
  std::int64_t overflow_ = 0;
  std::int64_t count_ = 0;
  double sum_ = 0.0;
  std::int64_t max_ = 0;
};

}  // namespace psgd
