// algorithms/round_end_signal.hpp — `nonblocking` across ranks (`psgd run --backend mpi`): the
// round end reaches every rank. MPI-free: the MPI implementation is round_end_signal_mpi.cpp
// (built when CMake finds MPI), opened by ProcessGroup::open_round_end_signal.
//
// Within one process the first worker to complete its K raises the rule's round-end flag and the
// others, polling it between mini-batches (and in their paces' waits), abandon the mini-batch in
// flight. Across ranks the rank of that first finisher also announces the round's number to every
// other rank (one small message each); on every rank a listener thread, polling a nonblocking
// receive with a short sleep between polls, raises that rank's flag when the announced round is
// the one the rank is in. So a rank's workers keep polling a local atomic, as in one process,
// and learn of another rank's round end within about one poll interval plus the message latency.
// Round numbers make a late announcement harmless: one for a round that has already ended on
// this rank (its own finisher was quicker) is ignored; one that arrives while this rank is still
// between rounds is remembered (`ended`) and raises the flag as the rank enters that round
// (NonBlocking::end_of_local), so none is lost. The listener's test and raise and the rank's
// move to its next round (current, flag lowered or raised from `ended`) each happen under one
// mutex, once per message and once per round: never in a worker's loop.
// Threads: announce() by any one worker thread per round (the rank's first finisher); the
// listener is the implementation's own thread. Point-to-point on the signal's own communicator (a
// duplicate of the world) concurrently with the listener's receive: legal under
// MPI_THREAD_MULTIPLE.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "algorithms/process_group.hpp"

namespace psgd {

// What the listener reads and writes, under `lock`: the highest round announced by another rank,
// the round this rank's workers are in, and the rank's round-end flag (an atomic because the
// workers poll it without the lock; relaxed: it carries no data).
struct RoundEndTargets {
  std::mutex* lock = nullptr;
  std::int64_t* ended = nullptr;
  const std::int64_t* current = nullptr;
  std::atomic<bool>* flag = nullptr;
};

class RoundEndSignal {
 public:
  virtual ~RoundEndSignal() = default;
  // Starts the listener (no worker running yet). The targets must outlive stop().
  virtual void start(RoundEndTargets targets) = 0;
  // A worker of this rank was the rank's first to complete round `round`: every other rank is
  // told. Returns once the messages are handed to MPI (small: sent eagerly).
  virtual void announce(std::int64_t round) noexcept = 0;
  // Collective, in the run's last round on every rank (once no worker can announce any more):
  // ends the listener and receives every announcement still on its way to this rank, so none is
  // left unreceived when the communicator is freed, and traffic() counts every one.
  virtual void finish() noexcept = 0;
  // Ends the listener and joins it (after the workers are joined). Idempotent. Local: what is
  // still on its way is not received (finish() does that).
  virtual void stop() noexcept = 0;
  // The announcements this rank sent and received so far (messages and their payload bytes).
  // Any thread, any time: a snapshot while the listener runs.
  [[nodiscard]] virtual RankTraffic traffic() const noexcept = 0;
};

// The MPI signal (round_end_signal_mpi.cpp, MPI builds only; called by
// ProcessGroup::open_round_end_signal). Collective: duplicates the world communicator.
std::unique_ptr<RoundEndSignal> make_mpi_round_end_signal();

}  // namespace psgd
