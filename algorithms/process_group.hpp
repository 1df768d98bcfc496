// algorithms/process_group.hpp — the ranks of one run across processes (`psgd run --backend mpi`):
// the one place psgd talks to MPI. Everything else (the MPI combine, the harness) sees this
// MPI-free interface, so mpi.h is included by the MPI implementation files alone
// (process_group_mpi.cpp, and server_link_mpi.cpp for the parameter server's transport; beside
// the libraries, by the benchmark algorithms/bench_mpi/combine_mpi_bench.cpp, which compares the
// combine with a bare MPI_Allreduce), and a build without MPI (CMake found none) compiles the
// same callers against process_group_none.cpp, whose join() refuses.
//
// Transport: Open MPI (or any MPI) through its C API; psgd has no transport of its own.
// Threads: joined with MPI_THREAD_MULTIPLE, because every worker thread of a rank reduces its own
// coordinate slice in the reduce phase. MPI forbids concurrent collectives on one communicator,
// so each worker slot w gets a communicator of its own (channel w, a duplicate of the world made
// in open_channels), and the round's agreement has one more (the round channel): the ranks'
// worker w call the same collectives in the same order on channel w, whatever the thread timing.
//
// Waiting: join() asks Open MPI to yield the CPU while a rank waits in a collective
// (OMPI_MCA_mpi_yield_when_idle=1, unless the environment or mpirun --mca already set it): a
// spinning rank takes the core its peer needs (docs/distributed.md, "Measured").
//
// Accounting: every collective a channel carries is timed (steady_clock) and its payload counted,
// per channel, each on its own cache line and written only by the thread using the channel, so
// the counters need no atomics; they are read after the workers are joined. Bytes are the
// payload handed to MPI and received back (an allreduce of n bytes: n sent, n received), not the
// bytes on the wire, which depend on MPI's algorithm and are not observable here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace psgd {

class ServerLink;  // server_link.hpp
struct ServerLinkShape;
class HomeLink;        // home_link.hpp
class RoundEndSignal;  // round_end_signal.hpp

// What one rank's channels carried, summed over them (after the join).
struct RankTraffic {
  double communication_seconds = 0.0;  // in the reduce phase's allreduces, summed over threads
  double waiting_seconds = 0.0;        // in the rounds' agreements: waiting for the slowest rank
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_received = 0;
  std::int64_t collectives = 0;
  std::int64_t messages = 0;  // point-to-point messages sent and received (server_link.hpp)

  // Every counter of `other` added to this one's: a rank's total over its channels and links.
  RankTraffic& operator+=(const RankTraffic& other) noexcept {
    communication_seconds += other.communication_seconds;
    waiting_seconds += other.waiting_seconds;
    bytes_sent += other.bytes_sent;
    bytes_received += other.bytes_received;
    collectives += other.collectives;
    messages += other.messages;
    return *this;
  }
};

// One rank's view of a round's end (round_frame.hpp), agreed across the ranks: combined only if
// every rank's round is; the fewest updates any rank applies (equal when the ranks agree); the
// losses summed over ranks in rank order; this round's gradients summed over ranks; stop if any
// rank stops.
struct RoundTally {
  std::int64_t combined = 1;
  std::int64_t updates = 0;
  std::int64_t gradients = 0;
  std::int64_t stop = 0;
  double loss = 0.0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  // True when this psgd was built with MPI.
  static bool built_in() noexcept;
  // Initializes MPI (MPI_THREAD_MULTIPLE) and returns this process's group. Throws ConfigError
  // (exit 2) when psgd was built without MPI, EnvironmentError when MPI cannot start or lacks
  // MPI_THREAD_MULTIPLE. Once per process; finalized by the destructor (or by abort()).
  static std::unique_ptr<ProcessGroup> join();
  // True when the process was started by a launcher (mpirun, mpiexec, srun with PMI/PMIx).
  static bool launched() noexcept;

  [[nodiscard]] virtual int rank() const noexcept = 0;
  [[nodiscard]] virtual int size() const noexcept = 0;

  // Collective, single-threaded (no worker running): `workers` channels for the reduce phase and
  // the round channel, with their counters zeroed. Every rank must pass the same count.
  virtual void open_channels(std::size_t workers) = 0;
  // Every rank's `values` summed element by element into `values` on every rank, over channel
  // `channel` (< workers of open_channels; channel `workers` is the round channel, for the round's
  // completion step), by that channel's one thread. The sum's order is MPI's: deterministic for
  // a given rank count and MPI build, but not rank order.
  virtual void sum_across(std::span<float> values, std::size_t channel) noexcept = 0;
  virtual void sum_across(std::span<double> values, std::size_t channel) noexcept = 0;
  // Every rank's tally gathered, combined as RoundTally says in rank order, into `tally` on every
  // rank (identical there). On the round channel, by one thread of each rank.
  virtual void agree(RoundTally& tally) noexcept = 0;
  // This rank's traffic since open_channels. After the join.
  [[nodiscard]] virtual RankTraffic traffic() const = 0;

  // Collective, single-threaded: every rank's `text` on rank 0 in rank order (empty elsewhere).
  // A text longer than MPI can count (INT_MAX / ranks) throws EnvironmentError on every rank
  // alike: the lengths are compared collectively first, so no rank is left waiting.
  [[nodiscard]] virtual std::vector<std::string> gather(const std::string& text) = 0;
  // Collective, single-threaded: rank 0's `text` on every rank (the same length check, alike).
  [[nodiscard]] virtual std::string broadcast(const std::string& text) = 0;
  // This host's name, as MPI names it.
  [[nodiscard]] virtual std::string host() const = 0;
  // Ends every rank of the job with `code` (MPI_Abort): for an error on one rank that the others,
  // waiting in a collective, would never learn of. Does not return.
  [[noreturn]] virtual void abort(int code) noexcept = 0;

  // ---- the parameter server's transport (param-server, hybrid): algorithms/server_link.hpp ----
  // Collective, single-threaded (no worker running; every rank the same shape): the link between
  // rank 0's server thread and the workers of ranks 1..R-1, on a communicator of its own. Owned
  // by the group, which adds its traffic to traffic() and frees it before MPI_Finalize; a second
  // call replaces the first link.
  virtual ServerLink& open_server_link(const ServerLinkShape& shape) = 0;
  // ---- async-exchange's transport (algorithms/home_link.hpp) ----
  // Collective, single-threaded (no worker running): the link between the remote workers and the
  // home rank (rank 0), for `workers` slots per rank, requests of at most `request_bytes` and
  // replies of `reply_bytes`. Owned by the group (its traffic is in traffic()); valid until the
  // next call or the group's end. Throws EnvironmentError when MPI cannot carry it.
  virtual HomeLink& open_home_link(std::size_t workers, std::size_t request_bytes,
                                   std::size_t reply_bytes) = 0;

  // ---- nonblocking's transport (algorithms/round_end_signal.hpp) ----
  // Collective, single-threaded (no worker running): the round-end announcements between the
  // ranks. Owned by the group; valid until the next call or the group's end (the user stops its
  // listener before its targets go).
  virtual RoundEndSignal& open_round_end_signal() = 0;
};

}  // namespace psgd
