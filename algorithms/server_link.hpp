// algorithms/server_link.hpp — the parameter server's transport across processes (`param-server`
// and `hybrid` under `psgd run --backend mpi`): the pushes of the workers on ranks 1..R-1 to the
// server thread on rank 0, and its replies. MPI-free; the MPI implementation is
// server_link_mpi.cpp, opened through ProcessGroup::open_server_link. Within one process the
// server's mailboxes (param_server.hpp) are the shared-memory counterpart: rank 0's own workers
// keep using them, and the server takes a remote push into the same arrival queue, so K(t)-of-N
// counts every rank's workers alike.
//
// Slots: worker slot g = rank x threads + local thread, over every rank (the runner's global
// worker id); the remote slots are those of ranks >= 1. Every remote slot has at most one
// exchange in flight: it pushes (a note and its gradient), then waits for the server's reply (a
// note and the parameters as the server holds them when it replies, which is the worker's next
// pull). A reply with `finished` set is the slot's last: the worker stops, and the server expects
// nothing more from it. So the run's end (the budget, the time limit, a stop, divergence) reaches
// every remote worker as its reply, and a remote worker whose loss is not finite tells the
// server so (PushKind::kDiverged), which stops the run as diverged on rank 0.
//
// Payloads are bytes of the algorithm's own arrays (a gradient, the parameters): the server
// receives a remote slot's gradient straight into the span given to expect(), and sends its
// replies from the link's own per-slot buffer (reply_buffer), since it goes on writing theta
// while a reply is in flight.
//
// Threads: the server side (expect before the workers start, then arrived, reply_buffer, reply,
// settle) is rank 0's server thread alone; the worker side (exchange) is called concurrently by
// the threads of a rank >= 1, each for its own slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "algorithms/process_group.hpp"

namespace psgd {

// What open_server_link needs to know; every rank passes the same.
struct ServerLinkShape {
  std::size_t payload_bytes = 0;  // one gradient, one parameter vector
  std::size_t threads = 1;        // worker slots per rank
};

enum class PushKind : std::int64_t {
  kGradient = 0,  // a finite gradient, in the payload
  kDiverged = 1,  // the worker's loss was not finite: it stops, and the run stops as diverged
};

// A push's note: the slot, the version its gradient was computed on, its minibatch loss.
struct PushNote {
  std::int64_t slot = 0;
  std::int64_t v_read = 0;
  double loss = 0.0;
  PushKind kind = PushKind::kGradient;
};

enum class ReplyKind : std::int64_t {
  kApplied = 0,    // the gradient went into an update (contributed)
  kDiscarded = 1,  // the run ended before it was applied (discarded_at_end)
};

// A reply's note: what became of the push, whether the run has ended for this worker, and the
// version of the parameters the reply carries.
struct ReplyNote {
  ReplyKind kind = ReplyKind::kApplied;
  std::int64_t finished = 0;  // 1: the last reply; the worker stops
  std::int64_t version = 0;
};

class ServerLink {
 public:
  virtual ~ServerLink() = default;

  // ---- the server's side: rank 0's server thread ----
  // Before the workers start: remote slot `slot`'s pushes land in `into` (payload_bytes).
  virtual void expect(std::size_t slot, std::span<std::byte> into) = 0;
  // True and the note of one push that has arrived whole (its payload in the slot's span), or
  // false when none has; never waits.
  virtual bool arrived(PushNote& note) noexcept = 0;
  // The buffer the next reply to `slot` sends as its parameters; waits for the previous reply to
  // `slot` to have left (it has: the slot pushed again only after receiving it).
  virtual std::span<std::byte> reply_buffer(std::size_t slot) noexcept = 0;
  // Sends the note and reply_buffer(slot) without waiting for the worker. Unless note.finished,
  // the slot's next push is expected into the same span first.
  virtual void reply(std::size_t slot, const ReplyNote& note) noexcept = 0;
  // Waits until every reply has left: before the run's buffers may go.
  virtual void settle() noexcept = 0;

  // ---- a worker's side: the thread of remote slot `note.slot` ----
  // Pushes the note and `gradient`, waits for the reply, whose parameters land in `params`.
  virtual ReplyNote exchange(const PushNote& note, std::span<const std::byte> gradient,
                             std::span<std::byte> params) noexcept = 0;

  // This rank's traffic on the link (bytes, messages, seconds in MPI calls). After the join.
  [[nodiscard]] virtual RankTraffic traffic() const = 0;
};

// The MPI link of rank `rank` of `ranks` (server_link_mpi.cpp, built with MPI only): what
// ProcessGroup::open_server_link returns in an MPI build. Collective (it duplicates the world
// communicator). Throws EnvironmentError when a payload or the slot count exceeds what MPI's int
// counts and tags can address.
std::unique_ptr<ServerLink> open_mpi_server_link(const ServerLinkShape& shape, int rank, int ranks);

}  // namespace psgd
