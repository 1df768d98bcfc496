// common/parse_number.hpp — option values from text: whole text or nothing, range-checked before
// any narrowing, one-line ConfigError messages that name the option.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/errors.hpp"

namespace psgd {

// "--name must be WANT, got 'text'".
[[noreturn]] inline void bad_option_value(std::string_view option, std::string_view text,
                                          std::string_view want) {
  throw ConfigError("--" + std::string(option) + " must be " + std::string(want) + ", got '" +
                    std::string(text) + "'");
}

// An integer in [min, max]. Text that is not an integer, or one outside the range, is an error;
// one too large for 64 bits says "out of range" rather than "not an integer".
inline std::int64_t parse_int_option(std::string_view option, std::string_view text,
                                     std::int64_t min,
                                     std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  const std::string want = min == 1 ? "a positive integer" : "an integer >= " + std::to_string(min);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const bool whole = end == text.data() + text.size();
  if (whole && (ec == std::errc::result_out_of_range || (ec == std::errc() && v > max))) {
    bad_option_value(option, text, want + " up to " + std::to_string(max) + " (out of range)");
  }
  if (ec != std::errc() || !whole || v < min) bad_option_value(option, text, want);
  return v;
}

// A finite number > 0 (std::from_chars: no "nan", "inf" or trailing text).
inline double parse_positive_option(std::string_view option, std::string_view text) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0.0) {
    bad_option_value(option, text, "a positive number");
  }
  return v;
}

// A finite number in [lo, hi].
inline double parse_fraction_option(std::string_view option, std::string_view text, double lo,
                                    double hi, std::string_view want) {
  double v = std::nan("");
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v >= lo && v <= hi)) {
    bad_option_value(option, text, want);
  }
  return v;
}

}  // namespace psgd
