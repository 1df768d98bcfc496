// models/data/synthetic.cpp — the dense and sparse softmax-regression generators.
#include "models/data/synthetic.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/errors.hpp"
#include "common/random.hpp"
#include "models/batch_sampler.hpp"

namespace psgd {
namespace {

constexpr std::string_view kDensePrefix = "synthetic-dense";
constexpr std::string_view kSparsePrefix = "synthetic-sparse";

// Both splits are stored as floats; beyond 2^32 of them (16 GiB) a typo is likelier than a
// wish, and sample indices must fit the samplers' uint32.
constexpr std::size_t kMaxStoredFloats = std::size_t{1} << 32;
constexpr std::size_t kMaxSamples = std::size_t{1} << 31;

[[noreturn]] void bad_name(const std::string& name, std::string_view prefix,
                           std::string_view problem) {
  const bool sparse = prefix == kSparsePrefix;
  throw ConfigError("data set '" + name + "': " + std::string(problem) + "; expected " +
                    std::string(prefix) + (sparse ? "[:NxDxC[:DENSITY]]" : "[:NxDxC]") +
                    " with N >= 4 training samples, D >= 1 features, C >= 2 classes" +
                    (sparse ? ", 0 < DENSITY <= 1 (e.g. " : " (e.g. ") + std::string(prefix) +
                    (sparse ? ":4096x1024x2:0.02)" : ":4096x64x10)"));
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

struct Labelled {
  std::vector<float> features;
  std::vector<std::int32_t> labels;
  double entropy_sum = 0.0;
};

// Draws n samples: features by `draw_features` (which writes one zeroed column of D floats),
// labels from softmax(W* x). Returns the sum over samples of the softmax entropy.
template <typename DrawFeatures>
Labelled draw_split(const SyntheticSpec& spec, const std::vector<float>& weights, std::size_t n,
                    NormalSource& normal, DrawFeatures&& draw_features) {
  const std::size_t d = spec.features;
  const auto c = static_cast<std::size_t>(spec.classes);
  Labelled out;
  out.features.assign(n * d, 0.0F);
  out.labels.resize(n);
  std::vector<double> logits(c);
  for (std::size_t i = 0; i < n; ++i) {
    float* x = out.features.data() + i * d;
    draw_features(x, normal);
    double max_logit = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < c; ++k) {
      const float* w = weights.data() + k * d;
      double z = 0.0;
      for (std::size_t j = 0; j < d; ++j) z += static_cast<double>(w[j]) * x[j];
      logits[k] = z;
      max_logit = std::max(max_logit, z);
    }
    double partition = 0.0;
    for (double& z : logits) {
      z = std::exp(z - max_logit);
      partition += z;
    }
    // y is the first class whose cumulative probability exceeds u; H = -sum p log p.
    const double u = static_cast<double>(normal.uniform().next() >> 11) * 0x1.0p-53 * partition;
    double cumulative = 0.0;
    std::size_t label = c - 1;
    bool picked = false;
    double entropy = 0.0;
    for (std::size_t k = 0; k < c; ++k) {
      const double p = logits[k] / partition;
      if (p > 0.0) entropy -= p * std::log(p);
      cumulative += logits[k];
      if (!picked && u < cumulative) {
        label = k;
        picked = true;
      }
    }
    out.labels[i] = static_cast<std::int32_t>(label);
    out.entropy_sum += entropy;
  }
  return out;
}

}  // namespace

bool is_synthetic_name(const std::string& name) {
  for (const std::string_view prefix : {kDensePrefix, kSparsePrefix}) {
    if (name == prefix ||
        (name.starts_with(prefix) && name.size() > prefix.size() && name[prefix.size()] == ':')) {
      return true;
    }
  }
  return false;
}

SyntheticSpec parse_synthetic_name(const std::string& name) {
  const bool sparse = name.starts_with(kSparsePrefix);
  const std::string_view prefix = sparse ? kSparsePrefix : kDensePrefix;
  if (!is_synthetic_name(name)) bad_name(name, prefix, "not a synthetic generator");
  SyntheticSpec spec = sparse ? kSparseDefaults : kDenseDefaults;
  if (name.size() == prefix.size()) return spec;

  std::string_view rest = std::string_view(name).substr(prefix.size() + 1);
  if (sparse) {
    if (const std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
      if (!parse_number(rest.substr(colon + 1), spec.density) || !(spec.density > 0.0) ||
          spec.density > 1.0) {
        bad_name(name, prefix, "bad DENSITY");
      }
      rest = rest.substr(0, colon);
    }
  }
  const std::size_t x1 = rest.find('x');
  const std::size_t x2 = x1 == std::string_view::npos ? x1 : rest.find('x', x1 + 1);
  if (x2 == std::string_view::npos) bad_name(name, prefix, "the size needs three numbers");
  int classes = 0;
  if (!parse_number(rest.substr(0, x1), spec.train_samples) ||
      !parse_number(rest.substr(x1 + 1, x2 - x1 - 1), spec.features) ||
      !parse_number(rest.substr(x2 + 1), classes)) {
    bad_name(name, prefix, "the size is not NxDxC");
  }
  spec.classes = classes;
  if (spec.train_samples < 4 || spec.train_samples > kMaxSamples || spec.features < 1 ||
      spec.classes < 2) {
    bad_name(name, prefix, "a size is out of range");
  }
  const std::size_t stored = spec.train_samples + spec.train_samples / 4;
  if (spec.features > kMaxStoredFloats / stored) {
    bad_name(name, prefix, "more than 2^32 stored floats");
  }
  // W* holds C x D floats, under the same cap as the features.
  if (static_cast<std::size_t>(spec.classes) > kMaxStoredFloats / spec.features) {
    bad_name(name, prefix, "more than 2^32 floats in W* (C x D)");
  }
  return spec;
}

double synthetic_generated_bytes(const SyntheticSpec& spec) {
  const std::size_t samples = spec.train_samples + spec.train_samples / 4;  // both splits
  const auto stored = static_cast<double>(samples);
  const auto d = static_cast<double>(spec.features);
  return sizeof(float) * (static_cast<double>(spec.classes) * d + stored * d) +
         sizeof(std::int32_t) * stored;
}

SyntheticProblem make_synthetic(const SyntheticSpec& spec, std::uint64_t seed) {
  const bool sparse = spec.kind == SyntheticKind::kSparse;
  const std::size_t d = spec.features;
  const std::size_t nonzeros =
      sparse ? std::max<std::size_t>(
                   1, static_cast<std::size_t>(std::llround(spec.density * static_cast<double>(d))))
             : d;

  SyntheticProblem problem;
  problem.nonzeros_per_sample = std::min(nonzeros, d);
  const std::size_t k = problem.nonzeros_per_sample;

  NormalSource weight_normal(stream_seed(seed, 0));
  const double weight_std = kLogitStd / std::sqrt(static_cast<double>(k));
  problem.true_weights.resize(static_cast<std::size_t>(spec.classes) * d);
  for (float& w : problem.true_weights) w = static_cast<float>(weight_std * weight_normal.next());

  // The sparse generator picks k distinct positions by Floyd's algorithm (O(k) per sample);
  // `stamp` marks the positions taken for the current sample without clearing between samples.
  std::vector<std::uint64_t> stamp(sparse ? d : 0, 0);
  std::uint64_t sample_id = 0;
  auto draw_features = [&](float* x, NormalSource& normal) {
    if (!sparse) {
      for (std::size_t j = 0; j < d; ++j) x[j] = static_cast<float>(normal.next());
      return;
    }
    ++sample_id;
    for (std::size_t j = d - k; j < d; ++j) {
      std::size_t t = normal.uniform().below(j + 1);
      if (stamp[t] == sample_id) t = j;
      stamp[t] = sample_id;
      x[t] = static_cast<float>(normal.next());
    }
  };

  NormalSource train_normal(stream_seed(seed, 1));
  Labelled train =
      draw_split(spec, problem.true_weights, spec.train_samples, train_normal, draw_features);
  NormalSource test_normal(stream_seed(seed, 2));
  Labelled test =
      draw_split(spec, problem.true_weights, spec.train_samples / 4, test_normal, draw_features);
  problem.bayes_loss = train.entropy_sum / static_cast<double>(spec.train_samples);

  const ImageShape shape{1, 1, static_cast<int>(d)};
  problem.split.name = std::string(sparse ? kSparsePrefix : kDensePrefix);
  std::ostringstream source;
  source.precision(4);
  source << problem.split.name << ':' << spec.train_samples << 'x' << d << 'x' << spec.classes;
  if (sparse) source << ':' << spec.density;
  source << " seed=" << seed << ": x ~ ";
  if (sparse) {
    source << k << " of " << d << " features N(0,1)";
  } else {
    source << "N(0,I)";
  }
  source << ", y ~ softmax(W* x), logit sd " << kLogitStd << ", Bayes loss " << problem.bayes_loss;
  problem.split.source = source.str();
  problem.split.train =
      Dataset::from_floats(shape, std::move(train.features), std::move(train.labels), spec.classes);
  problem.split.test =
      Dataset::from_floats(shape, std::move(test.features), std::move(test.labels), spec.classes);
  return problem;
}

}  // namespace psgd
