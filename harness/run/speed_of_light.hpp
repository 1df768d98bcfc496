// harness/run/speed_of_light.hpp — how far a run is from the machine's limits: the fraction of
// the reference GEMM's peak its gradients reached and of the copy bandwidth its parameter traffic
// used, and, for the lock methods, the speed-up their critical section allows at most
// ((t_grad + t_cs) / t_cs, Amdahl's bound with the critical section as the serial part) beside
// the speed-up measured, and for them and the HOGWILD! methods the split of an update into read,
// gradient and apply. The limits are the ones `psgd topo --measure` cached
// (harness/machine/machine_limits.hpp); a run never measures the machine itself, and without a
// cache the fractions are null with a reason.
//
// Documented in docs/performance.md ("Speed of light"), with the per-method traffic table.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "algorithms/algorithm.hpp"
#include "harness/machine/machine_limits.hpp"

namespace psgd {

// Parameter vectors' worth of bytes (P values of the run's scalar) one applied update moves
// through memory, counted as STREAM counts (every read and every write): the read copy (2: read
// theta, write the private copy), the apply (3: read theta and the gradient, write theta) and
// for leashed the copy-and-apply into a candidate (3) plus the 8-byte pointer CAS (in
// parameter_bytes_per_update). nullopt for a method without a traffic model here (the round- and
// server-based ones).
std::optional<double> parameter_vectors_per_update(std::string_view algorithm);

// parameter_vectors_per_update x params x scalar_bytes, plus leashed's 8-byte CAS.
std::optional<double> parameter_bytes_per_update(std::string_view algorithm, std::size_t params,
                                                 std::size_t scalar_bytes);

// What a run knows once it trained.
struct SpeedOfLightFacts {
  std::string algorithm;
  std::int64_t threads = 1;
  std::size_t params = 0;
  std::size_t scalar_bytes = sizeof(float);
  double flops_per_sample = 0.0;  // models/model_flops.hpp
  std::int64_t batch = 1;
  std::int64_t samples = 0;  // gradient samples computed (work.samples)
  std::int64_t applied = 0;  // applied updates
  double wall_seconds = 0.0;
  WorkerStats totals;                     // merged: the timed methods' update split
  const MachineLimits* limits = nullptr;  // nullptr: none cached
  std::string limits_path;                // where they were (or would be) read
};

// The document's `speed_of_light` block (docs/run-document.md).
nlohmann::json speed_of_light_json(const SpeedOfLightFacts& facts);

// The summary's line, from the block: "GEMM 0.62 of peak, bandwidth 0.003 of copy; update read
// 25.0 + gradient 300.0 + apply 20.0 us (0.98 of worker time); critical section 4.1 us/update,
// speed-up bound 11.2, measured 1.9" (the parts a method times) or the reason the fractions are
// null.
std::string speed_of_light_text(const nlohmann::json& block);

}  // namespace psgd
