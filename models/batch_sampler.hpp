// models/batch_sampler.hpp — one worker's stream of mini-batches.
//
// Each worker walks its own random permutation of the training set, b samples at a time, and
// draws a fresh permutation when fewer than b samples remain (the remainder is skipped, as
// "drop last" does). The permutation depends only on the stream seed, so a run's batches are
// a function of (seed, worker): one-thread runs of every algorithm see exactly the batches of
// sequential SGD. The generator is our own SplitMix64 plus a multiply-shift bounded draw, so
// the sequence is the same on every standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/batch.hpp"
#include "models/dataset.hpp"

namespace psgd {

// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed 64-bit generator.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by Lemire's multiply-shift; the bias (< bound / 2^64) is negligible
  // for data-set sized bounds and keeps the draw branch-free and portable.
  std::uint64_t below(std::uint64_t bound) noexcept {
    __extension__ using Wide = unsigned __int128;  // GCC/Clang builtin; -Wpedantic knows it not
    return static_cast<std::uint64_t>((static_cast<Wide>(next()) * bound) >> 64);
  }
  // Uniform float in [0, 1) from the top 24 bits.
  float uniform01() noexcept { return static_cast<float>(next() >> 40) * 0x1.0p-24F; }

 private:
  std::uint64_t state_;
};

// Seed of worker `worker`'s stream: depends on (seed, worker) only, never on thread start order.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t worker) noexcept;

// Owned by one worker; allocates everything in its constructor, so next() never allocates.
class BatchSampler {
 public:
  BatchSampler(const Dataset& data, std::size_t batch_size, std::uint64_t seed);
  // The next batch; the view stays valid until the following call.
  Batch next() noexcept;
  [[nodiscard]] std::size_t batch_size() const noexcept { return batch_size_; }

 private:
  void reshuffle() noexcept;

  const Dataset* data_;
  std::size_t batch_size_;
  SplitMix64 rng_;
  std::vector<std::uint32_t> order_;
  std::size_t position_ = 0;
  std::vector<float> features_;
  std::vector<std::int32_t> labels_;
};

}  // namespace psgd
