// algorithms/process_group_mpi.cpp — ProcessGroup on MPI (built when CMake finds MPI; one of the
// files that include mpi.h, process_group.hpp lists them).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "algorithms/home_link.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/round_end_signal.hpp"
#include "algorithms/server_link.hpp"
#include "common/cache_line.hpp"
#include "common/errors.hpp"
#include "common/seconds_since.hpp"

namespace psgd {
namespace {

using Clock = std::chrono::steady_clock;

// One channel's communicator and counters, on its own cache line: written only by the thread
// that owns the channel (worker w, or the round's completion step), read after the join.
struct alignas(kNoFalseSharing) Channel {
  MPI_Comm comm = MPI_COMM_NULL;
  RankTraffic traffic;
};

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  MpiGroup(const MpiGroup&) = delete;
  MpiGroup& operator=(const MpiGroup&) = delete;
  ~MpiGroup() override {
    server_link_.reset();  // frees its communicator, before MPI_Finalize
    close_channels();
    home_link_.reset();  // frees its communicator, before MPI_Finalize
    round_end_.reset();
    MPI_Finalize();
  }

  [[nodiscard]] int rank() const noexcept override { return rank_; }
  [[nodiscard]] int size() const noexcept override { return size_; }

  void open_channels(std::size_t workers) override {
    close_channels();
    channels_ = std::vector<Channel>(workers + 1);  // the last one is the round channel
    for (Channel& c : channels_) {
      if (MPI_Comm_dup(MPI_COMM_WORLD, &c.comm) != MPI_SUCCESS) {
        throw EnvironmentError("MPI_Comm_dup failed");
      }
    }
    tallies_.assign(static_cast<std::size_t>(size_), RoundTally{});
  }

  void sum_across(std::span<float> values, std::size_t channel) noexcept override {
    sum(values.data(), values.size(), MPI_FLOAT, sizeof(float), channels_[channel]);
  }
  void sum_across(std::span<double> values, std::size_t channel) noexcept override {
    sum(values.data(), values.size(), MPI_DOUBLE, sizeof(double), channels_[channel]);
  }

  // An allgather rather than an allreduce per field: one collective, and every rank combines the
  // same R tallies in rank order, so the result is identical on every rank by construction.
  void agree(RoundTally& tally) noexcept override {
    Channel& c = channels_.back();
    const Clock::time_point t0 = Clock::now();
    MPI_Allgather(&tally, sizeof(RoundTally), MPI_BYTE, tallies_.data(), sizeof(RoundTally),
                  MPI_BYTE, c.comm);
    c.traffic.waiting_seconds += seconds_since(t0);
    c.traffic.bytes_sent += static_cast<std::int64_t>(sizeof(RoundTally));
    c.traffic.bytes_received += static_cast<std::int64_t>(sizeof(RoundTally) * tallies_.size());
    ++c.traffic.collectives;
    RoundTally all = tallies_.front();
    for (std::size_t r = 1; r < tallies_.size(); ++r) {
      const RoundTally& t = tallies_[r];
      all.combined = std::min(all.combined, t.combined);
      all.updates = std::min(all.updates, t.updates);
      all.gradients += t.gradients;
      all.stop = std::max(all.stop, t.stop);
      all.loss += t.loss;
    }
    tally = all;
  }

  [[nodiscard]] RankTraffic traffic() const override {
    RankTraffic total;
    for (const Channel& c : channels_) total += c.traffic;
    // The point-to-point links' traffic (their seconds are time in messages).
    if (server_link_ != nullptr) total += server_link_->traffic();
    if (home_link_ != nullptr) total += home_link_->traffic();
    if (round_end_ != nullptr) total += round_end_->traffic();
    return total;
  }

  std::vector<std::string> gather(const std::string& text) override {
    // MPI counts and displacements are int: each rank's text is held to INT_MAX / ranks, so the
    // displacements summed at rank 0 cannot overflow either. (A configuration is a few KB.)
    const int length = agreed_length(
        text, static_cast<std::size_t>(kMaxMpiCount) / static_cast<std::size_t>(size_), false);
    std::vector<int> lengths(rank_ == 0 ? static_cast<std::size_t>(size_) : 0);
    MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<int> offsets(lengths.size());
    int total = 0;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = total;
      total += lengths[r];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                0, MPI_COMM_WORLD);
    std::vector<std::string> texts;
    for (std::size_t r = 0; r < lengths.size(); ++r) {
      texts.push_back(
          all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    }
    return texts;
  }

  std::string broadcast(const std::string& text) override {
    const int length = agreed_length(text, static_cast<std::size_t>(kMaxMpiCount), true);
    std::string out = rank_ == 0 ? text : std::string(static_cast<std::size_t>(length), '\0');
    MPI_Bcast(out.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
    return out;
  }

  [[nodiscard]] std::string host() const override {
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int length = 0;
    MPI_Get_processor_name(name, &length);
    return {name, static_cast<std::size_t>(length)};
  }

  [[noreturn]] void abort(int code) noexcept override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this only satisfies [[noreturn]]
  }

  // ---- the parameter server's transport: server_link_mpi.cpp ----
  ServerLink& open_server_link(const ServerLinkShape& shape) override {
    server_link_.reset();
    server_link_ = open_mpi_server_link(shape, rank_, size_);
    return *server_link_;
  }

  // async-exchange's transport: home_link_mpi.cpp.
  HomeLink& open_home_link(std::size_t workers, std::size_t request_bytes,
                           std::size_t reply_bytes) override {
    home_link_.reset();
    home_link_ = make_mpi_home_link(workers, request_bytes, reply_bytes);
    return *home_link_;
  }

  // nonblocking's transport: round_end_signal_mpi.cpp.
  RoundEndSignal& open_round_end_signal() override {
    round_end_.reset();
    round_end_ = make_mpi_round_end_signal();
    return *round_end_;
  }

 private:
  // MPI reports errors on these communicators by aborting the job (MPI_ERRORS_ARE_FATAL, the
  // default): a rank that dies mid-collective ends every rank through the launcher.
  static void sum(void* data, std::size_t count, MPI_Datatype type, std::size_t bytes,
                  Channel& c) noexcept {
    const Clock::time_point t0 = Clock::now();
    // MPI counts are int: a vector of more than INT_MAX elements is reduced in pieces, each one
    // collective in the accounting.
    auto* const first = static_cast<char*>(data);
    for (std::size_t done = 0; done < count;) {
      const std::size_t piece = std::min(count - done, static_cast<std::size_t>(kMaxMpiCount));
      MPI_Allreduce(MPI_IN_PLACE, first + done * bytes, static_cast<int>(piece), type, MPI_SUM,
                    c.comm);
      done += piece;
      ++c.traffic.collectives;
    }
    c.traffic.communication_seconds += seconds_since(t0);
    const auto payload = static_cast<std::int64_t>(count * bytes);
    c.traffic.bytes_sent += payload;
    c.traffic.bytes_received += payload;
  }

  static constexpr int kMaxMpiCount = std::numeric_limits<int>::max();

  // The text's length as an MPI count, checked against `limit` collectively before the cast:
  // the largest length of any rank (from_root: rank 0's, the only one broadcast sends) reaches
  // every rank first, so either every rank throws, alike, or none does (a rank that threw alone
  // would leave the others waiting in the gather). An allreduce of one integer per call.
  [[nodiscard]] int agreed_length(const std::string& text, std::size_t limit,
                                  bool from_root) const {
    std::uint64_t longest = text.size();
    if (from_root) {
      MPI_Bcast(&longest, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    } else {
      MPI_Allreduce(MPI_IN_PLACE, &longest, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    }
    if (longest > limit) {
      throw EnvironmentError("--backend mpi: a configuration of " + std::to_string(longest) +
                             " bytes is more than MPI can exchange (" + std::to_string(limit) +
                             " per rank)");
    }
    return static_cast<int>(from_root ? longest : text.size());
  }

  void close_channels() noexcept {
    for (Channel& c : channels_) {
      if (c.comm != MPI_COMM_NULL) MPI_Comm_free(&c.comm);
    }
    channels_.clear();
  }

  int rank_ = 0;
  int size_ = 1;
  std::vector<Channel> channels_;
  std::vector<RoundTally> tallies_;  // agree()'s receive buffer, sized once in open_channels
  std::unique_ptr<ServerLink> server_link_;    // open_server_link's; its traffic joins traffic()
  std::unique_ptr<HomeLink> home_link_;        // open_home_link's, when async-exchange runs
  std::unique_ptr<RoundEndSignal> round_end_;  // open_round_end_signal's, when nonblocking runs
};

}  // namespace

bool ProcessGroup::built_in() noexcept { return true; }

bool ProcessGroup::launched() noexcept {
  // Open MPI's mpirun, PMIx launchers (srun --mpi=pmix, prterun) and PMI-1/2 ones (MPICH, srun).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

std::unique_ptr<ProcessGroup> ProcessGroup::join() {
  // Open MPI waits in a collective by spinning on the CPU unless it knows the node is
  // oversubscribed; a spinning rank then takes the core its peer needs to finish the very
  // round it waits for. Yielding when idle (sched_yield in the wait) costs a dedicated core
  // next to nothing and made `sync` 2 ranks x 1 thread 1.5x faster on a shared 2-core machine
  // (docs/distributed.md). The launcher's or the user's own setting (mpirun --mca, the
  // environment) wins: not overwritten. Read by MPI_Init_thread; other MPIs ignore it.
  ::setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    throw EnvironmentError("--backend mpi: MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    throw EnvironmentError(
        "--backend mpi: this MPI does not provide MPI_THREAD_MULTIPLE, which the worker threads "
        "of a rank need (each reduces its own slice)");
  }
  return std::make_unique<MpiGroup>();
}

}  // namespace psgd
