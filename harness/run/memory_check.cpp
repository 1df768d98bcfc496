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
  const double physical = physical_memory_bytes();
  if (physical > 0 && bytes > physical) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "--staleness-bins %lld with %d thread(s): the staleness histograms need at least "
                  "%.1f GiB, more than this machine's %.1f GiB of memory (lower --staleness-bins)",
                  static_cast<long long>(cfg.staleness_bins), cfg.threads, bytes / kGiB,
                  physical / kGiB);
    throw EnvironmentError(line);
  }
}

void check_model_fits(std::size_t num_params, const RunConfig& cfg) {
  const double bytes = parameter_vector_bytes(num_params, cfg) + histogram_bytes(cfg);
  const double physical = physical_memory_bytes();
  if (physical > 0 && bytes > physical) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "--model %s: %zu parameters need at least %.1f GiB with %d thread(s), more than "
                  "this machine's %.1f GiB of memory",
                  cfg.model.c_str(), num_params, bytes / kGiB, cfg.threads, physical / kGiB);
    throw EnvironmentError(line);
  }
}

void check_synthetic_fits(const RunConfig& cfg, Activation activation) {
  if (!is_synthetic_name(cfg.dataset)) return;
  const SyntheticSpec spec = parse_synthetic_name(cfg.dataset);
  const std::unique_ptr<Model> model = make_model(
      cfg.model, activation, ImageShape{1, 1, static_cast<int>(spec.features)}, spec.classes);
  const double data = synthetic_generated_bytes(spec);
  const double params = parameter_vector_bytes(model->num_params(), cfg) + histogram_bytes(cfg);
  const double physical = physical_memory_bytes();
  if (physical > 0 && data + params > physical) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "--dataset %s with --model %s: %zu parameters need at least %.1f GiB with %d "
                  "thread(s) and the data %.1f GiB, %.1f GiB in all, more than this machine's "
                  "%.1f GiB of memory",
                  cfg.dataset.c_str(), cfg.model.c_str(), model->num_params(), params / kGiB,
                  cfg.threads, data / kGiB, (data + params) / kGiB, physical / kGiB);
    throw EnvironmentError(line);
  }
}

}  // namespace psgd
