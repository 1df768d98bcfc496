// harness/cli/build_info.hpp — the facts about this build and machine that every result records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace psgd {

// schema_version of every JSON document psgd writes; bumped on any incompatible change.
// 2: the work block, and --epochs counting passes over the data in computed gradients for every
// method (a round-based method's epoch used to be N/b rounds).
// 3: the config block's keys in snake_case (batch_order, not batch-order) with no null (an unset
// option is "none", "auto" or "default", the budget resolved), and the command line as `argv`.
// What is measured and how is unchanged: a reader takes 2 and 3 alike, spelling aside.
inline constexpr int kSchemaVersion = 3;
// The oldest schema whose runs measure what this build's do (a sweep resumes them, not redoes).
inline constexpr int kOldestComparableSchemaVersion = 2;

// The `context` block: git SHA and dirty flag of the tree the binary was built from (taken at
// build time), compiler and flags, build
// type, host, CPU model, hardware threads, governor, load average, date (UTC, ISO 8601).
nlohmann::json run_context();

// Now, in UTC, as ISO 8601 to the second (2026-12-06T17:01:00Z): the date every document records.
std::string utc_now();

// `psgd --version`: one "key: value" line each for the version, the source tree (git SHA and
// dirty flag at build time), compiler and version, build type and flags, the
// instruction-set extensions the build targets (from the compiler's predefined macros: what
// -march selected) and those this CPU has (cpuid via __builtin_cpu_supports). A build that
// targets an extension this CPU lacks is marked, since it would die of SIGILL.
std::string version_text();

}  // namespace psgd
