// harness/sweep/point_check.hpp — every point of a sweep checked as `psgd run` checks its
// configuration before it trains, so that a sweep with one bad point runs nothing.
//
// expand() already parses each point with the run option table (names, numbers, cross-option
// rules). This adds the checks `psgd run` makes after parsing, in-process and without training,
// through the same functions (harness/run/preflight.hpp): the algorithm accepts the thread count
// and its options, the activation and initialisation are known, the placement's CPUs and the
// memory policy's NUMA node exist (once per distinct topology), a generated data set and the
// model fit in memory, the data set is known and loads (once per distinct data set), the model
// spec suits it, and the batch fits the training set. A run takes seconds to minutes to reach
// the point where it would refuse; the sweep refuses in one line before the first run. The output
// paths are the sweep's own, checked by it.
//
// One refusal is machine-dependent by design: more threads than hardware threads under compact
// or scatter placement. A spec's full scale is written for a range of servers, so such points
// are not errors; they are recorded as `invalid` runs, and counted up front (PointCheck).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/sweep/spec.hpp"

namespace psgd {

struct PointCheck {
  std::size_t too_many_threads = 0;  // points this machine refuses for their thread count
  std::string example;               // one of them, as "point P: threads T > N hardware threads"
};

// Throws ConfigError "point <point id>: <what psgd run would say>" for the first point that
// `psgd run` would refuse, EnvironmentError likewise for a data set that cannot be read.
PointCheck check_points(const std::vector<PlannedRun>& runs);

}  // namespace psgd
