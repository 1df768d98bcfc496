// models/batch_sampler.hpp — one worker's stream of mini-batches.
//
// Each worker walks its own random permutation of the training set, b samples at a time, and
// draws a fresh permutation when fewer than b samples remain (the remainder is skipped, as
// "drop last" does). The permutation depends only on the stream seed, so a run's batches are
// a function of (seed, worker): one-thread runs of every algorithm see exactly the batches of
// sequential SGD. The generator is our own SplitMix64 plus a multiply-shift bounded draw, so
// the sequence is the same on every standard library.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/random.hpp"
#include "models/batch.hpp"
#include "models/dataset.hpp"

namespace psgd {

// The reference framework's batch order (--batch-order shared): the training set is shuffled once
// (from the seed) and cut into ceil(N / b) batches, the last one smaller; every worker takes the
// next batch index from one shared counter, wrapping around, and the order never changes. All
// workers share one schedule; it is immutable but for the counter.
class SharedBatchSchedule {
 public:
  SharedBatchSchedule(std::size_t num_samples, std::size_t batch_size, std::uint64_t seed);
  [[nodiscard]] std::size_t num_batches() const noexcept { return num_batches_; }
  // The samples of the next batch in the shared order. Thread-safe, lock-free.
  std::span<const std::uint32_t> next() noexcept;

 private:
  std::vector<std::uint32_t> order_;
  std::size_t batch_size_;
  std::size_t num_batches_;
  std::atomic<std::uint64_t> next_{0};
};

// Samples [begin, end) of a training set.
struct SampleRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  [[nodiscard]] std::size_t size() const noexcept { return end - begin; }
};

// Worker w's slice of n samples among `workers`: [floor(w n / W), floor((w + 1) n / W)). The
// slices are disjoint, cover every sample, and differ in size by at most one.
inline SampleRange shard_slice(std::size_t n, std::size_t worker, std::size_t workers) noexcept {
  // w n cannot overflow: samples are indexed in 32 bits, and workers are far fewer than 2^32.
  const auto at = [&](std::size_t w) { return w * n / workers; };
  return {at(worker), at(worker + 1)};
}

// Owned by one worker; allocates everything in its constructor, so next() never allocates.
// S: the scalar type the batches are gathered in (float or double; instantiated in the .cpp).
template <class S>
class BasicBatchSampler {
 public:
  BasicBatchSampler(const Dataset& data, std::size_t batch_size, std::uint64_t seed);
  // Its own permutation of the samples [slice.begin, slice.end) only (--batch-order shard);
  // over the whole set it is the constructor above, bit for bit. The slice holds >= batch_size
  // samples (shard_slice's caller checks).
  BasicBatchSampler(const Dataset& data, std::size_t batch_size, std::uint64_t seed,
                    SampleRange slice);
  // Batches in the shared schedule's order instead of the worker's own permutation.
  BasicBatchSampler(const Dataset& data, std::size_t batch_size, SharedBatchSchedule& schedule);
  // The next batch; the view stays valid until the following call.
  BasicBatch<S> next() noexcept;
  [[nodiscard]] std::size_t batch_size() const noexcept { return batch_size_; }

 private:
  void reshuffle() noexcept;

  const Dataset* data_;
  SharedBatchSchedule* schedule_ = nullptr;  // null: the worker's own permutation
  std::size_t batch_size_;
  SplitMix64 rng_;
  std::vector<std::uint32_t> order_;
  std::size_t position_ = 0;
  std::vector<S> features_;
  std::vector<std::int32_t> labels_;
};
using BatchSampler = BasicBatchSampler<float>;

}  // namespace psgd
