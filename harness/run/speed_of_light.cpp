// harness/run/speed_of_light.cpp — the speed_of_light block (speed_of_light.hpp).
#include "harness/run/speed_of_light.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace psgd {
namespace {

using nlohmann::json;

// leashed's publish: one compare-and-swap of the pointer to the latest vector.
constexpr double kPublishCasBytes = 8.0;

json light_number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The lock methods' split of an update and the bound it implies. The serial part: the apply
// section for `rwlock` (its read sections share the lock and overlap one another; a reader still
// holds off the writers, so the bound is optimistic), the read and the apply section for `mutex`
// (both exclusive). The measured speed-up is against one thread that pays this run's mean read,
// gradient and apply time per update and never waits: applied x (t_read + t_grad + t_apply) /
// wall seconds. null for every other method (leashed and the HOGWILD! methods are lock-free).
json critical_section_json(const SpeedOfLightFacts& f) {
  const bool mutex = f.algorithm == "mutex";
  if ((!mutex && f.algorithm != "rwlock") || f.totals.timed_updates <= 0) return nullptr;
  const auto n = static_cast<double>(f.totals.timed_updates);
  const double read = f.totals.read_section_seconds / n;
  const double grad = f.totals.gradient_seconds / n;
  const double apply = f.totals.apply_section_seconds / n;
  const double serial = mutex ? read + apply : apply;
  const double one_thread = read + grad + apply;
  return {{"read_seconds_per_update", light_number(read)},
          {"gradient_seconds_per_update", light_number(grad)},
          {"apply_seconds_per_update", light_number(apply)},
          {"serial_part", mutex ? "read and apply sections" : "apply section"},
          {"serial_seconds_per_update", light_number(serial)},
          {"speedup_bound", serial > 0 ? light_number(one_thread / serial) : json(nullptr)},
          {"speedup_measured", f.wall_seconds > 0 ? light_number(static_cast<double>(f.applied) *
                                                                 one_thread / f.wall_seconds)
                                                  : json(nullptr)},
          {"speedup_compared_with",
           "one thread paying this run's mean read + gradient + apply time per update, "
           "never waiting"},
          {"timed_updates", f.totals.timed_updates}};
}

// Every timed method's split of an update into read, gradient and apply (WorkerStats'
// read_section_seconds ... timed_updates): the lock methods time theirs with the lock held
// (locked_sgd.hpp), the HOGWILD! methods their racy copy and apply (hogwild.hpp). Comparing it at
// 2 threads with 1 says whether reading and applying slowed down (two cores taking the vector's
// lines from each other) or the gradient did (the cores sharing caches). accounted_fraction: the
// share of the workers' time (threads x wall seconds) the three parts hold; the rest is lock
// waits, bookkeeping, checkpoints and time descheduled. null for the methods that time nothing.
json update_split_json(const SpeedOfLightFacts& f) {
  const bool locked = f.algorithm == "mutex" || f.algorithm == "rwlock";
  const bool racy = f.algorithm == "hogwild" || f.algorithm == "hogwild-atomic";
  if ((!locked && !racy) || f.totals.timed_updates <= 0) return nullptr;
  const auto n = static_cast<double>(f.totals.timed_updates);
  const double parts =
      f.totals.read_section_seconds + f.totals.gradient_seconds + f.totals.apply_section_seconds;
  const double worker_seconds = static_cast<double>(f.threads) * f.wall_seconds;
  return {{"read_seconds_per_update", light_number(f.totals.read_section_seconds / n)},
          {"gradient_seconds_per_update", light_number(f.totals.gradient_seconds / n)},
          {"apply_seconds_per_update", light_number(f.totals.apply_section_seconds / n)},
          {"timed",
           locked ? "read and apply: lock held, copying theta out and applying (the wait for the "
                    "lock excluded)"
                  : "read: the version load and the racy copy; apply: numbering the update, its "
                    "step and the apply (hogwild-atomic: the CAS loop and its backoff)"},
          {"accounted_fraction",
           worker_seconds > 0 ? light_number(parts / worker_seconds) : json(nullptr)},
          {"timed_updates", f.totals.timed_updates}};
}

std::string light_text(const json& v, int decimals) {
  if (!v.is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v.get<double>());
  return buf;
}

}  // namespace

std::optional<double> parameter_vectors_per_update(std::string_view algorithm) {
  if (algorithm == "seq") return 3.0;  // the apply in place: no copy
  if (algorithm == "mutex" || algorithm == "rwlock" || algorithm == "hogwild" ||
      algorithm == "hogwild-atomic") {
    return 5.0;  // the read copy (2) and the apply (3)
  }
  if (algorithm == "leashed") return 3.0;  // copy-and-apply into a candidate; gradient in place
  return std::nullopt;
}

std::optional<double> parameter_bytes_per_update(std::string_view algorithm, std::size_t params,
                                                 std::size_t scalar_bytes) {
  const std::optional<double> vectors = parameter_vectors_per_update(algorithm);
  if (!vectors) return std::nullopt;
  const double cas = algorithm == "leashed" ? kPublishCasBytes : 0.0;
  return *vectors * static_cast<double>(params) * static_cast<double>(scalar_bytes) + cas;
}

json speed_of_light_json(const SpeedOfLightFacts& f) {
  const double flops_per_gradient = f.flops_per_sample * static_cast<double>(f.batch);
  const std::optional<double> bytes =
      parameter_bytes_per_update(f.algorithm, f.params, f.scalar_bytes);
  json block = {
      {"flops_per_sample", light_number(f.flops_per_sample)},
      {"flops_per_gradient", light_number(flops_per_gradient)},
      {"flops_counted",
       "the GEMMs' 2mnk of every layer: forward, weight gradient, input gradient (not the "
       "first layer's); elementwise work left out"},
      {"parameter_bytes_per_update", bytes ? light_number(*bytes) : json(nullptr)},
      {"machine", nullptr},
      {"gemm_fraction", nullptr},
      {"bandwidth_fraction", nullptr},
      {"reason", nullptr},
      {"update_split", update_split_json(f)},
      {"critical_section", critical_section_json(f)}};
  if (f.limits == nullptr) {
    block["reason"] = "no measurement cached at " + f.limits_path +
                      " (run `psgd topo --measure` once on this machine)";
    return block;
  }
  const MachineLimits& m = *f.limits;
  const std::int64_t cores = std::max<std::int64_t>(1, std::min<std::int64_t>(f.threads, m.cores));
  const std::uint64_t vector_bytes = f.params * f.scalar_bytes;
  const BandwidthPoint& point = bandwidth_at(m, vector_bytes);
  // The copy rate `cores` threads can reach: one core's rate times the threads that run at once,
  // capped at all cores' rate (measured with m.cores streams). All cores' rate alone would
  // understate what 2 threads of a 64-core server can move, and one core's alone would overstate
  // several threads' share where the all-cores point was skipped.
  double bandwidth = point.copy_one_core * static_cast<double>(cores);
  if (point.copy_all_cores.has_value()) bandwidth = std::min(bandwidth, *point.copy_all_cores);
  block["machine"] = {{"key", machine_limits_key(m.cpu_model, m.cores)},
                      {"file", f.limits_path},
                      {"measured", m.date},
                      {"gemm_flops_per_core", m.gemm_flops_per_core},
                      {"gemm_cores", cores},
                      {"copy_bytes_per_second", bandwidth},
                      {"copy_array_bytes", point.bytes},
                      {"copy_cores", cores}};
  if (f.wall_seconds > 0) {
    const double flops = f.flops_per_sample * static_cast<double>(f.samples);
    block["gemm_fraction"] =
        light_number(flops / f.wall_seconds / (m.gemm_flops_per_core * static_cast<double>(cores)));
    if (bytes) {
      block["bandwidth_fraction"] =
          light_number(*bytes * static_cast<double>(f.applied) / f.wall_seconds / bandwidth);
    }
  }
  if (!bytes) block["reason"] = "no parameter-traffic model for " + f.algorithm;
  return block;
}

std::string speed_of_light_text(const json& b) {
  std::string s;
  if (b.value("machine", json()).is_null()) {
    s = "fractions unknown: " + b.value("reason", std::string("-"));
  } else {
    s = "GEMM " + light_text(b.value("gemm_fraction", json()), 3) + " of peak, bandwidth " +
        light_text(b.value("bandwidth_fraction", json()), 4) + " of copy";
  }
  const json split = b.value("update_split", json());
  if (split.is_object()) {
    auto micros = [&split](const char* key) {
      const json v = split.value(key, json());
      return light_text(v.is_number() ? json(v.get<double>() * 1e6) : json(), 1);
    };
    s += "; update read " + micros("read_seconds_per_update") + " + gradient " +
         micros("gradient_seconds_per_update") + " + apply " + micros("apply_seconds_per_update") +
         " us (" + light_text(split.value("accounted_fraction", json()), 2) + " of worker time)";
  }
  const json cs = b.value("critical_section", json());
  if (cs.is_object()) {
    const json serial = cs.value("serial_seconds_per_update", json());
    s += "; critical section " +
         light_text(serial.is_number() ? json(serial.get<double>() * 1e6) : json(), 2) +
         " us/update, speed-up bound " + light_text(cs.value("speedup_bound", json()), 1) +
         ", measured " + light_text(cs.value("speedup_measured", json()), 2);
  }
  return s;
}

}  // namespace psgd
