// algorithms/replica_combine.hpp — the round frame's combine (combine.hpp) for `replicated`'s
// average exchange: its buffers are the replicas' own parameters, so a round averages them
// without first copying each into a buffer.
//
// A RoundCombine like SharedMemoryCombine, with R replicas instead of W worker buffers: mean()
// sums the replicas in replica order, one coordinate at a time, and divides by R, the very
// arithmetic of SharedMemoryCombine::mean, so with one worker per replica (`per-core`) the
// average is local-sgd's; broadcast() then writes the average back into every replica over the
// same slice. buffer(w) is worker w's replica. Thread-safety as for every combine (combine.hpp):
// the replicas are written by their inner methods in the local phase only, and read and written
// per slice in the reduce phase, where no inner method runs; the frame's barriers order the two.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "algorithms/combine.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/shared_memory.hpp"

namespace psgd {

template <class S>
class ReplicaCombine {
 public:
  ReplicaCombine() = default;
  // The frame's init: W workers of dim values. The replicas come with set_replicas.
  void init(SharedMemory& /*memory*/, std::size_t dim, std::size_t workers) {
    dim_ = dim;
    workers_ = workers;
  }
  // Single-threaded, after init: each replica's parameters (dim values each), and the replica
  // of each worker.
  void set_replicas(std::vector<std::span<S>> replicas, std::vector<std::size_t> replica_of) {
    replicas_ = std::move(replicas);
    replica_of_ = std::move(replica_of);
  }

  // Replica r's parameters now: a method may move them between segments (Leashed publishes a new
  // vector each update), so the rule sets them again before each reduce phase (in the first
  // barrier's completion step). No allocation.
  void set_replica(std::size_t r, std::span<S> params) noexcept { replicas_[r] = params; }

  [[nodiscard]] std::span<S> buffer(std::size_t w) noexcept { return replicas_[replica_of_[w]]; }
  [[nodiscard]] std::size_t workers() const noexcept { return workers_; }
  [[nodiscard]] std::size_t total_workers() const noexcept { return workers_; }
  void agree(RoundTally& /*tally*/) noexcept {}

  // out[i - s.lo] = (sum of replica r's [i] over r in order) / R for i in s. Reads only.
  void mean(Slice s, std::span<S> out) const noexcept {
    const S count = static_cast<S>(replicas_.size());
    for (std::size_t i = s.lo; i < s.hi; ++i) {
      S sum = replicas_[0][i];
      for (std::size_t r = 1; r < replicas_.size(); ++r) sum += replicas_[r][i];
      out[i - s.lo] = sum / count;
    }
  }
  // out[i - s.lo] = sum of weights[r] * replica r's [i] over r in order (one weight a replica).
  void weighted_sum(Slice s, std::span<const S> weights, std::span<S> out) const noexcept {
    for (std::size_t i = s.lo; i < s.hi; ++i) {
      S sum = weights[0] * replicas_[0][i];
      for (std::size_t r = 1; r < replicas_.size(); ++r) sum += weights[r] * replicas_[r][i];
      out[i - s.lo] = sum;
    }
  }
  // Every replica's slice s = values (values holds s.size()). Reduce phase, after mean().
  void broadcast(Slice s, std::span<const S> values) noexcept {
    for (std::span<S> replica : replicas_) {
      std::copy(values.begin(), values.end(), s.of(replica).begin());
    }
  }

 private:
  std::vector<std::span<S>> replicas_;
  std::vector<std::size_t> replica_of_;
  std::size_t dim_ = 0;
  std::size_t workers_ = 1;
};

}  // namespace psgd
