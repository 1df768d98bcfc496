// harness/run/ignored_options.hpp — options a run accepts but its other choices make do nothing.
//
// `--activation sigmoid --model linear`, `--raw-pixels` or `--data-dir` with synthetic data and
// `--eval-samples` above the training set were accepted in silence: the user believed them in
// effect. They are warnings, not errors, since a sweep may cross such an option with a model or
// data set where it does matter.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/run/run_config.hpp"

namespace psgd {

// One line per option that has no effect on this run, naming the option and why; empty when
// every option given matters. `train_samples` is the loaded training set's size.
[[nodiscard]] std::vector<std::string> ignored_option_warnings(const RunConfig& cfg,
                                                               std::size_t train_samples);

}  // namespace psgd
