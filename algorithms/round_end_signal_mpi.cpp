// algorithms/round_end_signal_mpi.cpp — RoundEndSignal (round_end_signal.hpp) on MPI messages:
// built when CMake finds MPI, one of the files that include mpi.h (process_group.hpp lists them).
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "algorithms/round_end_signal.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

// Between two tests of the pending receive: short against a mini-batch (milliseconds), long
// enough that the listener costs the workers beside it next to nothing.
constexpr auto kListenerPoll = std::chrono::microseconds(100);

class MpiRoundEndSignal final : public RoundEndSignal {
 public:
  MpiRoundEndSignal() {
    if (MPI_Comm_dup(MPI_COMM_WORLD, &comm_) != MPI_SUCCESS) {
      throw EnvironmentError("MPI_Comm_dup failed (nonblocking's round-end signal)");
    }
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    outgoing_.assign(static_cast<std::size_t>(size_), 0);
    sends_.assign(static_cast<std::size_t>(size_), MPI_REQUEST_NULL);
  }
  MpiRoundEndSignal(const MpiRoundEndSignal&) = delete;
  MpiRoundEndSignal& operator=(const MpiRoundEndSignal&) = delete;
  ~MpiRoundEndSignal() override {
    stop();
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }

  void start(RoundEndTargets targets) override {
    stop();
    targets_ = targets;
    quit_.store(false, std::memory_order_relaxed);
    listener_ = std::thread([this] { listen(); });
  }

  // One message per other rank, each from its own buffer (outgoing_[r]), waited for before the
  // return, so the buffers are free again by the next round's announcement.
  void announce(std::int64_t round) noexcept override {
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      const auto i = static_cast<std::size_t>(r);
      outgoing_[i] = round;
      MPI_Isend(&outgoing_[i], 1, MPI_INT64_T, r, 0, comm_, &sends_[i]);
    }
    MPI_Waitall(size_, sends_.data(), MPI_STATUSES_IGNORE);
    sent_.fetch_add(size_ - 1, std::memory_order_relaxed);
  }

  [[nodiscard]] RankTraffic traffic() const noexcept override {
    RankTraffic t;
    const std::int64_t sent = sent_.load(std::memory_order_relaxed);
    const std::int64_t received = received_.load(std::memory_order_relaxed);
    t.messages = sent + received;
    t.bytes_sent = sent * static_cast<std::int64_t>(sizeof(std::int64_t));
    t.bytes_received = received * static_cast<std::int64_t>(sizeof(std::int64_t));
    return t;
  }

  void stop() noexcept override {
    if (!listener_.joinable()) return;
    quit_.store(true, std::memory_order_relaxed);
    listener_.join();
  }

  // Every rank announced to every other rank once per announcement, all before this (each
  // announce() waits for its sends, and every rank's workers are past their last one): the ranks'
  // announcement counts, gathered, say how many messages reach this rank; those the listener has
  // not received are received here (they have been sent, so each receive completes).
  void finish() noexcept override {
    stop();
    const std::int64_t mine = sent_.load(std::memory_order_relaxed) / std::max(size_ - 1, 1);
    std::vector<std::int64_t> announced(static_cast<std::size_t>(size_), 0);
    MPI_Allgather(&mine, 1, MPI_INT64_T, announced.data(), 1, MPI_INT64_T, comm_);
    std::int64_t expected = 0;
    for (int r = 0; r < size_; ++r) {
      if (r != rank_) expected += announced[static_cast<std::size_t>(r)];
    }
    for (std::int64_t left = expected - received_.load(std::memory_order_relaxed); left > 0;
         --left) {
      std::int64_t incoming = 0;
      MPI_Recv(&incoming, 1, MPI_INT64_T, MPI_ANY_SOURCE, 0, comm_, MPI_STATUS_IGNORE);
      received_.fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  void listen() noexcept {
    std::int64_t incoming = 0;
    MPI_Request pending = MPI_REQUEST_NULL;
    MPI_Irecv(&incoming, 1, MPI_INT64_T, MPI_ANY_SOURCE, 0, comm_, &pending);
    while (!quit_.load(std::memory_order_relaxed)) {
      int done = 0;
      MPI_Test(&pending, &done, MPI_STATUS_IGNORE);
      if (done == 0) {
        std::this_thread::sleep_for(kListenerPoll);
        continue;
      }
      received_.fetch_add(1, std::memory_order_relaxed);
      {
        const std::lock_guard guard(*targets_.lock);  // against the rank's move to a new round
        *targets_.ended = std::max(*targets_.ended, incoming);
        if (incoming == *targets_.current) targets_.flag->store(true, std::memory_order_relaxed);
      }
      MPI_Irecv(&incoming, 1, MPI_INT64_T, MPI_ANY_SOURCE, 0, comm_, &pending);
    }
    // The pending receive is cancelled, or, when a message matched it meanwhile, completed and
    // counted; announcements still on their way are finish()'s.
    MPI_Cancel(&pending);
    MPI_Status status;
    MPI_Wait(&pending, &status);
    int cancelled = 0;
    MPI_Test_cancelled(&status, &cancelled);
    if (cancelled == 0) received_.fetch_add(1, std::memory_order_relaxed);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::vector<std::int64_t> outgoing_;
  std::vector<MPI_Request> sends_;
  RoundEndTargets targets_;
  std::atomic<bool> quit_{false};  // relaxed: only ends the loop; join() orders the rest
  // Counters only (relaxed): read for the ranks block, possibly while the listener still runs.
  std::atomic<std::int64_t> sent_{0};      // by the announcing worker
  std::atomic<std::int64_t> received_{0};  // by the listener
  std::thread listener_;
};

}  // namespace

std::unique_ptr<RoundEndSignal> make_mpi_round_end_signal() {
  return std::make_unique<MpiRoundEndSignal>();
}

}  // namespace psgd
