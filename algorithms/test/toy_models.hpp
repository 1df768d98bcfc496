// algorithms/test/toy_models.hpp — small models for the algorithm tests, independent of models/.
//
//   LeastSquares  linear regression on the label value: loss = mean_j 0.5 (w.x_j + c - y_j)^2.
//                 Convex, gradient depends on theta (so stale reads matter).
//   Affine        loss = theta . mean_j x_j: convex (affine), gradient mean_j x_j independent of
//                 theta. With small-integer features, a power-of-two batch and a power-of-two
//                 step every sum is exact in float, so conservation can be checked exactly. Its
//                 workspace logs every gradient it computed (the sum and the last one).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/batch_sampler.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd::testing {

class NoWorkspace final : public Workspace {};

template <class S = float>
class LeastSquares final : public BasicModel<S> {
 public:
  explicit LeastSquares(std::size_t num_features) : d_(num_features) {}
  [[nodiscard]] std::string spec() const override { return "toy-least-squares"; }
  [[nodiscard]] std::size_t num_params() const override { return d_ + 1; }
  [[nodiscard]] std::vector<ParamBlock> layout() const override {
    return {ParamBlock{"w", {static_cast<std::int64_t>(d_)}, 0, d_, 1, false},
            ParamBlock{"c", {1}, d_, 1, 1, true}};
  }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t) const override {
    return std::make_unique<NoWorkspace>();
  }
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace&) const noexcept override {
    for (S& g : grad) g = S{0.0};
    S loss = S{0.0};
    const S inv_b = S{1.0} / static_cast<S>(batch.size);
    for (std::size_t j = 0; j < batch.size; ++j) {
      const S* x = batch.features + j * batch.num_features;
      S pred = theta[d_];
      for (std::size_t i = 0; i < d_; ++i) pred += theta[i] * x[i];
      const S r = pred - static_cast<S>(batch.labels[j]);
      loss += S{0.5} * r * r * inv_b;
      for (std::size_t i = 0; i < d_; ++i) grad[i] += r * x[i] * inv_b;
      grad[d_] += r * inv_b;
    }
    return loss;
  }
  EvalSums evaluate(std::span<const S>, const BasicBatch<S>& batch,
                    Workspace&) const noexcept override {
    return EvalSums{0.0, 0, static_cast<std::int64_t>(batch.size)};
  }

 private:
  std::size_t d_;
};

class AffineWorkspace final : public Workspace {
 public:
  explicit AffineWorkspace(std::size_t n) : sum(n, 0.0), last(n, 0.0) {}
  std::vector<double> sum;   // every gradient this worker computed, added up
  std::vector<double> last;  // the last one
  std::int64_t count = 0;
};

template <class S = float>
class Affine final : public BasicModel<S> {
 public:
  explicit Affine(std::size_t num_features) : d_(num_features) {}
  [[nodiscard]] std::string spec() const override { return "toy-affine"; }
  [[nodiscard]] std::size_t num_params() const override { return d_; }
  [[nodiscard]] std::vector<ParamBlock> layout() const override {
    return {ParamBlock{"w", {static_cast<std::int64_t>(d_)}, 0, d_, 1, false}};
  }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t) const override {
    return std::make_unique<AffineWorkspace>(d_);
  }
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace& ws) const noexcept override {
    auto& log = static_cast<AffineWorkspace&>(ws);
    const S inv_b = S{1.0} / static_cast<S>(batch.size);
    S loss = S{0.0};
    for (std::size_t i = 0; i < d_; ++i) {
      S s = S{0.0};
      for (std::size_t j = 0; j < batch.size; ++j) s += batch.features[j * batch.num_features + i];
      grad[i] = s * inv_b;
      loss += theta[i] * grad[i];
      log.sum[i] += static_cast<double>(grad[i]);
      log.last[i] = static_cast<double>(grad[i]);
    }
    ++log.count;
    return loss;
  }
  EvalSums evaluate(std::span<const S>, const BasicBatch<S>& batch,
                    Workspace&) const noexcept override {
    return EvalSums{0.0, 0, static_cast<std::int64_t>(batch.size)};
  }

 private:
  std::size_t d_;
};

// LeastSquares whose gradient turns non-finite (NaN loss and gradient) from the `poison_at`-th
// call on, counted over every worker: a divergence at a known point.
template <class S = float>
class PoisonedLeastSquares final : public BasicModel<S> {
 public:
  PoisonedLeastSquares(std::size_t num_features, std::int64_t poison_at)
      : inner_(num_features), poison_at_(poison_at) {}
  [[nodiscard]] std::string spec() const override { return "toy-poisoned"; }
  [[nodiscard]] std::size_t num_params() const override { return inner_.num_params(); }
  [[nodiscard]] std::vector<ParamBlock> layout() const override { return inner_.layout(); }
  [[nodiscard]] std::unique_ptr<Workspace> make_workspace(std::size_t b) const override {
    return inner_.make_workspace(b);
  }
  S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch, std::span<S> grad,
                      Workspace& ws) const noexcept override {
    // relaxed: only a count; nothing is published through it.
    if (calls_.fetch_add(1, std::memory_order_relaxed) + 1 < poison_at_) {
      return inner_.loss_and_gradient(theta, batch, grad, ws);
    }
    for (S& g : grad) g = std::numeric_limits<S>::quiet_NaN();
    return std::numeric_limits<S>::quiet_NaN();
  }
  EvalSums evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                    Workspace& ws) const noexcept override {
    return inner_.evaluate(theta, batch, ws);
  }

 private:
  LeastSquares<S> inner_;
  std::int64_t poison_at_;
  mutable std::atomic<std::int64_t> calls_{0};
};

// n samples of d features uniform in [-1, 1), labels in [0, classes).
inline Dataset random_floats(std::size_t n, std::size_t d, int classes, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(n * d);
  for (float& v : x) v = 2.0F * rng.uniform01() - 1.0F;
  std::vector<std::int32_t> y(n);
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return Dataset::from_floats(ImageShape{1, 1, static_cast<int>(d)}, std::move(x), std::move(y),
                              classes);
}

// n samples of d integer features in [-4, 4] (exact in float), labels 0.
inline Dataset random_integers(std::size_t n, std::size_t d, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(n * d);
  for (float& v : x) v = static_cast<float>(static_cast<int>(rng.below(9)) - 4);
  std::vector<std::int32_t> y(n, 0);
  return Dataset::from_floats(ImageShape{1, 1, static_cast<int>(d)}, std::move(x), std::move(y), 1);
}

}  // namespace psgd::testing
