// common/random.hpp — the project's own random streams, so every sequence (batches,
// initialisation, synthetic data, backoff jitter) is the same on every standard library
// (std::uniform_int_distribution and std::normal_distribution differ between implementations).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

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

// Seed of stream `worker` of a run: depends on (seed, worker) only, never on thread start order.
// Two SplitMix64 rounds decorrelate neighbouring (seed, worker) pairs.
inline std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t worker) noexcept {
  SplitMix64 mix(seed ^ (0xD1B54A32D192ED03ULL * (worker + 1)));
  mix.next();
  return mix.next();
}

// Standard normal draws by Box–Muller from a SplitMix64 stream, in double.
class NormalSource {
 public:
  explicit NormalSource(std::uint64_t seed) noexcept : rng_(seed) {}
  double next() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    // u1 in (0, 1] keeps the log finite; 53 bits, as a double holds.
    const double u1 = static_cast<double>((rng_.next() >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }
  // Uniform in [-1, 1), from the same stream.
  double symmetric_uniform() noexcept {
    return static_cast<double>(rng_.next() >> 11) * 0x1.0p-52 - 1.0;
  }
  // The underlying uniform stream.
  SplitMix64& uniform() noexcept { return rng_; }

 private:
  SplitMix64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace psgd
