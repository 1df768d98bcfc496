// harness/fuzz/sweep_spec_fuzz.cpp — libFuzzer target: the sweep spec parser (`psgd sweep
// SPEC`) on arbitrary text, with and without a scale. Text that is not JSON is the JSON parser's
// business (the loader turns its exception into a ConfigError); what is fuzzed is every JSON
// document. A ConfigError is the expected answer to a bad spec; anything else (another
// exception, a crash, a sanitizer report, a leak) is a finding. Expansion is fuzzed by
// sweep_expand_fuzz.cpp, on specs small enough to expand quickly.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/errors.hpp"
#include "harness/sweep/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto doc = nlohmann::ordered_json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  for (const std::string_view scale : {std::string_view(), std::string_view("quick")}) {
    try {
      static_cast<void>(psgd::parse_sweep_spec(doc, scale));
    } catch (const psgd::ConfigError&) {
    }
  }
  return 0;
}
