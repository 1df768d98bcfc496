// algorithms/server_link_mpi.cpp — ServerLink on MPI point-to-point messages (built when CMake
// finds MPI; one of the files that include mpi.h, process_group.hpp lists them).
//
// Messages, all on one communicator of the link's own (a duplicate of the world, so they never
// match the channels' collectives): slot g's push is two messages to rank 0, its note (tag 2g)
// and its gradient (tag 2g + 1); the reply is two messages back, the note (tag 2g) and the
// parameters (tag 2g + 1). Matching is by source, tag and direction, so the slots never see each
// other's messages. The server keeps both receives of every open remote slot posted (MPI_Irecv)
// and tests them all at once (MPI_Testsome), so it never waits on one worker; it sends replies
// with MPI_Isend. A worker posts the receives of its reply first, then sends its push
// (MPI_Send: once the server's receives are posted the sends do not wait for it; the first push
// may come before the server has posted them, and then waits until it has), then waits.
// Concurrency: the threads of a rank call exchange() at once, which MPI_THREAD_MULTIPLE allows
// for point-to-point operations on one communicator; their tags differ, so no message can match
// another thread's receive. Errors: MPI_ERRORS_ARE_FATAL (the default) ends the job.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "algorithms/server_link.hpp"
#include "common/cache_line.hpp"
#include "common/errors.hpp"
#include "common/seconds_since.hpp"

namespace psgd {
namespace {

using LinkClock = std::chrono::steady_clock;

// One remote slot's state on the server: written by the server thread only.
struct ServerSlot {
  PushNote note;               // the push note's receive buffer
  std::span<std::byte> into;   // the gradient's receive buffer (the algorithm's)
  std::vector<std::byte> out;  // the reply's parameters
  ReplyNote reply;             // the reply note's send buffer
  MPI_Request sends[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  int received = 0;  // parts of the current push in (2: whole)
};

// A worker slot's counters, on its own cache line: written by that slot's thread only, read
// after the join.
struct alignas(kNoFalseSharing) SlotTraffic {
  RankTraffic traffic;
};

class MpiServerLink final : public ServerLink {
 public:
  MpiServerLink(const ServerLinkShape& shape, int rank, int ranks)
      : rank_(rank), threads_(shape.threads), bytes_(shape.payload_bytes) {
    const std::size_t slots = shape.threads * static_cast<std::size_t>(ranks);
    int* tag_ub = nullptr;
    int flag = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
    const auto max_tag = static_cast<std::size_t>(flag != 0 && tag_ub != nullptr ? *tag_ub : 32767);
    if (2 * slots + 1 > max_tag) {
      throw EnvironmentError(
          "--backend mpi: " + std::to_string(slots) + " worker slots need message tags up to " +
          std::to_string(2 * slots + 1) + ", past this MPI's limit " + std::to_string(max_tag));
    }
    if (bytes_ > static_cast<std::size_t>(INT_MAX)) {
      throw EnvironmentError("--backend mpi: a parameter vector of " + std::to_string(bytes_) +
                             " bytes is more than one MPI message carries (" +
                             std::to_string(INT_MAX) + ")");
    }
    if (MPI_Comm_dup(MPI_COMM_WORLD, &comm_) != MPI_SUCCESS) {
      throw EnvironmentError("MPI_Comm_dup failed");
    }
    if (rank_ == 0) {
      const std::size_t remote = slots - threads_;
      slots_.resize(remote);
      for (ServerSlot& s : slots_) s.out.resize(bytes_);
      receives_.assign(2 * remote, MPI_REQUEST_NULL);
      done_.resize(2 * remote);
      ready_.reserve(remote);
    } else {
      workers_.resize(threads_);
    }
  }
  MpiServerLink(const MpiServerLink&) = delete;
  MpiServerLink& operator=(const MpiServerLink&) = delete;
  ~MpiServerLink() override { MPI_Comm_free(&comm_); }

  void expect(std::size_t slot, std::span<std::byte> into) override {
    ServerSlot& s = slots_[remote_index(slot)];
    s.into = into;
    post_receives(slot);
  }

  bool arrived(PushNote& note) noexcept override {
    if (ready_head_ == ready_.size()) {
      ready_.clear();  // keeps its capacity: no allocation in the server's loop
      ready_head_ = 0;
      collect();
    }
    if (ready_head_ == ready_.size()) return false;
    note = slots_[ready_[ready_head_++]].note;
    return true;
  }

  std::span<std::byte> reply_buffer(std::size_t slot) noexcept override {
    ServerSlot& s = slots_[remote_index(slot)];
    MPI_Waitall(2, s.sends, MPI_STATUSES_IGNORE);
    return s.out;
  }

  void reply(std::size_t slot, const ReplyNote& note) noexcept override {
    const LinkClock::time_point t0 = LinkClock::now();
    ServerSlot& s = slots_[remote_index(slot)];
    MPI_Waitall(2, s.sends, MPI_STATUSES_IGNORE);  // reply_buffer did; a no-op then
    // The next push's receives first, so the worker's sends find them posted.
    if (note.finished == 0) post_receives(slot);
    s.reply = note;
    const int dest = static_cast<int>(slot / threads_);
    const int tag = 2 * static_cast<int>(slot);
    MPI_Isend(&s.reply, sizeof(ReplyNote), MPI_BYTE, dest, tag, comm_, &s.sends[0]);
    MPI_Isend(s.out.data(), static_cast<int>(bytes_), MPI_BYTE, dest, tag + 1, comm_, &s.sends[1]);
    server_.traffic.bytes_sent += static_cast<std::int64_t>(sizeof(ReplyNote) + bytes_);
    server_.traffic.messages += 2;
    server_.traffic.communication_seconds += seconds_since(t0);
  }

  void settle() noexcept override {
    for (ServerSlot& s : slots_) MPI_Waitall(2, s.sends, MPI_STATUSES_IGNORE);
  }

  ReplyNote exchange(const PushNote& note, std::span<const std::byte> gradient,
                     std::span<std::byte> params) noexcept override {
    const LinkClock::time_point t0 = LinkClock::now();
    const auto slot = static_cast<std::size_t>(note.slot);
    const int tag = 2 * static_cast<int>(slot);
    ReplyNote reply;
    MPI_Request receives[2];
    MPI_Irecv(&reply, sizeof(ReplyNote), MPI_BYTE, 0, tag, comm_, &receives[0]);
    MPI_Irecv(params.data(), static_cast<int>(bytes_), MPI_BYTE, 0, tag + 1, comm_, &receives[1]);
    MPI_Send(&note, sizeof(PushNote), MPI_BYTE, 0, tag, comm_);
    MPI_Send(gradient.data(), static_cast<int>(bytes_), MPI_BYTE, 0, tag + 1, comm_);
    MPI_Waitall(2, receives, MPI_STATUSES_IGNORE);
    RankTraffic& t = workers_[slot - static_cast<std::size_t>(rank_) * threads_].traffic;
    t.communication_seconds += seconds_since(t0);
    const auto bytes = static_cast<std::int64_t>(sizeof(PushNote) + bytes_);
    t.bytes_sent += bytes;
    t.bytes_received += static_cast<std::int64_t>(sizeof(ReplyNote) + bytes_);
    t.messages += 4;
    return reply;
  }

  [[nodiscard]] RankTraffic traffic() const override {
    RankTraffic total = server_.traffic;
    for (const SlotTraffic& w : workers_) total += w.traffic;
    return total;
  }

 private:
  [[nodiscard]] std::size_t remote_index(std::size_t slot) const noexcept {
    return slot - threads_;
  }

  void post_receives(std::size_t slot) noexcept {
    const std::size_t i = remote_index(slot);
    ServerSlot& s = slots_[i];
    s.received = 0;
    const int source = static_cast<int>(slot / threads_);
    const int tag = 2 * static_cast<int>(slot);
    MPI_Irecv(&s.note, sizeof(PushNote), MPI_BYTE, source, tag, comm_, &receives_[2 * i]);
    MPI_Irecv(s.into.data(), static_cast<int>(bytes_), MPI_BYTE, source, tag + 1, comm_,
              &receives_[2 * i + 1]);
  }

  // Tests every posted receive at once; a slot whose note and gradient are both in is ready.
  void collect() noexcept {
    if (receives_.empty()) return;
    const LinkClock::time_point t0 = LinkClock::now();
    int count = 0;
    MPI_Testsome(static_cast<int>(receives_.size()), receives_.data(), &count, done_.data(),
                 MPI_STATUSES_IGNORE);
    if (count == MPI_UNDEFINED) count = 0;  // no receive posted (every slot is closed)
    for (int j = 0; j < count; ++j) {
      const auto i = static_cast<std::size_t>(done_[static_cast<std::size_t>(j)]) / 2;
      if (++slots_[i].received == 2) {
        ready_.push_back(i);
        server_.traffic.bytes_received += static_cast<std::int64_t>(sizeof(PushNote) + bytes_);
        server_.traffic.messages += 2;
      }
    }
    server_.traffic.communication_seconds += seconds_since(t0);
  }

  int rank_ = 0;
  std::size_t threads_ = 1;
  std::size_t bytes_ = 0;
  MPI_Comm comm_ = MPI_COMM_NULL;
  // Rank 0 only (the server thread's): remote slots threads.., their receives (note, gradient
  // per slot), Testsome's indices, the slots whose push is in but not yet handed out.
  std::vector<ServerSlot> slots_;
  std::vector<MPI_Request> receives_;
  std::vector<int> done_;
  std::vector<std::size_t> ready_;  // in arrival order from ready_head_ (capacity: every slot)
  std::size_t ready_head_ = 0;
  SlotTraffic server_;
  // Ranks >= 1: one counter block per local worker slot.
  std::vector<SlotTraffic> workers_;
};

}  // namespace

std::unique_ptr<ServerLink> open_mpi_server_link(const ServerLinkShape& shape, int rank,
                                                 int ranks) {
  return std::make_unique<MpiServerLink>(shape, rank, ranks);
}

}  // namespace psgd
