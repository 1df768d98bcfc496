// models/model_factory.hpp — model names to models, and parameter initialisation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/name_table.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd {

enum class Activation { kRelu, kSigmoid };

inline constexpr NameTable<Activation, 2> kActivations{{
    {"relu", Activation::kRelu},
    {"sigmoid", Activation::kSigmoid},
}};

// Builds the model named by spec for inputs of the given shape and num_classes outputs:
//   "linear"            softmax regression
//   "mlp:W1xW2x...xWk"  dense hidden layers of the given widths (e.g. "mlp:128x128x128")
//   "cnn"               the reference framework's small CNN (conv3x3x4, pool2, conv3x3x8, pool2,
//                       dense128, softmax)
//   "lenet"             LeNet-5 shape, for 28x28x1 and 32x32x3 inputs
// Throws ConfigError naming the valid specs when spec is unknown or malformed, or when the
// input shape does not suit the model (e.g. "cnn" on 4x4 images).
// S is the scalar type of theta and the computation (--precision; float or double).
template <class S = float>
std::unique_ptr<BasicModel<S>> make_model(std::string_view spec, Activation activation,
                                          ImageShape input, int num_classes);

// The names make_model accepts, for `psgd list` and error messages.
std::string model_names_help();

// Parses "relu" / "sigmoid"; throws ConfigError "--activation must be relu or sigmoid, got 'x'".
Activation parse_activation(std::string_view name);
std::string_view activation_name(Activation a);

struct InitSpec {
  enum class Kind { kHe, kGlorot, kNormal };
  Kind kind = Kind::kHe;
  double sigma = 0.01;  // used by kNormal only
};

inline constexpr NameTable<InitSpec::Kind, 3> kInitKinds{{
    {"he", InitSpec::Kind::kHe},
    {"glorot", InitSpec::Kind::kGlorot},
    {"normal", InitSpec::Kind::kNormal},  // takes ":SIGMA"
}};

// Parses "he", "glorot" or "normal:SIGMA" (SIGMA > 0); throws ConfigError "--init must be he,
// glorot or normal:SIGMA, got 'x'" otherwise.
InitSpec parse_init(std::string_view text);
std::string init_name(const InitSpec& init);  // the canonical text parse_init accepts

// Fills theta deterministically from seed: weights by the rule (He: N(0, 2/fan_in); Glorot:
// U(+-sqrt(6/(fan_in+fan_out))); normal: N(0, sigma^2)); biases zero, except under normal:SIGMA,
// which draws biases from N(0, sigma^2) too, as the reference framework does.
// The values are drawn in double and rounded to S once, so a float and a double run start from
// the same point up to float rounding.
template <class S>
void initialize_params(const BasicModel<S>& model, const InitSpec& init, std::uint64_t seed,
                       std::span<std::type_identity_t<S>> theta);

}  // namespace psgd
