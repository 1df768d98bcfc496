// harness/run/memory_check.hpp — refuses a run whose model or generated data cannot fit in this
// machine's memory, with one line saying how much it needs, instead of dying of std::bad_alloc
// or the OOM killer mid-run.
#pragma once

#include <cstddef>

#include "harness/run/run_config.hpp"
#include "models/model.hpp"
#include "models/model_factory.hpp"

namespace psgd {

// Bytes of this machine's physical memory (sysconf), 0 if unknown.
[[nodiscard]] double physical_memory_bytes();

// Lower bound on the bytes a run's parameter vectors take: num_params scalars (4 bytes, 8 with
// --precision double) x (4 + 3 x threads)
// vectors (the initial, shared and final parameters and one snapshot; per worker a gradient, a
// local copy and a published vector, as Leashed has). Activations and the data come on top.
[[nodiscard]] double parameter_vector_bytes(std::size_t num_params, const RunConfig& cfg);

// Lower bound on the bytes of the staleness and failed-attempt histograms: --staleness-bins
// 8-byte bins, two per worker and the two merged ones. 1,048,576 bins at 256 threads took 4.3 GiB
// that no estimate counted; 4,096 threads passed a sweep's --dry-run.
[[nodiscard]] double histogram_bytes(const RunConfig& cfg);

// Throws EnvironmentError when the histograms alone exceed physical memory: "--staleness-bins N
// with T thread(s): the staleness histograms need at least X GiB, more than this machine's Y GiB
// of memory (lower --staleness-bins)". Needs no data or model, so it comes first.
void check_histograms_fit(const RunConfig& cfg);

// Throws EnvironmentError when the parameter vectors (and histograms) of a model of num_params
// parameters exceed physical memory:
// "--model SPEC: N parameters need at least X GiB with T thread(s), more than this machine's Y
// GiB of memory". Called after the data is loaded (the model's size depends on its shape).
void check_model_fits(std::size_t num_params, const RunConfig& cfg);

// For a synthetic data set (cfg.dataset names one; a no-op otherwise), before anything is
// generated: the generator's own bytes (W*, both splits' features and labels) plus the model's
// parameter vectors, which are known from the name alone. Throws EnvironmentError ("--dataset
// NAME with --model SPEC: N parameters need at least P GiB with T thread(s) and the data D GiB,
// X GiB in all, more than this machine's Y GiB of memory"); ConfigError for a malformed name or
// model, as load_dataset and make_model would.
void check_synthetic_fits(const RunConfig& cfg, Activation activation);

}  // namespace psgd
