// algorithms/param_server.hpp — `param-server` and `hybrid`: one server thread owns the
// parameters; workers pull a consistent copy, compute a gradient on it and push it; the server
// applies the mean of K gradients as one update once it holds K of them.
//
//   param-server --ps-mode async   K = 1: every gradient is applied on arrival (Downpour / Ray's
//                                  asynchronous parameter server)
//   param-server --ps-mode sync    K = W: the mean of all W workers' gradients (Ray's synchronous
//                                  parameter server, with the mean instead of the sum so the step
//                                  means the same as in `sync`)
//   hybrid --switch K0,T           K(u) = min(W, K0 + floor(u / T)) after u applied updates
//                                  (--switch-shape exponential: min(W, K0 * 2^floor(u / T))),
//                                  the "smooth switch" from asynchronous to synchronous
//
// Threads. With --threads N >= 2, worker slot 0 is the server: it applies every update and
// records the checkpoints; slots 1..N-1 are gradient workers. By default the server computes no
// gradients, so the gradient sources are W = N - 1. With --server-trains it also computes
// gradients between requests (study 002's node 0 serves and trains): W = N sources, the server's
// own gradient joining the arrival queue like a push. With --threads 1 the one thread is server
// and worker at once (W = 1, with or without --server-trains): it pushes to itself, and the run
// is sequential SGD step for step, bit for bit, charged one exchange per update as seq is (so
// --comm-delay costs the one-thread baseline the same).
//
// Protocol (one std::mutex guards theta's writes, the version, the mailboxes and the arrival
// queue; the mutex gives every access its ordering):
//   worker  lock; copy theta and its version v_read; unlock         (pull: a consistent copy)
//           gradient on the copy into its own mailbox (no lock: the server reads a mailbox only
//           while it is pushed, and the worker writes it only while it is not)
//           one exchange charged (charge_exchange: the push and its pull), outside the lock
//           lock; mark pushed, join the arrival queue; wait for the reply; unlock   (push)
//   server  while the queue holds K(version) gradients: take the K earliest arrivals; mean over
//           them in slot order (so K = W is deterministic); theta -= step * mean; version + 1;
//           reply to those K; unlock; then record a due checkpoint from theta (only the server
//           writes theta, so reading it outside the lock is race-free).
//           Otherwise, with --server-trains and no gradient of its own queued: unlock; a
//           gradient on theta itself (no copy, no lock: only this thread writes theta, and the
//           version cannot move while it computes); lock; it joins the queue (no exchange: it
//           is local). So the server checks for a full queue between its own gradients and
//           never computes while holding the lock. Else it waits for pushes.
// A push waits for its reply, as a round trip to a server does, so with one gradient worker
// (and no --server-trains) every mode is sequential SGD (each pull sees the previous push).
//
// Budgets. The server stops after total_updates updates, or once the gradients contributed to
// applied updates (the sum over updates of K) reach RunControl::total_gradients, whichever comes
// first; the last update may pass the cap by less than K. Gradients pending or in flight then
// are discarded_at_end: each source loses at most one, so the gradients computed end within W
// (one per source) of the cap. Without a cap (kNoGradientCap) only the update budget counts.
//
// Accounting. The server slot counts the applied updates (applied = the version, one staleness
// entry per update: the staleness of its oldest gradient, version - v_read). For every gradient
// source (the server too with --server-trains): computed = contributed + discarded_at_end, where
// contributed (gradients that went into an applied update, counted by the source when the
// server's reply says so: WorkerStats::contributed) is also in report() per slot. The sum of
// contributed is the sum over updates of K. A source whose loss is not finite stops the run
// (compute_gradient) and never pushes; pending gradients when a budget is spent or the run
// stops are discarded_at_end. The staleness of every contributed gradient (not only each
// update's oldest) is in report().gradient_staleness: the hybrid's switch shows there.
// Progress: blocking (a worker waits for the server; the server for K pushes). Staleness of a
// gradient: the updates applied between its pull and its update; 0 for every gradient when
// K = W. With K = 1 it is the number of other sources' pushes applied between this gradient's
// pull and its own update (those queued before its push and those that arrived while it was
// computed), so it depends on how the pushes interleave, not on W alone. Measured mean
// (Fashion-MNIST, MLP 128x128x128, b 32, 3,000 updates, seeds 1-3, a 2-core machine under
// other load, so W + 1 threads oversubscribed): 0.45-0.55 at W = 2, 0.82-1.08 at W = 3,
// 1.41-1.75 at W = 4, about (W - 1) / 2 there.
//
// Across processes (`psgd run --backend mpi`, R ranks x T threads): the server is rank 0's slot
// 0, the gradient workers every other slot of every rank (W = R x T - 1, or R x T with
// --server-trains), worker slot g = rank x T + thread. Rank 0's own workers use the mailboxes
// above, unchanged; the workers of ranks 1..R-1 push through a ServerLink (server_link.hpp):
// a push is a message to rank 0 whose gradient lands in slot g's mailbox slice, and the reply
// carries the parameters as the server holds them when it replies, the worker's next pull. The
// server thread takes the pushes that have arrived into the same arrival queue as a local push
// (between its waits, which poll the link every kRemotePoll instead of kStopPoll), so K(t)
// counts all R x T workers; a remote slot's mailbox is the server thread's alone. The run ends
// on rank 0 (budget, time limit, stop, divergence; a remote worker whose loss is not finite
// says so in its push): every remote slot's next reply says `finished`, and the server waits
// for the push of each slot still computing to tell it (drain_remote), so no rank waits on a
// message that never comes. With one rank there is no link: the shared-memory run, bit for bit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/histogram.hpp"
#include "algorithms/process_group.hpp"
#include "algorithms/registry.hpp"
#include "algorithms/server_link.hpp"
#include "algorithms/step_rule.hpp"
#include "common/name_table.hpp"

namespace psgd {

enum class KShape { kLinear, kExponential };
inline constexpr NameTable<KShape, 2> kKShapes{
    {{"linear", KShape::kLinear}, {"exponential", KShape::kExponential}}};

// How many gradients the server waits for, as a function of the updates applied so far.
struct KSchedule {
  static constexpr int kAllWorkers = 0;  // k0 meaning "every gradient worker" (--ps-mode sync)
  int k0 = 1;
  std::int64_t interval = 0;  // T; 0: K stays k0
  KShape shape = KShape::kLinear;

  // K after `updates` applied updates with `workers` gradient workers: in [1, workers].
  [[nodiscard]] int at(std::int64_t updates, int workers) const noexcept;
};

// S: the scalar type (--precision), float or double; instantiated for both in the .cpp.
template <class S = float>
class ParameterServer final : public BasicAlgorithm<S> {
 public:
  // name: the registry name; facts: what report() records of the configuration;
  // server_trains: the server slot computes gradients too (--server-trains).
  // rule: --step-rule, applied by the server to each update with the update's staleness (its
  // oldest gradient's, the staleness the run records).
  // group: the ranks under --backend mpi (null: one process); with more than one rank, init()
  // opens the group's ServerLink.
  ParameterServer(std::string_view name, KSchedule schedule, nlohmann::json facts,
                  bool server_trains = false, const StepRuleParams& rule = {},
                  ProcessGroup* group = nullptr)
      : name_(name),
        schedule_(schedule),
        facts_(std::move(facts)),
        trains_(server_trains),
        rule_(rule),
        group_(group) {}

  [[nodiscard]] std::string_view name() const override { return name_; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override;
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override;
  void read_params(std::span<S> out) const override;
  // facts + gradient_workers (W, the gradient sources), server_trains, contributed per slot,
  // gradient_staleness, k_final.
  [[nodiscard]] nlohmann::json report() const override;

 private:
  enum class MailState { kIdle, kPushed, kApplied, kDiscarded };
  struct alignas(kNoFalseSharing) Mailbox {
    MailState state = MailState::kIdle;  // guarded by mutex_
    std::int64_t v_read = 0;             // guarded by mutex_
    S loss = 0;                          // guarded by mutex_
    std::int64_t contributed = 0;        // written by its worker only; read after the join
  };
  using Lock = std::unique_lock<std::mutex>;

  void run_alone(BasicWorkerContext<S>& ctx) noexcept;   // --threads 1
  void run_server(BasicWorkerContext<S>& ctx) noexcept;  // slot 0
  void run_gradient_worker(BasicWorkerContext<S>& ctx) noexcept;
  // A worker of rank >= 1: pushes through the link, its reply the next pull.
  void run_remote_worker(BasicWorkerContext<S>& ctx) noexcept;
  // The server, mutex_ held: every remote push that has arrived joins the arrival queue (a
  // diverged one stops the run and gets its final reply).
  void take_remote_locked(BasicWorkerContext<S>& ctx) noexcept;
  // The server: replies to the remote slots of the update just applied (taken_'s first k).
  void reply_applied(int k, bool finished) noexcept;
  // The server, after finish_locked: the final reply to every remote slot still open, waiting
  // for the push of each one still computing; then every reply has left.
  void drain_remote() noexcept;
  // The server: theta and version_ to remote slot `slot`, with `kind` for its push.
  void reply_to(std::size_t slot, ReplyKind kind, bool finished) noexcept;
  [[nodiscard]] bool remote(std::size_t slot) const noexcept {
    return link_ != nullptr && slot >= static_cast<std::size_t>(threads_);
  }
  // The server, lock held: one gradient of its own on theta, computed with the lock released,
  // then queued. False when its loss is not finite (counted; the run is stopping).
  bool train_once(BasicWorkerContext<S>& ctx, Lock& lock) noexcept;
  // Under mutex_: the server ends the run (finish_locked), replies, and counts its own queued
  // gradient as discarded_at_end. Takes the lock if `lock` does not hold it.
  void finish_server(BasicWorkerContext<S>& ctx, Lock& lock) noexcept;
  // Under mutex_: slot's gradient (in its mailbox slice) joins the arrival queue.
  void push_locked(std::size_t slot, std::int64_t v_read, S loss) noexcept;
  [[nodiscard]] std::span<S> gradient_of(std::size_t slot) noexcept {
    const std::size_t dim = theta_.size();
    return gradients_.span().subspan(slot * dim, dim);
  }
  // Under mutex_: applies the mean of the K earliest pushes (taken_ receives them) and replies.
  // Returns the update's staleness and writes its mean loss.
  // `factor` receives the update's step factor (--step-rule).
  std::int64_t apply_earliest(int k, std::span<S> mean, S& loss, double& factor) noexcept;
  // Under mutex_: ends the run for the workers (pending pushes discarded) and wakes them all.
  void finish_locked() noexcept;

  // How often a waiting server polls the ServerLink for remote pushes (--backend mpi, R > 1):
  // a remote push waits up to this long on top of its messages, short next to a gradient of the
  // models here (0.1-10 ms), and the waits leave the core to the rank's other threads.
  static constexpr std::chrono::microseconds kRemotePoll{50};

  std::string_view name_;
  KSchedule schedule_;
  nlohmann::json facts_;
  bool trains_ = false;  // --server-trains
  int workers_ = 1;      // gradient sources W: N - 1, or N with --server-trains (1 alone)
  StepRule<S> rule_;
  SharedArray<S> theta_;          // guarded by mutex_ for writes (server) and worker reads
  SharedArray<S> gradients_;      // one slice per slot, owned as described above
  std::vector<Mailbox> mail_;     // per slot; slot 0 the server's (used with --server-trains)
  std::vector<int> queue_;        // arrival order ring, capacity W; guarded by mutex_
  std::vector<int> taken_;        // the server's scratch: the slots of one update
  std::size_t queue_head_ = 0;    // guarded by mutex_
  std::size_t queued_ = 0;        // guarded by mutex_
  std::int64_t version_ = 0;      // guarded by mutex_
  std::int64_t contributed_ = 0;  // server only: the sum of K over applied updates
  bool finished_ = false;         // guarded by mutex_
  int k_ = 1;                     // guarded by mutex_: K for the next update
  Histogram gradient_staleness_;  // server only; read after the join
  std::mutex mutex_;
  std::condition_variable server_cv_;  // a push arrived
  std::condition_variable worker_cv_;  // replies sent, or the run finished
  // Across processes (--backend mpi); with one process link_ is null and these stay unused.
  ProcessGroup* group_ = nullptr;
  ServerLink* link_ = nullptr;        // owned by group_; null with one rank
  int rank_ = 0;                      // this process's rank
  int threads_ = 1;                   // worker slots per rank (T)
  std::vector<std::uint8_t> closed_;  // server only: remote slot g had its final reply
  std::size_t open_remote_ = 0;       // server only: remote slots not yet closed
};

// What a hybrid run starts with: K0 (--switch) and its gradient sources W (threads - 1, threads
// with --server-trains, 1 at one thread; `threads` counts the worker slots of every rank under
// --backend mpi, R x T). K0 >= W is the synchronous server from the first
// update (`psgd sweep --dry-run` warns of such points).
struct HybridStart {
  std::int64_t k0 = 1;
  int workers = 1;
  bool server_trains = false;  // --server-trains (a source only with two threads or more)
};
HybridStart hybrid_start(const AlgorithmSettings& settings, int threads);

// Registry entries (algorithms/registry.hpp).
AlgorithmEntry param_server_entry();
AlgorithmEntry hybrid_entry();

}  // namespace psgd
