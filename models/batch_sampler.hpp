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

#include "common/random.hpp"
#include "models/batch.hpp"
#include "models/dataset.hpp"

namespace psgd {

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
