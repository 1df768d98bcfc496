// models/model_factory.cpp — model specs to models, and deterministic parameter initialisation.
#include "models/model_factory.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/errors.hpp"
#include "common/random.hpp"
#include "models/cnn.hpp"
#include "models/lenet.hpp"
#include "models/linear.hpp"
#include "models/mlp.hpp"

namespace psgd {
namespace {

// Wider hidden layers than this are almost certainly a typo (a 2^20-wide layer on 784 inputs is
// 3 GiB of parameters), so they are rejected rather than allocated.
constexpr std::size_t kMaxWidth = std::size_t{1} << 20;

[[noreturn]] void bad_model(std::string_view spec, std::string_view why) {
  const std::string quoted = "'" + std::string(spec) + "'";
  const std::string what = why.empty()
                               ? "unknown model " + quoted
                               : "malformed model " + quoted + " (" + std::string(why) + ")";
  throw ConfigError(what + "; valid: " + model_names_help());
}

// "W1xW2x...xWk" -> widths; every width a positive decimal integer.
std::vector<std::size_t> parse_widths(std::string_view spec, std::string_view text) {
  std::vector<std::size_t> widths;
  if (text.empty()) bad_model(spec, "no hidden widths");
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(text.find('x', start), text.size());
    const std::string_view token = text.substr(start, end - start);
    std::size_t width = 0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), width);
    if (token.empty() || ec != std::errc{} || ptr != token.data() + token.size() || width == 0 ||
        width > kMaxWidth) {
      bad_model(spec, "widths must be integers in [1, " + std::to_string(kMaxWidth) +
                          "] separated by 'x'");
    }
    widths.push_back(width);
    if (end == text.size()) break;
    start = end + 1;
  }
  return widths;
}

}  // namespace

template <class S>
std::unique_ptr<BasicModel<S>> make_model(std::string_view spec, Activation activation,
                                          ImageShape input, int num_classes) {
  if (input.channels < 1 || input.height < 1 || input.width < 1) {
    throw ConfigError("model '" + std::string(spec) + "' needs a non-empty input shape, got " +
                      std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                      std::to_string(input.width));
  }
  if (num_classes < 2) {
    throw ConfigError("model '" + std::string(spec) + "' needs at least 2 classes, got " +
                      std::to_string(num_classes));
  }
  if (spec == "linear") return make_linear<S>(input.size(), num_classes);
  if (spec == "cnn") return make_cnn<S>(input, num_classes, activation);
  if (spec == "lenet") return make_lenet<S>(input, num_classes, activation);
  constexpr std::string_view kMlpPrefix = "mlp:";
  if (spec.starts_with(kMlpPrefix)) {
    return std::make_unique<Mlp<S>>(
        input.size(), parse_widths(spec, spec.substr(kMlpPrefix.size())), num_classes, activation);
  }
  bad_model(spec, "");
}

template std::unique_ptr<BasicModel<float>> make_model(std::string_view, Activation, ImageShape,
                                                       int);
template std::unique_ptr<BasicModel<double>> make_model(std::string_view, Activation, ImageShape,
                                                        int);

std::string model_names_help() { return "linear, mlp:W1xW2x..., cnn, lenet"; }

Activation parse_activation(std::string_view name) {
  return parse_name(kActivations, "activation", name);
}

std::string_view activation_name(Activation a) { return name_of(kActivations, a); }

InitSpec parse_init(std::string_view text) {
  const std::string choices = names_text(kInitKinds, InitSpec::Kind::kNormal, "SIGMA");
  constexpr std::string_view kNormalPrefix = "normal:";
  if (text.starts_with(kNormalPrefix)) {
    const std::string_view number = text.substr(kNormalPrefix.size());
    double sigma = 0.0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), sigma);
    if (number.empty() || ec != std::errc{} || ptr != number.data() + number.size() ||
        !std::isfinite(sigma) || sigma <= 0.0) {
      bad_option_value("init", text, choices + " (SIGMA a finite number > 0)");
    }
    return {InitSpec::Kind::kNormal, sigma};
  }
  const std::optional<InitSpec::Kind> kind = find_name(kInitKinds, text);
  if (!kind || *kind == InitSpec::Kind::kNormal) {
    bad_option_value("init", text, choices);
  }
  return {*kind, InitSpec{}.sigma};
}

std::string init_name(const InitSpec& init) {
  const std::string name(name_of(kInitKinds, init.kind));
  if (init.kind != InitSpec::Kind::kNormal) return name;
  // The shortest text that parses back to the same double.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, init.sigma);
  return name + ":" + std::string(buffer, result.ptr);
}

template <class S>
void initialize_params(const BasicModel<S>& model, const InitSpec& init, std::uint64_t seed,
                       std::span<std::type_identity_t<S>> theta) {
  if (theta.size() != model.num_params()) {
    throw ConfigError("initialize_params: theta holds " + std::to_string(theta.size()) +
                      " values, model '" + model.spec() + "' has " +
                      std::to_string(model.num_params()));
  }
  // One stream per block, so a block's values depend on (seed, block index) only. The salt keeps
  // these streams apart from the batch streams that derive from the same master seed.
  constexpr std::uint64_t kInitSalt = 0x696E6974'5F706172ULL;  // "init_par"
  SplitMix64 block_seeds(seed ^ kInitSalt);
  for (const ParamBlock& block : model.layout()) {
    std::span<S> values = theta.subspan(block.offset, block.size());
    NormalSource source(block_seeds.next());
    if (block.is_bias && init.kind != InitSpec::Kind::kNormal) {
      for (S& v : values) v = S{0};
      continue;
    }
    switch (init.kind) {
      case InitSpec::Kind::kHe: {
        const double stddev = std::sqrt(2.0 / static_cast<double>(block.fan_in));
        for (S& v : values) v = static_cast<S>(stddev * source.next());
        break;
      }
      case InitSpec::Kind::kGlorot: {
        const double limit = std::sqrt(6.0 / static_cast<double>(block.fan_in + block.fan_out));
        for (S& v : values) v = static_cast<S>(limit * source.symmetric_uniform());
        break;
      }
      case InitSpec::Kind::kNormal:
        for (S& v : values) v = static_cast<S>(init.sigma * source.next());
        break;
    }
  }
}

template void initialize_params(const BasicModel<float>&, const InitSpec&, std::uint64_t,
                                std::span<float>);
template void initialize_params(const BasicModel<double>&, const InitSpec&, std::uint64_t,
                                std::span<double>);

}  // namespace psgd
