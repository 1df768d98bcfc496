// harness/fuzz/sweep_expand_fuzz.cpp — libFuzzer target: sweep spec expansion (`psgd sweep
// SPEC --dry-run` after parsing): the grid, the exclude rules, null values that stand for an
// option's default, each point's run options checked as `psgd run` checks them, and the
// refusal of two points that run the same configuration. Specs that parse are expanded when
// they plan at most kMaxFuzzRuns runs, and inputs over kMaxInputBytes are skipped, so that an
// iteration stays short. A ConfigError is the expected answer; anything else (another exception,
// a crash, a sanitizer report, a leak) is a finding, and so is a plan with a repeated run id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/errors.hpp"
#include "harness/sweep/spec.hpp"

namespace {

constexpr std::size_t kMaxInputBytes = 4096;
// Plans above this many runs are skipped: each point is parsed as a command line, and the
// sweep's own limit (kMaxSweepRuns) is tested in harness/test/sweep_spec_test.cpp.
constexpr std::size_t kMaxFuzzRuns = 512;

bool small_enough(const psgd::SweepSpec& spec) {
  std::size_t runs = spec.seeds.size();
  for (const psgd::SweepAxis& axis : spec.axes) {
    if (axis.values.empty() || runs > kMaxFuzzRuns) return runs <= kMaxFuzzRuns;
    runs *= axis.values.size();
  }
  return runs <= kMaxFuzzRuns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInputBytes) return 0;
  const auto doc = nlohmann::ordered_json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  for (const std::string_view scale : {std::string_view(), std::string_view("quick")}) {
    try {
      const psgd::SweepSpec spec = psgd::parse_sweep_spec(doc, scale);
      if (!small_enough(spec)) continue;
      std::set<std::string> ids;
      for (const psgd::PlannedRun& run : psgd::expand(spec)) {
        if (!ids.insert(run.run_id).second) std::abort();  // expand promises unique ids
        static_cast<void>(psgd::option_text(run, "batch"));
      }
      static_cast<void>(psgd::index_option_columns(spec));
    } catch (const psgd::ConfigError&) {
    }
  }
  return 0;
}
