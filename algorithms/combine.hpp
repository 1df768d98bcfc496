// algorithms/combine.hpp — the combine step of the barrier-round methods (round_frame.hpp): W
// per-worker buffers (a gradient or a model replica each) written in the local phase, and the
// reductions that turn them into the shared parameters, each worker over its own coordinate
// slice in the reduce phase.
//
// The operations are what `sync`, `local-sgd` and `nonblocking` combine: the mean of the W
// buffers (sync's averaged gradient, local-sgd's averaged replicas) and a weighted sum of them
// (nonblocking: its contributors' mean or the weighting by completed mini-batches). Every sum runs
// in worker order, one coordinate at a time, so a run is deterministic whatever the thread timing,
// and with one worker the mean is the buffer itself (x / 1 is exact): a one-thread run is seq bit
// for bit.
//
// A combine is a concept, not a base class: the frame and the rules call it inside the worker
// loop, where everything is a template parameter so it inlines. It is the one interface behind
// which the buffers meet, with two implementations, and no rule knows which it runs on:
// SharedMemoryCombine (here) for threads of one process sharing the buffers, and MpiCombine
// (mpi_combine.hpp) for `--backend mpi`, where each rank's threads reduce their slice locally in
// worker order and then across the ranks (an allreduce of the slice per worker), so every rank's
// theta holds the same values afterwards. The frame also asks the combine to agree on each
// round's end (agree: a no-op within one process) and divides the budget over total_workers().
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>

#include "algorithms/process_group.hpp"
#include "algorithms/shared_memory.hpp"

namespace psgd {

// Coordinates [lo, hi) of the parameter vector: the part one worker reduces and writes, and
// that worker's index in its process (an MPI combine reduces the slice on that worker's channel).
struct Slice {
  std::size_t lo = 0;
  std::size_t hi = 0;
  std::size_t worker = 0;
  [[nodiscard]] std::size_t size() const noexcept { return hi - lo; }
  // The slice of `values`, which must hold at least hi values.
  template <class T>
  [[nodiscard]] std::span<T> of(std::span<T> values) const noexcept {
    return values.subspan(lo, hi - lo);
  }
};

// Worker w's slice of `dim` coordinates among n workers (w < n): [dim w / n, dim (w + 1) / n).
// The n slices are disjoint, cover [0, dim) in worker order and differ in size by at most one
// (some are empty when dim < n). Pure; any thread.
[[nodiscard]] constexpr Slice slice_of(std::size_t dim, std::size_t w, std::size_t n) noexcept {
  return {dim * w / n, dim * (w + 1) / n, w};
}

// What the frame and the rules need of a combine. Thread-safety, for every model: init() runs
// single-threaded before the workers (W buffers of dim values, W this process's workers);
// buffer(w) is written by worker w only, in the local phase; mean() and weighted_sum() only read
// the buffers and run in the reduce phase, concurrently, each worker with its own slice and its
// own `out`. The barriers between the phases order the writes before the reads. agree() runs in
// the first barrier's completion step (one thread of the process, the others waiting): it turns
// this process's RoundTally into the one every process agrees on. total_workers() counts the
// workers of every process (W within one).
// clang-format 14 mangles requires-expressions.
// clang-format off
template <class C, class S>
concept RoundCombine = std::default_initializable<C> &&  // the frame holds one and init()s it
                       requires(C& c, const C& cc, SharedMemory& memory, std::size_t n, Slice s,
                                std::span<S> out, std::span<const S> weights, RoundTally& t) {
                         c.init(memory, n, n);
                         { c.buffer(n) } noexcept -> std::same_as<std::span<S>>;
                         { cc.workers() } noexcept -> std::same_as<std::size_t>;
                         { cc.total_workers() } noexcept -> std::same_as<std::size_t>;
                         { c.agree(t) } noexcept;
                         { cc.mean(s, out) } noexcept;
                         { cc.weighted_sum(s, weights, out) } noexcept;
                       };
// clang-format on

// The W buffers in one shared allocation (--memory places it like theta), worker w's at w * dim.
// S: float or double.
template <class S>
class SharedMemoryCombine {
 public:
  SharedMemoryCombine() = default;
  // Single-threaded, before the workers start (the algorithm's init).
  void init(SharedMemory& memory, std::size_t dim, std::size_t workers) {
    dim_ = dim;
    workers_ = workers;
    buffers_ = SharedArray<S>(memory, dim * workers);
  }

  // Worker w's buffer of dim values. Written by worker w in the local phase only.
  [[nodiscard]] std::span<S> buffer(std::size_t w) noexcept {
    return buffers_.span().subspan(w * dim_, dim_);
  }
  [[nodiscard]] std::size_t workers() const noexcept { return workers_; }
  [[nodiscard]] std::size_t total_workers() const noexcept { return workers_; }
  // One process: its tally is every process's.
  void agree(RoundTally& /*tally*/) noexcept {}

  // out[i - s.lo] = (sum of buffer(w)[i] over w in worker order) / W for i in s; out holds
  // s.size() values and may be the slice of the parameters. Reduce phase; reads only.
  void mean(Slice s, std::span<S> out) const noexcept {
    const S count = static_cast<S>(workers_);
    for_blocks(s, out, [&](std::size_t lo, std::size_t n, S* o) {
      add_buffers(lo, n, o);
      for (std::size_t j = 0; j < n; ++j) o[j] /= count;
    });
  }

  // out[i - s.lo] = sum of buffer(w)[i] over w in worker order, for i in s: mean() before its
  // division, the same additions (MpiCombine's part of a mean within one rank). Reads only.
  void sum(Slice s, std::span<S> out) const noexcept {
    for_blocks(s, out, [&](std::size_t lo, std::size_t n, S* o) { add_buffers(lo, n, o); });
  }

  // out[i - s.lo] = sum of weights[w] * buffer(w)[i] over w in worker order, for i in s;
  // weights holds W values (a zero weight adds 0). Reduce phase; reads only.
  void weighted_sum(Slice s, std::span<const S> weights, std::span<S> out) const noexcept {
    for_blocks(s, out, [&](std::size_t lo, std::size_t n, S* o) {
      const S* first = buffers_.data() + lo;
      for (std::size_t j = 0; j < n; ++j) o[j] = weights[0] * first[j];
      for (std::size_t w = 1; w < workers_; ++w) {
        const S* b = buffers_.data() + w * dim_ + lo;
        for (std::size_t j = 0; j < n; ++j) o[j] += weights[w] * b[j];
      }
    });
  }

 private:
  // The reductions run block by block, worker by worker inside a block: each inner loop is then
  // a unit-stride sweep the compiler vectorises, and the block of `out` stays in L1 while the W
  // buffers are added into it. A loop over coordinates with the workers inside (what this
  // replaced) ran scalar, about 1 ns a coordinate: 111 us for the default MLP's 134,794 floats
  // at one worker, against 28 us for the same copy and division written as sweeps; 31 us after
  // (psgd_bench_combine_mpi, release, one rank, the 2-core AMD EPYC guest, 2026-12-06, load 1
  // before and 7 after). Each coordinate still gets its additions in worker order, so the
  // results are the coordinate-by-coordinate loop's bit for bit (-ffp-contract=off everywhere;
  // test: SharedMemoryCombine.BlockedReductionsAreTheCoordinateLoopBitForBit). `out` must not
  // alias a buffer: it is written before the later workers' buffers are read.
  static constexpr std::size_t kBlock = 2048;  // coordinates: 8 KiB of floats, within L1

  template <class Body>
  static void for_blocks(Slice s, std::span<S> out, Body body) noexcept {
    for (std::size_t lo = s.lo; lo < s.hi; lo += kBlock) {
      const std::size_t n = std::min(kBlock, s.hi - lo);
      body(lo, n, out.data() + (lo - s.lo));
    }
  }

  // o[j] = sum of buffer(w)[lo + j] over w in worker order, for j < n.
  void add_buffers(std::size_t lo, std::size_t n, S* o) const noexcept {
    const S* first = buffers_.data() + lo;
    std::copy(first, first + n, o);
    for (std::size_t w = 1; w < workers_; ++w) {
      const S* b = buffers_.data() + w * dim_ + lo;
      for (std::size_t j = 0; j < n; ++j) o[j] += b[j];
    }
  }

 private:
  SharedArray<S> buffers_;
  std::size_t dim_ = 0;
  std::size_t workers_ = 1;
};

}  // namespace psgd
