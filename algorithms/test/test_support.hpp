// algorithms/test/test_support.hpp — what the algorithm tests share besides the toy problems
// (toy_models.hpp): the runner options of a small run and a bit-for-bit comparison.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/runner.hpp"
#include "models/batch_sampler.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd::testing {

// A small run on a toy problem: `threads` workers, batch 4, step 0.01, 500 updates in epochs of
// 100, one checkpoint an epoch, 256 staleness bins. Each test changes what it is about.
inline RunnerOptions small_run(int threads, std::uint64_t seed) {
  RunnerOptions o;
  o.threads = threads;
  o.seed = seed;
  o.batch_size = 4;
  o.step = 0.01F;  // float tests step by the float 0.01, as they always did
  o.total_updates = 500;
  o.updates_per_epoch = 100;
  o.checkpoints_per_epoch = 1;
  o.staleness_bins = 256;
  return o;
}

// The same values bit for bit (not ==, which equates 0 and -0 and fails on NaN).
template <class S>
bool same_bits(std::span<const S> a, std::span<const S> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0;
}
// For float vectors without naming the type (a template cannot deduce S from a vector).
inline bool same_bits(std::span<const float> a, std::span<const float> b) {
  return same_bits<float>(a, b);
}

// The mean loss over the whole data set at theta: one batch of every sample (convergence checks).
inline double full_loss(const Model& model, const Dataset& data, std::span<const float> theta) {
  BatchSampler all(data, data.size(), 3);
  std::vector<float> grad(theta.size());
  const std::unique_ptr<Workspace> ws = model.make_workspace(data.size());
  return model.loss_and_gradient(theta, all.next(), grad, *ws);
}

}  // namespace psgd::testing
