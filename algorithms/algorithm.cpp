// algorithms/algorithm.cpp — checkpoint storage and the shared update rule.
#include "algorithms/algorithm.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

#include "common/eigen.hpp"
#include "common/seconds_since.hpp"

namespace psgd {
namespace {

// Snapshots reserve address space for every checkpoint up front. 1 GiB of it is plenty for
// hundreds of epochs of the models here and stays far inside what the kernel overcommits.
constexpr std::size_t kMaxSnapshotBytes = std::size_t{1} << 30;
constexpr std::size_t kMinSlots = 16;
// A time-limited run of a tiny model could otherwise ask for millions of slot records.
constexpr std::size_t kMaxSlots = std::size_t{1} << 16;

// Slots for checkpoints 0..last_checkpoint, within the caps.
std::size_t slots_for(std::size_t num_params, std::size_t scalar_bytes,
                      std::int64_t last_checkpoint, std::size_t max_slots) {
  const std::size_t affordable = std::max(
      kMinSlots, kMaxSnapshotBytes / (std::max<std::size_t>(num_params, 1) * scalar_bytes));
  const std::size_t cap = max_slots > 0 ? std::min(max_slots, kMaxSlots) : kMaxSlots;
  const auto want = static_cast<std::size_t>(std::min<std::int64_t>(
                        last_checkpoint, static_cast<std::int64_t>(kMaxSlots))) +
                    1;
  return std::max<std::size_t>(std::min({want, affordable, cap}), 2);
}

}  // namespace

template <class S>
BasicCheckpoints<S>::BasicCheckpoints(std::size_t num_params, std::int64_t updates_per_epoch,
                                      std::int64_t per_epoch, std::int64_t total_updates,
                                      std::size_t max_slots, std::int64_t layout_updates)
    : num_params_(num_params),
      updates_per_epoch_(std::max<std::int64_t>(updates_per_epoch, 1)),
      // More checkpoints than updates per epoch would snapshot every update anyway, but on a
      // grid finer than the updates, which thinning could no longer keep evenly.
      per_epoch_(std::clamp<std::int64_t>(per_epoch, 1, updates_per_epoch_)),
      total_updates_(total_updates),
      num_slots_(slots_for(num_params, sizeof(S),
                           checkpoint_of(layout_updates > 0 ? layout_updates : total_updates),
                           max_slots)),
      storage_(new S[(num_slots_ + 1) * num_params]),
      slots_(num_slots_ + 1) {}

template <class S>
std::int64_t BasicCheckpoints<S>::checkpoint_of(std::int64_t version) const noexcept {
  // v * K overflows 64 bits for budgets near 2^63 (an --updates or a time-limited run's bound).
  __extension__ using Wide = unsigned __int128;
  const Wide v = static_cast<Wide>(std::max<std::int64_t>(version, 0));
  const Wide p = static_cast<Wide>(updates_per_epoch_);
  const Wide c = (v * static_cast<Wide>(per_epoch_) + p - 1) / p;
  constexpr auto kMax = static_cast<Wide>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(c, kMax));
}

template <class S>
void BasicCheckpoints<S>::thin() noexcept {
  const std::size_t kept = (num_slots_ + 1) / 2;
  for (std::size_t j = 1; j < kept; ++j) {
    slots_[j] = slots_[2 * j];
    std::copy_n(storage_.get() + 2 * j * num_params_, num_params_,
                storage_.get() + j * num_params_);
  }
  for (std::size_t j = kept; j < num_slots_; ++j) slots_[j] = Slot{};
  stride_ *= 2;
}

template <class S>
S* BasicCheckpoints<S>::slot_for(std::int64_t due, std::int64_t version) noexcept {
  const std::int64_t c = checkpoint_of(due);
  while (c % stride_ == 0 && static_cast<std::uint64_t>(c / stride_) >= num_slots_) thin();
  if (c % stride_ != 0) return nullptr;  // thinned away
  const auto k = static_cast<std::size_t>(c / stride_);
  slots_[k] = Slot{true, version, seconds_since(t0_)};
  return storage_.get() + k * num_params_;
}

template <class S>
bool BasicCheckpoints<S>::record_late(std::int64_t due, std::int64_t version,
                                      std::span<const S> params) noexcept {
  bool finite = true;
  for (const S x : params) finite = finite && std::isfinite(x);
  const std::lock_guard lock(mutex_);
  S* out = slot_for(due, version);
  if (out != nullptr) std::copy(params.begin(), params.end(), out);
  return finite;
}

template <class S>
bool BasicCheckpoints<S>::record_racy(std::int64_t version, S* params) noexcept {
  const std::lock_guard lock(mutex_);
  S* out = slot_for(version, version);
  bool finite = true;
  for (std::size_t i = 0; i < num_params_; ++i) {
    // relaxed: HOGWILD! reads are unordered by design; this only has to be a defined read.
    const S x = std::atomic_ref<S>(params[i]).load(std::memory_order_relaxed);
    finite = finite && std::isfinite(x);
    if (out != nullptr) out[i] = x;
  }
  return finite;
}

template <class S>
void BasicCheckpoints<S>::record_at(std::size_t k, std::int64_t version, double seconds,
                                    std::span<const S> params) noexcept {
  if (k > num_slots_) return;
  std::copy(params.begin(), params.end(), storage_.get() + k * num_params_);
  slots_[k] = Slot{true, version, seconds};
}

template <class S>
void BasicCheckpoints<S>::record_final(std::int64_t stride, std::int64_t version, double seconds,
                                       std::span<const S> params) noexcept {
  while (stride_ < stride) thin();
  const std::int64_t c = checkpoint_of(version);
  const bool kept = c % stride_ == 0 && static_cast<std::uint64_t>(c / stride_) < num_slots_ &&
                    slots_[static_cast<std::size_t>(c / stride_)].updates == version &&
                    slots_[static_cast<std::size_t>(c / stride_)].filled;
  if (!kept) record_at(num_slots_, version, seconds, params);
}

void WorkerStats::thin_losses(std::int64_t stride) noexcept {
  const std::size_t n = slot_loss_sum.size();
  while (loss_stride < stride) {
    // New bucket j covers old buckets 2j - 1 and 2j; bucket 0 (no update falls in it) stays.
    for (std::size_t j = 1; j < n; ++j) {
      const std::size_t a = 2 * j - 1;
      const std::size_t b = 2 * j;
      slot_loss_sum[j] = (a < n ? slot_loss_sum[a] : 0.0) + (b < n ? slot_loss_sum[b] : 0.0);
      slot_loss_count[j] = (a < n ? slot_loss_count[a] : 0) + (b < n ? slot_loss_count[b] : 0);
    }
    loss_stride *= 2;
  }
}

void WorkerStats::merge(const WorkerStats& other) {
  computed += other.computed;
  samples += other.samples;
  applied += other.applied;
  contributed += other.contributed;
  dropped += other.dropped;
  discarded_at_end += other.discarded_at_end;
  abandoned += other.abandoned;
  failed_attempts += other.failed_attempts;
  failed_tests += other.failed_tests;
  polls += other.polls;
  contended_acquisitions += other.contended_acquisitions;
  lock_wait_seconds += other.lock_wait_seconds;
  backoff_seconds += other.backoff_seconds;
  slowdown_seconds += other.slowdown_seconds;
  delay_seconds += other.delay_seconds;
  exchanges += other.exchanges;
  comm_delay_seconds += other.comm_delay_seconds;
  read_section_seconds += other.read_section_seconds;
  gradient_seconds += other.gradient_seconds;
  apply_section_seconds += other.apply_section_seconds;
  timed_updates += other.timed_updates;
  staleness.merge(other.staleness);
  attempts.merge(other.attempts);
  step_factor.merge(other.step_factor);
  step_factor_sum += other.step_factor_sum;
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

template <class S>
void sgd_apply(std::span<S> theta, std::span<const std::type_identity_t<S>> grad,
               std::type_identity_t<S> step) noexcept {
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] -= step * grad[i];
}

template <class S>
void sgd_apply_into(std::span<S> out, std::span<const std::type_identity_t<S>> theta,
                    std::span<const std::type_identity_t<S>> grad,
                    std::type_identity_t<S> step) noexcept {
  // Eigen's explicit packet code: GCC's -O2 cost model leaves the plain loop scalar (3x a memcpy
  // of the default model, measured), and this pass must run near memcpy speed (Leashed's publish
  // budget is 1.5 memcpy). Packet mul then sub rounds exactly like the scalar expression (no FMA
  // is formed: -ffp-contract=off, and Eigen fuses only inside its matrix products).
  using Array = Eigen::Array<S, Eigen::Dynamic, 1>;
  const auto n = static_cast<Eigen::Index>(out.size());
  Eigen::Map<Array>(out.data(), n) =
      Eigen::Map<const Array>(theta.data(), n) - step * Eigen::Map<const Array>(grad.data(), n);
}

template class BasicCheckpoints<float>;
template class BasicCheckpoints<double>;
template void sgd_apply(std::span<float>, std::span<const float>, float) noexcept;
template void sgd_apply(std::span<double>, std::span<const double>, double) noexcept;
template void sgd_apply_into(std::span<float>, std::span<const float>, std::span<const float>,
                             float) noexcept;
template void sgd_apply_into(std::span<double>, std::span<const double>, std::span<const double>,
                             double) noexcept;

}  // namespace psgd
