// harness/build_info.hpp — the facts about this build and machine that every result records.
#pragma once

#include <nlohmann/json.hpp>

namespace psgd {

// schema_version of every JSON document psgd writes; bumped on any incompatible change.
inline constexpr int kSchemaVersion = 1;

// The `context` block: git SHA and dirty flag of the source tree, compiler and flags, build
// type, host, CPU model, hardware threads, governor, load average, date (UTC, ISO 8601).
nlohmann::json run_context();

}  // namespace psgd
