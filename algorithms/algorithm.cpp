// algorithms/algorithm.cpp — checkpoint storage and the shared update rule.
#include "algorithms/algorithm.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "common/eigen.hpp"

namespace psgd {
namespace {

// Snapshots reserve address space for every checkpoint up front. 1 GiB of it is plenty for
// hundreds of epochs of the models here and stays far inside what the kernel overcommits.
constexpr std::size_t kMaxSnapshotBytes = std::size_t{1} << 30;
constexpr std::size_t kMinSlots = 16;
// A time-limited run of a tiny model could otherwise ask for millions of slot records.
constexpr std::size_t kMaxSlots = std::size_t{1} << 16;

std::size_t slots_for(std::size_t num_params, std::size_t wanted) {
  const std::size_t affordable =
      std::max(kMinSlots, kMaxSnapshotBytes / (std::max<std::size_t>(num_params, 1) * 4));
  return std::min({wanted, affordable, kMaxSlots});
}

}  // namespace

Checkpoints::Checkpoints(std::size_t num_params, std::int64_t updates_per_epoch,
                         std::int64_t per_epoch, std::int64_t total_updates)
    : num_params_(num_params),
      updates_per_epoch_(std::max<std::int64_t>(updates_per_epoch, 1)),
      per_epoch_(std::max<std::int64_t>(per_epoch, 1)),
      total_updates_(total_updates),
      num_slots_(slots_for(num_params, slot_of(total_updates) + 1)),
      storage_(new float[num_slots_ * num_params]),
      slots_(num_slots_) {}

bool Checkpoints::record_in(std::size_t k, std::int64_t version,
                            std::span<const float> params) noexcept {
  bool finite = true;
  for (const float x : params) finite = finite && std::isfinite(x);
  if (k >= num_slots_) return finite;  // past the reserved slots: nothing more is kept
  std::copy(params.begin(), params.end(), storage_.get() + k * num_params_);
  slots_[k] = Slot{true, version,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count()};
  return finite;
}

bool Checkpoints::record_racy(std::int64_t version, float* params) noexcept {
  const std::size_t k = slot_of(version);
  float* out = k < num_slots_ ? storage_.get() + k * num_params_ : nullptr;
  bool finite = true;
  for (std::size_t i = 0; i < num_params_; ++i) {
    // relaxed: HOGWILD! reads are unordered by design; this only has to be a defined read.
    const float x = std::atomic_ref<float>(params[i]).load(std::memory_order_relaxed);
    finite = finite && std::isfinite(x);
    if (out != nullptr) out[i] = x;
  }
  if (out != nullptr) {
    slots_[k] = Slot{true, version,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count()};
  }
  return finite;
}

void Checkpoints::record_at(std::size_t k, std::int64_t version, double seconds,
                            std::span<const float> params) noexcept {
  if (k >= num_slots_) return;
  std::copy(params.begin(), params.end(), storage_.get() + k * num_params_);
  slots_[k] = Slot{true, version, seconds};
}

void WorkerStats::merge(const WorkerStats& other) {
  computed += other.computed;
  applied += other.applied;
  dropped += other.dropped;
  discarded_at_end += other.discarded_at_end;
  failed_attempts += other.failed_attempts;
  failed_tests += other.failed_tests;
  polls += other.polls;
  contended_acquisitions += other.contended_acquisitions;
  lock_wait_seconds += other.lock_wait_seconds;
  backoff_seconds += other.backoff_seconds;
  staleness.merge(other.staleness);
  attempts.merge(other.attempts);
  for (std::size_t k = 0; k < slot_loss_sum.size() && k < other.slot_loss_sum.size(); ++k) {
    slot_loss_sum[k] += other.slot_loss_sum[k];
    slot_loss_count[k] += other.slot_loss_count[k];
  }
}

WorkerStats merge_workers(std::span<const WorkerStats> workers) {
  WorkerStats total = workers.front();
  for (const WorkerStats& w : workers.subspan(1)) total.merge(w);
  return total;
}

void sgd_apply(std::span<float> theta, std::span<const float> grad, float step) noexcept {
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] -= step * grad[i];
}

void sgd_apply_into(std::span<float> out, std::span<const float> theta, std::span<const float> grad,
                    float step) noexcept {
  // Eigen's explicit packet code: GCC's -O2 cost model leaves the plain loop scalar (3x a memcpy
  // of the default model, measured), and this pass must run near memcpy speed (Leashed's publish
  // budget is 1.5 memcpy). Packet mul then sub rounds exactly like the scalar expression (no FMA
  // is formed: -ffp-contract=off, and Eigen fuses only inside its matrix products).
  using Array = Eigen::Array<float, Eigen::Dynamic, 1>;
  const auto n = static_cast<Eigen::Index>(out.size());
  Eigen::Map<Array>(out.data(), n) =
      Eigen::Map<const Array>(theta.data(), n) - step * Eigen::Map<const Array>(grad.data(), n);
}

}  // namespace psgd
