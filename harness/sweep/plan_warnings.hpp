// harness/sweep/plan_warnings.hpp — points that run but do not measure what their spec most
// likely means, found before anything runs (`psgd sweep --dry-run` prints them on stderr).
//
// Warnings, not errors: such a point is a valid run (a spec may want it, as a baseline), but a
// study that reads it as something else publishes an artefact. One case so far: a hybrid whose
// K0 is at least its gradient sources W never switches; it is the synchronous parameter server
// from its first update (with W = 1, sequential SGD).
#pragma once

#include <string>
#include <vector>

#include "harness/sweep/spec.hpp"

namespace psgd {

// One line per point (not per repetition), without a trailing newline: "point P: ...".
std::vector<std::string> plan_warnings(const std::vector<PlannedRun>& runs);

}  // namespace psgd
