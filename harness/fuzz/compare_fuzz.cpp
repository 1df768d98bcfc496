// harness/fuzz/compare_fuzz.cpp — libFuzzer target: `psgd compare`'s inputs. The bytes are a
// results file read through read_result_set (the size cap, the JSON parser, every format's
// checks: Google Benchmark, nightly, and a training run document with its measures per point); a
// file that parses is then compared with itself and with a copy whose samples are scaled, and both
// reports are written, so the statistics and formatting see every accepted file. A ConfigError is
// the expected answer to a bad file; anything else (another exception, a crash, a sanitizer report,
// a leak) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/errors.hpp"
#include "harness/compare/compare_report.hpp"
#include "harness/compare/comparison.hpp"
#include "harness/compare/result_set.hpp"
#include "models/fuzz/fuzz_file.hpp"

namespace {

void compare_and_report(const psgd::ResultSet& baseline, const psgd::ResultSet& now) {
  const psgd::Comparison c = psgd::compare_results(baseline, now, psgd::CompareOptions{});
  static_cast<void>(psgd::format_text_report(c, baseline, now));
  static_cast<void>(psgd::format_markdown_report(c, baseline, now));
  static_cast<void>(psgd::summary_line(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const psgd::fuzz::MemoryFile file(data, size);
  try {
    const psgd::ResultSet set = psgd::read_result_set(file.path());
    compare_and_report(set, set);
    psgd::ResultSet slower = set;
    for (psgd::Measure& m : slower.measures) {
      for (double& s : m.samples) s *= 1.5;
    }
    compare_and_report(set, slower);
  } catch (const psgd::ConfigError&) {
  }
  return 0;
}
