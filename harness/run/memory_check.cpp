// harness/run/memory_check.cpp — the up-front memory estimates of `psgd run`.
#include "harness/run/memory_check.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/errors.hpp"
#include "models/data/synthetic.hpp"

namespace psgd {
namespace {

constexpr double kGiB = 1073741824.0;

// "%.1f" of a number of GiB, as every message here prints sizes.
std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", bytes / kGiB);
  return text;
}

// Throws EnvironmentError "NEED, more than this machine's M GiB of memory" + `hint` when `bytes`
// exceed the physical memory (never when it cannot be read).
void refuse_beyond_memory(double bytes, const std::string& need, const std::string& hint = "") {
  const double physical = physical_memory_bytes();
  if (physical > 0 && bytes > physical) {
    throw EnvironmentError(need + ", more than this machine's " + gib(physical) + " GiB of memory" +
                           hint);
  }
}

}  // namespace

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0.0;
  return static_cast<double>(pages) * static_cast<double>(page_size);
}

double parameter_vector_bytes(std::size_t num_params, const RunConfig& cfg) {
  const double scalar = cfg.precision == Precision::kDouble ? sizeof(double) : sizeof(float);
  return static_cast<double>(num_params) * scalar * (4.0 + 3.0 * static_cast<double>(cfg.threads));
}

double histogram_bytes(const RunConfig& cfg) {
  return static_cast<double>(cfg.staleness_bins) * static_cast<double>(sizeof(std::int64_t)) *
         (2.0 * static_cast<double>(cfg.threads) + 2.0);
}

void check_histograms_fit(const RunConfig& cfg) {
  const double bytes = histogram_bytes(cfg);
  refuse_beyond_memory(bytes,
                       "--staleness-bins " + std::to_string(cfg.staleness_bins) + " with " +
                           std::to_string(cfg.threads) +
                           " thread(s): the staleness histograms need at least " + gib(bytes) +
                           " GiB",
                       " (lower --staleness-bins)");
}

void check_model_fits(std::size_t num_params, const RunConfig& cfg) {
  const double bytes = parameter_vector_bytes(num_params, cfg) + histogram_bytes(cfg);
  refuse_beyond_memory(bytes, "--model " + cfg.model + ": " + std::to_string(num_params) +
                                  " parameters need at least " + gib(bytes) + " GiB with " +
                                  std::to_string(cfg.threads) + " thread(s)");
}

void check_synthetic_fits(const RunConfig& cfg, Activation activation) {
  if (!is_synthetic_name(cfg.dataset)) return;
  const SyntheticSpec spec = parse_synthetic_name(cfg.dataset);
  const std::unique_ptr<Model> model = make_model(
      cfg.model, activation, ImageShape{1, 1, static_cast<int>(spec.features)}, spec.classes);
  const double data = synthetic_generated_bytes(spec);
  const double params = parameter_vector_bytes(model->num_params(), cfg) + histogram_bytes(cfg);
  refuse_beyond_memory(data + params, "--dataset " + cfg.dataset + " with --model " + cfg.model +
                                          ": " + std::to_string(model->num_params()) +
                                          " parameters need at least " + gib(params) +
                                          " GiB with " + std::to_string(cfg.threads) +
                                          " thread(s) and the data " + gib(data) + " GiB, " +
                                          gib(data + params) + " GiB in all");
}

}  // namespace psgd
