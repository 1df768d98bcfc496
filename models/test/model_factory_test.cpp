// models/test/model_factory_test.cpp — spec parsing and its one-line rejections, parameter
// counts and layouts, and the loss identities every model must satisfy.
#include "models/model_factory.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.hpp"
#include "models/batch_sampler.hpp"
#include "models/test/test_support.hpp"

namespace psgd {
namespace {

constexpr ImageShape kMnist{1, 28, 28};
constexpr ImageShape kCifar{3, 32, 32};

using test::config_error_of;

TEST(ModelFactory, ParsesEverySpecAndReturnsItCanonically) {
  EXPECT_EQ(make_model("linear", Activation::kRelu, kMnist, 10)->spec(), "linear");
  EXPECT_EQ(make_model("mlp:128x128x128", Activation::kRelu, kMnist, 10)->spec(),
            "mlp:128x128x128");
  EXPECT_EQ(make_model("mlp:64", Activation::kSigmoid, kMnist, 10)->spec(), "mlp:64");
  EXPECT_EQ(make_model("mlp:300x100", Activation::kRelu, kMnist, 10)->spec(), "mlp:300x100");
  EXPECT_EQ(make_model("cnn", Activation::kRelu, kMnist, 10)->spec(), "cnn");
  EXPECT_EQ(make_model("lenet", Activation::kRelu, kCifar, 10)->spec(), "lenet");
}

TEST(ModelFactory, RejectsMalformedSpecsWithOneLineListingTheValidOnes) {
  for (const char* spec : {"mlp:", "mlp:0", "mlp:12xq", "mlp:12x", "mlp:x12", "mlp:-3", "mlp:+3",
                           "mlp:12 ", "mlp", "foo", "", "Linear", "mlp:99999999999999999999"}) {
    const std::string message =
        config_error_of([&] { (void)make_model(spec, Activation::kRelu, kMnist, 10); });
    ASSERT_FALSE(message.empty()) << "accepted '" << spec << "'";
    std::string quoted = "'";  // built by appends: GCC 12's -Wrestrict misfires on "'" + s + "'"
    quoted.append(spec).append("'");
    EXPECT_NE(message.find(quoted), std::string::npos) << message;
    EXPECT_NE(message.find("valid: linear, mlp:W1xW2x..., cnn, lenet"), std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_EQ(config_error_of([] { (void)make_model("foo", Activation::kRelu, kMnist, 10); }),
            "unknown model 'foo'; valid: linear, mlp:W1xW2x..., cnn, lenet");
}

TEST(ModelFactory, RejectsInputsTheModelCannotTake) {
  EXPECT_THROW((void)make_model("cnn", Activation::kRelu, {1, 4, 4}, 10), ConfigError);
  EXPECT_THROW((void)make_model("cnn", Activation::kRelu, {1, 9, 28}, 10), ConfigError);
  EXPECT_NO_THROW((void)make_model("cnn", Activation::kRelu, {1, 10, 10}, 10));
  EXPECT_THROW((void)make_model("lenet", Activation::kRelu, {1, 11, 11}, 10), ConfigError);
  EXPECT_NO_THROW((void)make_model("lenet", Activation::kRelu, {1, 12, 12}, 10));
  EXPECT_THROW((void)make_model("linear", Activation::kRelu, kMnist, 1), ConfigError);
  EXPECT_THROW((void)make_model("linear", Activation::kRelu, {0, 28, 28}, 10), ConfigError);
}

TEST(ModelFactory, ParsesActivations) {
  EXPECT_EQ(parse_activation("relu"), Activation::kRelu);
  EXPECT_EQ(parse_activation("sigmoid"), Activation::kSigmoid);
  EXPECT_EQ(activation_name(Activation::kRelu), "relu");
  EXPECT_EQ(activation_name(Activation::kSigmoid), "sigmoid");
  EXPECT_EQ(config_error_of([] { (void)parse_activation("tanh"); }),
            "--activation must be relu or sigmoid, got 'tanh'");
  EXPECT_THROW((void)parse_activation("ReLU"), ConfigError);
  EXPECT_THROW((void)parse_activation(""), ConfigError);
}

TEST(ModelFactory, ParsesInitsAndRoundTripsTheirNames) {
  EXPECT_EQ(parse_init("he").kind, InitSpec::Kind::kHe);
  EXPECT_EQ(parse_init("glorot").kind, InitSpec::Kind::kGlorot);
  const InitSpec normal = parse_init("normal:0.01");
  EXPECT_EQ(normal.kind, InitSpec::Kind::kNormal);
  EXPECT_DOUBLE_EQ(normal.sigma, 0.01);
  EXPECT_EQ(parse_init("normal:1e-3").sigma, 1e-3);
  for (const char* text : {"he", "glorot", "normal:0.01", "normal:0.125", "normal:2"}) {
    EXPECT_EQ(init_name(parse_init(text)), text);
  }
  for (const char* text : {"", "HE", "xavier", "normal", "normal:", "normal:0", "normal:-1",
                           "normal:abc", "normal:0.1x", "normal:inf", "normal:nan", "he:1"}) {
    const std::string message = config_error_of([&] { (void)parse_init(text); });
    ASSERT_FALSE(message.empty()) << "accepted '" << text << "'";
    EXPECT_NE(message.find("--init must be he, glorot or normal:SIGMA"), std::string::npos)
        << message;
    std::string got = ", got '";  // appended: GCC 12's -Wrestrict misfires on "'" + s + "'"
    got.append(text).append("'");
    EXPECT_NE(message.find(got), std::string::npos) << message;
  }
  EXPECT_EQ(config_error_of([] { (void)parse_init("xavier"); }),
            "--init must be he, glorot or normal:SIGMA, got 'xavier'");
}

TEST(ModelFactory, ParameterCountsMatchTheReferenceShapes) {
  EXPECT_EQ(make_model("linear", Activation::kRelu, kMnist, 10)->num_params(), 7'850U);
  // 784*128+128 + 2*(128*128+128) + 128*10+10
  EXPECT_EQ(make_model("mlp:128x128x128", Activation::kRelu, kMnist, 10)->num_params(), 134'794U);
  EXPECT_EQ(make_model("mlp:300x100", Activation::kRelu, kMnist, 10)->num_params(), 266'610U);
  EXPECT_EQ(make_model("cnn", Activation::kRelu, kMnist, 10)->num_params(), 27'354U);
  EXPECT_EQ(make_model("lenet", Activation::kRelu, kMnist, 10)->num_params(), 61'706U);
  EXPECT_EQ(make_model("lenet", Activation::kRelu, kCifar, 10)->num_params(), 62'006U);
}

TEST(ModelFactory, LayoutBlocksTileTheParametersExactly) {
  for (const auto& [spec, shape] :
       std::vector<std::pair<std::string, ImageShape>>{{"linear", kMnist},
                                                       {"mlp:128x64", kMnist},
                                                       {"cnn", kMnist},
                                                       {"cnn", kCifar},
                                                       {"lenet", kMnist},
                                                       {"lenet", kCifar}}) {
    const auto model = make_model(spec, Activation::kRelu, shape, 10);
    std::size_t next = 0;
    for (const ParamBlock& block : model->layout()) {
      EXPECT_EQ(block.offset, next) << spec << " " << block.name;
      EXPECT_GT(block.size(), 0U) << spec << " " << block.name;
      EXPECT_GT(block.fan_in, 0U);
      EXPECT_GT(block.fan_out, 0U);
      EXPECT_EQ(block.is_bias, block.shape.size() == 1) << spec << " " << block.name;
      next = block.offset + block.size();
    }
    EXPECT_EQ(next, model->num_params()) << spec;
  }
}

TEST(ModelFactory, CnnLayoutIsTheDocumentedOne) {
  const auto model = make_model("cnn", Activation::kRelu, kMnist, 10);
  const std::vector<ParamBlock> blocks = model->layout();
  ASSERT_EQ(blocks.size(), 8U);
  EXPECT_EQ(blocks[0].name, "conv0.weight");
  EXPECT_EQ(blocks[0].shape, (std::vector<std::int64_t>{4, 1, 3, 3}));
  EXPECT_EQ(blocks[0].fan_in, 9U);
  EXPECT_EQ(blocks[0].fan_out, 36U);
  EXPECT_EQ(blocks[2].shape, (std::vector<std::int64_t>{8, 4, 3, 3}));
  EXPECT_EQ(blocks[4].name, "dense0.weight");
  EXPECT_EQ(blocks[4].shape, (std::vector<std::int64_t>{128, 200}));
  EXPECT_EQ(blocks[7].name, "dense1.bias");
  EXPECT_EQ(blocks[7].shape, (std::vector<std::int64_t>{10}));
}

// Random features in [0, 1) and random labels.
struct RandomData {
  RandomData(ImageShape shape, int num_classes, std::size_t size, std::uint64_t seed) {
    SplitMix64 rng(seed);
    features.resize(shape.size() * size);
    for (float& f : features) f = rng.uniform01();
    for (std::size_t i = 0; i < size; ++i) {
      labels.push_back(
          static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(num_classes))));
    }
    batch = {features.data(), labels.data(), size, shape.size()};
  }
  std::vector<float> features;
  std::vector<std::int32_t> labels;
  Batch batch;
};

struct SpecCase {
  const char* spec;
  ImageShape shape;
};
const SpecCase kSpecs[] = {{"linear", {1, 8, 8}},
                           {"mlp:20x10", {1, 8, 8}},
                           {"cnn", kMnist},
                           {"lenet", kMnist},
                           {"lenet", kCifar}};

TEST(ModelLoss, AtZeroParametersIsLogOfTheClassCount) {
  for (const SpecCase& c : kSpecs) {
    for (const int classes : {2, 10}) {
      const auto model = make_model(c.spec, Activation::kRelu, c.shape, classes);
      const std::vector<float> theta(model->num_params(), 0.0F);
      std::vector<float> grad(model->num_params());
      const RandomData data(c.shape, classes, 6, 1);
      const auto ws = model->make_workspace(6);
      const float loss = model->loss_and_gradient(theta, data.batch, grad, *ws);
      EXPECT_NEAR(loss, std::log(static_cast<float>(classes)), 1e-6) << c.spec;
    }
  }
}

TEST(ModelLoss, EvaluateAgreesWithLossAndGradient) {
  for (const SpecCase& c : kSpecs) {
    const auto model = make_model(c.spec, Activation::kRelu, c.shape, 10);
    std::vector<float> theta(model->num_params());
    initialize_params(*model, parse_init("he"), 5, theta);
    std::vector<float> grad(model->num_params());
    const RandomData data(c.shape, 10, 7, 2);
    const auto ws = model->make_workspace(7);
    const float loss = model->loss_and_gradient(theta, data.batch, grad, *ws);
    const EvalSums sums = model->evaluate(theta, data.batch, *ws);
    EXPECT_EQ(sums.count, 7);
    EXPECT_GE(sums.correct, 0);
    EXPECT_LE(sums.correct, 7);
    EXPECT_NEAR(sums.loss_sum / 7.0, loss, 1e-5 * loss) << c.spec;
  }
}

TEST(ModelLoss, CountsArgMaxHits) {
  // Linear on 2 features, 2 classes: W = I makes the larger feature the predicted class.
  const auto model = make_model("linear", Activation::kRelu, {1, 1, 2}, 2);
  const std::vector<float> theta{1, 0, 0, 1, 0, 0};
  const std::vector<float> features{0.9F, 0.1F, 0.2F, 0.8F, 0.7F, 0.3F};
  const std::vector<std::int32_t> labels{0, 1, 1};
  const Batch batch{features.data(), labels.data(), 3, 2};
  const auto ws = model->make_workspace(4);
  EXPECT_EQ(model->evaluate(theta, batch, *ws).correct, 2);
}

TEST(ModelLoss, SmallerBatchThanTheWorkspaceGivesTheSameGradient) {
  for (const SpecCase& c : kSpecs) {
    const auto model = make_model(c.spec, Activation::kRelu, c.shape, 10);
    std::vector<float> theta(model->num_params());
    initialize_params(*model, parse_init("he"), 9, theta);
    const RandomData data(c.shape, 10, 3, 4);
    std::vector<float> exact(theta.size());
    std::vector<float> roomy(theta.size(), 123.0F);  // must be overwritten, not accumulated
    const auto exact_ws = model->make_workspace(3);
    const auto roomy_ws = model->make_workspace(300);
    const float exact_loss = model->loss_and_gradient(theta, data.batch, exact, *exact_ws);
    const float roomy_loss = model->loss_and_gradient(theta, data.batch, roomy, *roomy_ws);
    EXPECT_NEAR(exact_loss, roomy_loss, 1e-6F * exact_loss) << c.spec;
    for (std::size_t i = 0; i < theta.size(); ++i) {
      ASSERT_NEAR(exact[i], roomy[i], 1e-5F + 1e-4F * std::abs(exact[i])) << c.spec << " " << i;
    }
  }
}

// The convolution kernels vectorise over samples (models/conv/conv_kernels.hpp): 20 samples run
// their packets (4, 8 or 16 lanes) and a tail, one sample the tails alone; the mean gradient must
// equal the mean of one-sample gradients.
TEST(ModelLoss, ChunkedConvolutionsMatchPerSampleGradients) {
  const auto model = make_model("lenet", Activation::kRelu, kCifar, 10);
  std::vector<float> theta(model->num_params());
  initialize_params(*model, parse_init("he"), 12, theta);
  constexpr std::size_t kSamples = 20;
  const RandomData data(kCifar, 10, kSamples, 6);
  std::vector<float> batch_grad(theta.size());
  const auto batch_ws = model->make_workspace(kSamples);
  const float batch_loss = model->loss_and_gradient(theta, data.batch, batch_grad, *batch_ws);

  std::vector<double> mean(theta.size(), 0.0);
  double mean_loss = 0.0;
  std::vector<float> one(theta.size());
  const auto one_ws = model->make_workspace(1);
  for (std::size_t s = 0; s < kSamples; ++s) {
    const Batch single{data.features.data() + s * kCifar.size(), data.labels.data() + s, 1,
                       kCifar.size()};
    mean_loss += model->loss_and_gradient(theta, single, one, *one_ws) / double{kSamples};
    for (std::size_t i = 0; i < theta.size(); ++i) mean[i] += one[i] / double{kSamples};
  }
  EXPECT_NEAR(batch_loss, mean_loss, 1e-5 * mean_loss);
  for (std::size_t i = 0; i < theta.size(); ++i) {
    ASSERT_NEAR(batch_grad[i], mean[i], 1e-5 + 1e-3 * std::abs(mean[i])) << i;
  }
}

}  // namespace
}  // namespace psgd
