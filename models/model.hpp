// models/model.hpp — the model contract: a pure function of one flat parameter vector.
//
// A model never owns parameters: theta lives in whatever store the algorithm keeps (a locked
// vector, an immutable Leashed version, racy HOGWILD! memory) and is passed in on every call.
// Everything a call needs besides theta and the batch is in a Workspace that each worker
// allocates once, before its loop, so the training loop never allocates.
//
// The contract is a class template over the scalar type S of theta, the gradient and the whole
// computation (--precision): BasicModel<float> (alias Model) and BasicModel<double>. Every model
// is a template instantiated for both in its .cpp; make_model<S> builds one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/batch.hpp"
#include "models/dataset.hpp"

namespace psgd {

// One named tensor inside theta, in the documented layout that --save-params writes.
// Weights are stored row-major in `shape` order (for dense layers {out, in}; for convolutions
// {out_channels, in_channels, kh, kw}); biases have shape {out}.
struct ParamBlock {
  std::string name;  // "dense0.weight", "conv1.bias", ...
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;  // first element inside theta
  std::size_t fan_in = 0;  // inputs feeding one output (for He / Glorot)
  std::size_t fan_out = 0;
  bool is_bias = false;
  [[nodiscard]] std::size_t size() const noexcept;
};

// Per-worker scratch space (activations, deltas, the gathered batch). Not thread-safe: one per
// worker. Created by Model::make_workspace for batches of at most max_batch samples.
class Workspace {
 public:
  virtual ~Workspace() = default;
};

// Sums over one evaluated batch, so evaluation of a split can be chunked and added up.
struct EvalSums {
  double loss_sum = 0.0;     // sum over samples of the cross-entropy loss
  std::int64_t correct = 0;  // samples whose arg-max class equals the label
  std::int64_t count = 0;
};

template <class S>
class BasicModel {
 public:
  using Scalar = S;
  virtual ~BasicModel() = default;

  // Canonical spec, parseable by make_model: "linear", "mlp:128x128x128", "cnn", "lenet".
  [[nodiscard]] virtual std::string spec() const = 0;
  [[nodiscard]] virtual std::size_t num_params() const = 0;
  // The blocks of theta in order; they tile [0, num_params()) exactly.
  [[nodiscard]] virtual std::vector<ParamBlock> layout() const = 0;

  [[nodiscard]] virtual std::unique_ptr<Workspace> make_workspace(std::size_t max_batch) const = 0;

  // Returns the mean cross-entropy loss over the batch and writes its gradient with respect to
  // theta into grad (overwritten, not accumulated). batch.size must be in [1, max_batch] of ws.
  // theta may be read concurrently by other threads; the model only reads it.
  virtual S loss_and_gradient(std::span<const S> theta, const BasicBatch<S>& batch,
                              std::span<S> grad, Workspace& ws) const noexcept = 0;

  // Loss sum, correct count and sample count over the batch; no gradient.
  virtual EvalSums evaluate(std::span<const S> theta, const BasicBatch<S>& batch,
                            Workspace& ws) const noexcept = 0;
};
using Model = BasicModel<float>;

}  // namespace psgd
