// harness/run/ranks.hpp — `psgd run --backend mpi` in the harness: joining the ranks, the
// collective end of the set-up (a rank's error, or ranks that disagree, learnt by every rank
// alike), the document's `ranks` block, and the per-rank test fault. harness/run/mpi_run.hpp
// strings them into a run's phases.
//
// One document per run: every rank trains (the MPI combine keeps their parameters identical),
// rank 0 alone evaluates the checkpoints and writes the document. Its counters (work, pace, the
// per-worker lists) cover every rank's workers: the other ranks' per-worker counters are gathered
// to rank 0 and added as workers R x T.. of the run, with applied = 0, because every rank's
// worker 0 counts the same agreed updates and rank 0's already count them once.
#pragma once

#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/process_group.hpp"
#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/run_config.hpp"
#include "models/dataset.hpp"

namespace psgd {

// An error that every rank knows of alike (settled collectively: check_ranks_agree): each rank
// ends normally (MPI_Finalize) with code(), 2 for a configuration error and 3 for any other,
// and rank 0 alone reports it.
class RanksSettledError : public std::runtime_error {
 public:
  RanksSettledError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

// A rank's own error in the set-up, as check_ranks_agree carries it to the others.
struct RankSetupError {
  std::string message;  // empty: none
  int code = 0;         // kExitConfigError or kExitEnvironmentError
};
// The error being handled (std::current_exception()) as a RankSetupError.
RankSetupError setup_error_of(std::exception_ptr error);

// The process group when --backend mpi (null for local). Outside a launcher (no mpirun, srun)
// MPI starts as a singleton: one rank, and stderr says so. Throws as ProcessGroup::join().
std::unique_ptr<ProcessGroup> join_ranks(const RunConfig& cfg);

// Collective, the end of the set-up on every rank: every rank's canonical configuration
// (config_to_json without --out and --save-params, which only rank 0 uses, and without
// --data-dir: hosts may mount the data at different paths) and a CRC-32 of the training set it
// loaded (none when `train` is null: --dry-run), or the error that ended its set-up (`failed`),
// gathered on rank 0. Throws RanksSettledError on every rank alike when a rank failed (the
// message as raised when every rank raised the same one, else "rank R: ..." for the first that
// failed) or when a rank's configuration or data differs from rank 0's (naming the first rank
// and option that differ, "training data (CRC-32 of the loaded samples)" for the data).
void check_ranks_agree(ProcessGroup& group, const RunConfig& cfg, const Dataset* train,
                       const RankSetupError& failed = {});

// The CRC-32 of the samples' features (as floats) and labels, in order.
std::uint32_t dataset_checksum(const Dataset& data);

// --test-fault kill-rank:R and slow-rank:R name a rank of this run: a ConfigError for R past the
// last rank, which would otherwise leave the fault unarmed and a test of it passing for nothing.
// Every rank throws alike, in the set-up phase (before the ranks settle).
void check_rank_fault(const RunConfig& cfg, const ProcessGroup& group);
// --test-fault kill-rank:R: on rank R, a thread that kills the process with SIGKILL one second
// from now (the run is training by then), so the tests can check that the job ends promptly.
void arm_rank_fault(const RunConfig& cfg, const ProcessGroup& group);

// --test-fault slow-rank:R: the pace of rank R's workers, each kSlowRankFactor times slower (as
// --slowdown W:FACTOR for every worker W of that rank, in place of the rank's --slowdown), so
// the tests can make one rank the straggler; `pace` unchanged on every other rank.
inline constexpr double kSlowRankFactor = 20.0;
PaceConfig rank_pace(const RunConfig& cfg, const ProcessGroup& group);

// Collective, after training: this rank's record gathered on rank 0. On rank 0 returns the
// `ranks` array (rank, host, threads, cpus, allowed_cpus, gradients, communication_seconds,
// waiting_seconds, bytes_sent, bytes_received, collectives, messages, and the rank's own
// resources: peak_rss_bytes, cpu_seconds) and appends every other rank's workers to `workers`
// (their counters; applied 0); elsewhere returns null.
nlohmann::json gather_ranks(ProcessGroup& group, const std::vector<ObservedSlot>& observed,
                            const TopologySummary& topology, std::vector<WorkerStats>& workers,
                            double cpu_seconds);

}  // namespace psgd
