// algorithms/leashed.cpp — instantiations of `leashed`, its options and its registry entry.
#include "algorithms/leashed.hpp"

#include <charconv>

#include "algorithms/retry_options.hpp"
#include "common/parse_number.hpp"

namespace psgd {

template <class S>
std::unique_ptr<BasicAlgorithm<S>> make_leashed_sgd(const LeashedOptions& options,
                                                    BackoffKind backoff,
                                                    const BackoffParams& params) {
  return with_backoff(backoff, [&]<class B>() -> std::unique_ptr<BasicAlgorithm<S>> {
    return std::make_unique<LeashedSgd<S, B>>(options, params);
  });
}

template std::unique_ptr<BasicAlgorithm<float>> make_leashed_sgd(const LeashedOptions&, BackoffKind,
                                                                 const BackoffParams&);
template std::unique_ptr<BasicAlgorithm<double>> make_leashed_sgd(const LeashedOptions&,
                                                                  BackoffKind,
                                                                  const BackoffParams&);

// Default inf: the reference framework's default (its B = 200 sentinel); dropping gradients is an
// experiment, not a default.
const AlgorithmOption& persistence_option() {
  static const AlgorithmOption o = AlgorithmOption::make<std::int64_t>(
      "persistence", "B",
      "leashed: failed publish attempts retried before the gradient is dropped (B + 1 attempts "
      "in all): an integer >= 0 or inf (never drop)",
      LeashedOptions::kInfinite,
      [](std::string_view text) {
        if (text == "inf") return LeashedOptions::kInfinite;
        // Checked here rather than by parse_int_option so that the message lists "inf" too.
        std::int64_t b = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), b);
        if (ec != std::errc() || end != text.data() + text.size() || b < 0) {
          bad_option_value("persistence", text,
                           ec == std::errc::result_out_of_range
                               ? "an integer >= 0 up to 2^63 - 1 (out of range) or inf"
                               : "an integer >= 0 or inf (never drop)");
        }
        return b;
      },
      [](const std::int64_t& b) {
        return b == LeashedOptions::kInfinite ? nlohmann::json("inf") : nlohmann::json(b);
      });
  return o;
}

const AlgorithmOption& test_before_cas_option() {
  static const AlgorithmOption o = AlgorithmOption::make<bool>(
      "test-before-cas", "", "leashed: re-read the latest pointer and skip a CAS that would fail",
      false, [](std::string_view) { return true; },
      [](const bool& b) { return nlohmann::json(b); });
  return o;
}

AlgorithmEntry leashed_entry() {
  std::vector<const AlgorithmOption*> options = {&persistence_option(), &test_before_cas_option()};
  for (const AlgorithmOption* o : backoff_options()) options.push_back(o);
  for (const AlgorithmOption* o : step_rule_options()) options.push_back(o);
  return {"leashed",
          "Leashed-SGD: CAS-published immutable vectors",
          1,
          AlgorithmEntry::kAnyThreads,
          std::move(options),
          []<class S>(const AlgorithmSetup& s) {
            LeashedOptions o;
            o.persistence = s.settings.get<std::int64_t>(persistence_option());
            o.test_before_cas = s.settings.get<bool>(test_before_cas_option());
            o.step_rule = step_rule_choice(s.settings);
            const BackoffChoice b = backoff_choice(s.settings, s.seed);
            return make_leashed_sgd<S>(o, b.kind, b.params);
          }};
}

}  // namespace psgd
