// models/data/synthetic.hpp — generated classification problems with a known optimum.
//
// Both generators draw a true weight matrix W* (classes x features, row-major: the {out, in}
// layout of a dense layer, no bias) and label every sample by *sampling* y ~ softmax(W* x).
// The model is therefore well specified: W* (with zero bias) minimizes the expected
// cross-entropy of multinomial logistic regression over the distribution, and that minimum is
// the Bayes loss E_x[H(softmax(W* x))], which we estimate on the training set. Sampling (rather
// than arg-max) keeps the problem non-separable, so the optimum is a finite point SGD can
// approach rather than a direction to infinity.
//
//   synthetic-dense   x ~ N(0, I_D); W*_ij ~ N(0, kLogitStd^2 / D).
//   synthetic-sparse  the HOGWILD! regime: each sample has exactly k = max(1, round(density *
//                     D)) nonzero features, at distinct uniformly drawn positions, each
//                     N(0, 1); W*_ij ~ N(0, kLogitStd^2 / k). A sample's logits, and so its
//                     gradient for a linear model, involve only its k columns of W.
//
// In both, every class logit has standard deviation kLogitStd. Everything is a function of
// (name, seed) through SplitMix64 streams: W* from stream 0, the training split from stream 1,
// the test split (N/4 samples from the same distribution) from stream 2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.hpp"

namespace psgd {

// Standard deviation of each true logit. At 3 the softmax is confident on most samples yet the
// classes overlap: the Bayes loss is about 0.43 log C (measured at N = 8192, seed 1: 0.29,
// 0.59, 1.02 for C = 2, 4, 10 against log C = 0.69, 1.39, 2.30, dense and sparse alike), so
// loss curves have a visible floor well below the zero-weight loss. Not tuned further.
inline constexpr double kLogitStd = 3.0;

enum class SyntheticKind { kDense, kSparse };

struct SyntheticSpec {
  SyntheticKind kind = SyntheticKind::kDense;
  std::size_t train_samples = 0;  // N; the test split has N / 4
  std::size_t features = 0;       // D
  int classes = 0;                // C
  double density = 0.0;           // sparse only: fraction of nonzero features per sample
};

// Defaults when the name carries no suffix: small enough that tests generate them in
// milliseconds, large enough to train for a few epochs.
//   synthetic-dense   4096 x 64 x 10  (1 MB of features; 10 classes like the image sets)
//   synthetic-sparse  4096 x 1024 x 2, density 0.02 (k = 20 of 1024 features, 16 MB stored
//                     dense; binary classification like HOGWILD!'s sparse SVM experiments)
inline constexpr SyntheticSpec kDenseDefaults{SyntheticKind::kDense, 4096, 64, 10, 1.0};
inline constexpr SyntheticSpec kSparseDefaults{SyntheticKind::kSparse, 4096, 1024, 2, 0.02};

// True if `name` names a synthetic generator ("synthetic-dense", "synthetic-sparse", with or
// without a suffix), whether or not the suffix is valid.
bool is_synthetic_name(const std::string& name);

// Parses "synthetic-dense[:NxDxC]" or "synthetic-sparse[:NxDxC[:DENSITY]]". Throws ConfigError
// (one line, with the syntax) for a malformed suffix or values out of range: N >= 4, D >= 1,
// C >= 2, 0 < DENSITY <= 1, at most 2^32 stored floats over both splits and at most 2^32
// floats in W* (C x D).
SyntheticSpec parse_synthetic_name(const std::string& name);

// Bytes make_synthetic allocates for `spec`: W* (C x D floats) and both splits' features (stored
// dense: N x 1.25 x D floats) and labels. For the memory check before generating.
double synthetic_generated_bytes(const SyntheticSpec& spec);

struct SyntheticProblem {
  DataSplit split;                      // name "synthetic-dense" or "synthetic-sparse"; source has
                                        // the parameters, the seed and the Bayes loss
  std::vector<float> true_weights;      // W*, classes x features, row-major
  double bayes_loss = 0.0;              // mean entropy of softmax(W* x) over the training split
  std::size_t nonzeros_per_sample = 0;  // D for dense, k for sparse
};

// Generates the problem; deterministic in (spec, seed) on a given platform.
SyntheticProblem make_synthetic(const SyntheticSpec& spec, std::uint64_t seed);

}  // namespace psgd
