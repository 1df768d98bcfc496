// algorithms/home_link.hpp — `async-exchange` across ranks (`psgd run --backend mpi`): the link
// between the workers of the other ranks and the home rank (rank 0), which holds the shared v.
// MPI-free: the MPI implementation is home_link_mpi.cpp (built when CMake finds MPI), opened by
// ProcessGroup::open_home_link.
//
// The issue allows MPI one-sided operations or nonblocking point-to-point, "as the study
// describes"; this link is point-to-point request and reply. A remote worker sends its pull or its
// merge to the home rank and waits for the reply; one home thread on rank 0 serves the requests
// one at a time, doing each pull or merge under the method's own lock, exactly as a local worker
// does it. So the merge rule, the step rule, the version, the reservations and the staleness
// counts stay in one place, the home rank's memory, and staleness across ranks is defined exactly
// as within one process (the other workers' merges between a pull and its merge, counted under
// that lock). A one-sided window would need a lock across ranks and would move the merge and
// every counter into the window, so rank 0's workers could no longer keep their local lock (and
// the bit-for-bit shared-memory path).
//
// Messages are bytes (their layout is async_exchange.cpp's); a request is at most
// `request_bytes`, a reply exactly `reply_bytes` (open_home_link). Threads: on a remote rank every
// worker slot w calls call_home / notify_home with its own w only; on the home rank one thread
// calls next_request / reply. MPI_THREAD_MULTIPLE allows this concurrent point-to-point traffic
// on the link's one communicator (a duplicate of the world): the messages of worker w carry tag
// w, so a reply reaches the thread that asked and each worker's messages arrive in order (MPI's
// non-overtaking rule per sender and tag).
// Waiting: every wait polls a nonblocking request (MPI_Test), a few times back to back and then
// every 50 us asleep, so the home thread, idle most of the time, does not spin a core away from
// the workers (a blocking receive in Open MPI busy-polls).
// Accounting (RankTraffic, summed into ProcessGroup::traffic()): a remote worker's time from its
// request to its reply is communication (it includes the home's service, as a round trip does);
// the home thread's time sending replies is communication, its time waiting for the next request
// waiting;
// bytes are the payloads handed to MPI. Counters per worker slot and one for the home thread,
// each on its own cache line and written only by its thread; read after the join.
#pragma once

#include <cstddef>
#include <span>

#include "algorithms/process_group.hpp"

namespace psgd {

// Who sent a request to the home rank: its rank and its worker slot there.
struct HomeCaller {
  int rank = 0;
  int worker = 0;
};

class HomeLink {
 public:
  virtual ~HomeLink() = default;

  // A remote worker (rank != 0, slot `worker`): `request` to the home rank, then its reply into
  // `reply` (reply_bytes long). Blocks until the reply arrives.
  virtual void call_home(std::size_t worker, std::span<const std::byte> request,
                         std::span<std::byte> reply) noexcept = 0;
  // The same without a reply (the worker's last message: it is done).
  virtual void notify_home(std::size_t worker, std::span<const std::byte> request) noexcept = 0;
  // The home thread (rank 0): the next request of any remote worker into `request` (at least
  // request_bytes long); returns who sent it. Blocks until one arrives.
  virtual HomeCaller next_request(std::span<std::byte> request) noexcept = 0;
  // The home thread: the reply to `caller`'s request (reply_bytes long).
  virtual void reply(HomeCaller caller, std::span<const std::byte> reply) noexcept = 0;
  // What the link carried on this rank. After the join.
  [[nodiscard]] virtual RankTraffic traffic() const = 0;
};

// The MPI link (home_link_mpi.cpp, MPI builds only; called by ProcessGroup::open_home_link).
// Collective: duplicates the world communicator. Throws EnvironmentError when a message would
// exceed MPI's int count.
std::unique_ptr<HomeLink> make_mpi_home_link(std::size_t workers, std::size_t request_bytes,
                                             std::size_t reply_bytes);

}  // namespace psgd
