// algorithms/home_link_mpi.cpp — HomeLink (home_link.hpp) on MPI point-to-point messages: built
// when CMake finds MPI, one of the files that include mpi.h (process_group.hpp lists them).
#include <mpi.h>

#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/home_link.hpp"
#include "common/cache_line.hpp"
#include "common/errors.hpp"
#include "common/seconds_since.hpp"

namespace psgd {
namespace {

constexpr int kHomeRank = 0;

// One thread's counters, on its own cache line: written only by that thread (a worker slot, or the
// home thread), read after the join.
struct alignas(kNoFalseSharing) LinkCounters {
  RankTraffic traffic;
};

// Polls `request` (MPI_Test) until it completes: kBusyTests back to back (a reply in flight
// arrives within microseconds), then one every kIdlePoll, asleep in between. Not yield alone: it
// returns at once when no other thread wants the core, so the idle home thread spun one
// (0.69 CPU-s in 0.70 s of training, review of 2026-12-06). The sleep adds at most kIdlePoll to a
// round trip whose peer was idle.
constexpr int kBusyTests = 64;
constexpr auto kIdlePoll = std::chrono::microseconds(50);
MPI_Status wait_politely(MPI_Request& request) noexcept {
  MPI_Status status{};
  int done = 0;
  for (int tests = 0;; ++tests) {
    MPI_Test(&request, &done, &status);
    if (done != 0) return status;
    if (tests >= kBusyTests) std::this_thread::sleep_for(kIdlePoll);
  }
}

class MpiHomeLink final : public HomeLink {
 public:
  MpiHomeLink(std::size_t workers, std::size_t request_bytes, std::size_t reply_bytes)
      : request_bytes_(count_of(request_bytes)),
        reply_bytes_(count_of(reply_bytes)),
        counters_(workers + 1) {  // the last one is the home thread's
    // A message's tag is its worker slot: MPI guarantees tags up to 32767 at least.
    if (workers > kMaxTag) {
      throw EnvironmentError("--backend mpi: async-exchange takes at most " +
                             std::to_string(kMaxTag) + " threads per rank (its message tags)");
    }
    if (MPI_Comm_dup(MPI_COMM_WORLD, &comm_) != MPI_SUCCESS) {
      throw EnvironmentError("MPI_Comm_dup failed (async-exchange's link to the home rank)");
    }
    // Every rank's workers start after every rank has opened its link: without this, a rank
    // scheduled late could find the budget reserved by the others before its first pull (the
    // duplication above need not synchronise the ranks). Once per run, before any worker.
    MPI_Barrier(comm_);
  }
  MpiHomeLink(const MpiHomeLink&) = delete;
  MpiHomeLink& operator=(const MpiHomeLink&) = delete;
  ~MpiHomeLink() override {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }

  void call_home(std::size_t worker, std::span<const std::byte> request,
                 std::span<std::byte> reply) noexcept override {
    RankTraffic& t = counters_[worker].traffic;
    const auto t0 = std::chrono::steady_clock::now();
    // The receive is posted first, so the reply never waits for a matching receive.
    MPI_Request in = MPI_REQUEST_NULL;
    MPI_Irecv(reply.data(), reply_bytes_, MPI_BYTE, kHomeRank, tag(worker), comm_, &in);
    send(worker, request);
    wait_politely(in);
    t.communication_seconds += seconds_since(t0);
    t.bytes_received += reply_bytes_;
    t.messages += 1;
  }

  void notify_home(std::size_t worker, std::span<const std::byte> request) noexcept override {
    const auto t0 = std::chrono::steady_clock::now();
    send(worker, request);
    counters_[worker].traffic.communication_seconds += seconds_since(t0);
  }

  HomeCaller next_request(std::span<std::byte> request) noexcept override {
    const auto t0 = std::chrono::steady_clock::now();
    MPI_Request in = MPI_REQUEST_NULL;
    MPI_Irecv(request.data(), request_bytes_, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &in);
    const MPI_Status status = wait_politely(in);
    int bytes = 0;
    MPI_Get_count(&status, MPI_BYTE, &bytes);
    RankTraffic& t = counters_.back().traffic;
    t.waiting_seconds += seconds_since(t0);  // the home thread idle, waiting for a request
    t.bytes_received += bytes;
    t.messages += 1;
    return {status.MPI_SOURCE, status.MPI_TAG};
  }

  void reply(HomeCaller caller, std::span<const std::byte> reply) noexcept override {
    const auto t0 = std::chrono::steady_clock::now();
    MPI_Request out = MPI_REQUEST_NULL;
    MPI_Isend(reply.data(), reply_bytes_, MPI_BYTE, caller.rank, caller.worker, comm_, &out);
    wait_politely(out);
    RankTraffic& t = counters_.back().traffic;
    t.communication_seconds += seconds_since(t0);
    t.bytes_sent += reply_bytes_;
    t.messages += 1;
  }

  [[nodiscard]] RankTraffic traffic() const override {
    RankTraffic total;
    for (const LinkCounters& c : counters_) total += c.traffic;
    return total;
  }

 private:
  // A message size as an MPI count, refused past INT_MAX (checked before the cast).
  static int count_of(std::size_t bytes) {
    if (bytes > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw EnvironmentError("--backend mpi: async-exchange's message of " + std::to_string(bytes) +
                             " bytes is more than one MPI message can carry (2^31 - 1)");
    }
    return static_cast<int>(bytes);
  }
  static constexpr std::size_t kMaxTag = 32767;
  // Slots are below kMaxTag + 1 (checked at open).
  static int tag(std::size_t worker) noexcept { return static_cast<int>(worker); }

  void send(std::size_t worker, std::span<const std::byte> request) noexcept {
    MPI_Request out = MPI_REQUEST_NULL;
    const int bytes = static_cast<int>(request.size());  // <= request_bytes_, checked at open
    MPI_Isend(request.data(), bytes, MPI_BYTE, kHomeRank, tag(worker), comm_, &out);
    wait_politely(out);
    RankTraffic& t = counters_[worker].traffic;
    t.bytes_sent += bytes;
    t.messages += 1;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int request_bytes_;
  int reply_bytes_;
  std::vector<LinkCounters> counters_;
};

}  // namespace

std::unique_ptr<HomeLink> make_mpi_home_link(std::size_t workers, std::size_t request_bytes,
                                             std::size_t reply_bytes) {
  return std::make_unique<MpiHomeLink>(workers, request_bytes, reply_bytes);
}

}  // namespace psgd
