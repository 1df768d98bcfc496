// models/test/model_determinism_test.cpp — the same seed gives byte-identical parameters and
// gradients (the harness's one-thread runs must match sequential SGD bit for bit); another seed
// gives other parameters; the initialisers draw from the documented distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "models/batch_sampler.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace {

bool same_bytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct DeterminismCase {
  const char* spec;
  ImageShape shape;
};
const DeterminismCase kCases[] = {{"linear", {1, 28, 28}},
                                  {"mlp:32x16", {1, 28, 28}},
                                  {"cnn", {1, 28, 28}},
                                  {"lenet", {3, 32, 32}}};

TEST(ModelDeterminism, SameSeedGivesIdenticalInitAndGradient) {
  for (const DeterminismCase& c : kCases) {
    for (const char* init : {"he", "glorot", "normal:0.01"}) {
      const auto model = make_model(c.spec, Activation::kRelu, c.shape, 10);
      std::vector<float> a(model->num_params());
      std::vector<float> b(model->num_params());
      initialize_params(*model, parse_init(init), 42, a);
      initialize_params(*model, parse_init(init), 42, b);
      EXPECT_TRUE(same_bytes(a, b)) << c.spec << " " << init;

      std::vector<float> features(c.shape.size() * 4);
      SplitMix64 rng(1);
      for (float& f : features) f = rng.uniform01();
      const std::vector<std::int32_t> labels{3, 1, 4, 1};
      const Batch batch{features.data(), labels.data(), 4, c.shape.size()};
      std::vector<float> grad_a(a.size());
      std::vector<float> grad_b(a.size());
      // Two workspaces, and the first reused: no state may leak from one call into the next.
      const auto ws_a = model->make_workspace(4);
      const auto ws_b = model->make_workspace(4);
      const float loss_a = model->loss_and_gradient(a, batch, grad_a, *ws_a);
      const float loss_b = model->loss_and_gradient(a, batch, grad_b, *ws_b);
      // Bit identity is the point: a value comparison would let -0.0 pass for 0.0.
      // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
      EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0) << c.spec;
      EXPECT_TRUE(same_bytes(grad_a, grad_b)) << c.spec << " " << init;
      (void)model->loss_and_gradient(a, batch, grad_b, *ws_a);
      EXPECT_TRUE(same_bytes(grad_a, grad_b)) << c.spec << " " << init;
    }
  }
}

TEST(ModelDeterminism, DifferentSeedsGiveDifferentInit) {
  for (const DeterminismCase& c : kCases) {
    const auto model = make_model(c.spec, Activation::kRelu, c.shape, 10);
    std::vector<float> a(model->num_params());
    std::vector<float> b(model->num_params());
    initialize_params(*model, parse_init("he"), 1, a);
    initialize_params(*model, parse_init("he"), 2, b);
    EXPECT_FALSE(same_bytes(a, b)) << c.spec;
    // Every weight block differs, not just the first.
    for (const ParamBlock& block : model->layout()) {
      if (block.is_bias) continue;
      EXPECT_NE(std::memcmp(a.data() + block.offset, b.data() + block.offset,
                            block.size() * sizeof(float)),
                0)
          << c.spec << " " << block.name;
    }
  }
}

// Mean and variance of one block's values.
std::pair<double, double> moments(const std::vector<float>& theta, const ParamBlock& block) {
  double sum = 0.0;
  double sum_sq = 0.0;
  for (std::size_t i = block.offset; i < block.offset + block.size(); ++i) {
    sum += theta[i];
    sum_sq += static_cast<double>(theta[i]) * theta[i];
  }
  const double n = static_cast<double>(block.size());
  return {sum / n, sum_sq / n - (sum / n) * (sum / n)};
}

TEST(ModelInit, DrawsFromTheDocumentedDistributions) {
  const auto model = make_model("mlp:256", Activation::kRelu, {1, 28, 28}, 10);
  const ParamBlock w0 = model->layout()[0];  // 256 x 784: 200k draws
  const ParamBlock b0 = model->layout()[1];
  ASSERT_EQ(w0.fan_in, 784U);
  std::vector<float> theta(model->num_params());

  initialize_params(*model, parse_init("he"), 3, theta);
  auto [mean, var] = moments(theta, w0);
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(var, 2.0 / 784.0, 0.02 * 2.0 / 784.0);
  EXPECT_EQ(moments(theta, b0).second, 0.0);
  EXPECT_EQ(theta[b0.offset], 0.0F);

  initialize_params(*model, parse_init("glorot"), 3, theta);
  const double limit = std::sqrt(6.0 / (784.0 + 256.0));
  std::tie(mean, var) = moments(theta, w0);
  EXPECT_NEAR(var, limit * limit / 3.0, 0.02 * limit * limit / 3.0);  // U(-a, a): a^2/3
  for (std::size_t i = w0.offset; i < w0.offset + w0.size(); ++i) {
    ASSERT_LE(std::abs(theta[i]), limit);
  }
  EXPECT_EQ(theta[b0.offset], 0.0F);

  initialize_params(*model, parse_init("normal:0.5"), 3, theta);
  std::tie(mean, var) = moments(theta, w0);
  EXPECT_NEAR(var, 0.25, 0.02 * 0.25);
  EXPECT_NE(theta[b0.offset], 0.0F);  // normal:SIGMA draws the biases too
}

}  // namespace
}  // namespace psgd
