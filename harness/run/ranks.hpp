// harness/run/ranks.hpp — `psgd run --backend mpi` in the harness: joining the ranks, refusing a
// run whose ranks disagree, the document's `ranks` block, and the per-rank test fault.
//
// One document per run: every rank trains (the MPI combine keeps their parameters identical),
// rank 0 alone evaluates the checkpoints and writes the document. Its counters (work, pace, the
// per-worker lists) cover every rank's workers: the other ranks' per-worker counters are gathered
// to rank 0 and added as workers R x T.. of the run, with applied = 0, because every rank's
// worker 0 counts the same agreed updates and rank 0's already count them once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/process_group.hpp"
#include "common/errors.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/run_config.hpp"
#include "models/dataset.hpp"

namespace psgd {

// The ranks disagree on the run (check_ranks_agree): thrown on every rank alike, so each ends
// with exit 2 after MPI_Finalize and only rank 0 reports it.
class RanksDisagreeError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

// The process group when --backend mpi (null for local). Outside a launcher (no mpirun, srun)
// MPI starts as a singleton: one rank, and stderr says so. Throws as ProcessGroup::join().
std::unique_ptr<ProcessGroup> join_ranks(const RunConfig& cfg);

// Collective, before training: every rank's canonical configuration (config_to_json without
// --out and --save-params, which only rank 0 uses) and a CRC-32 of the training set it loaded,
// compared on rank 0 with rank 0's. Throws RanksDisagreeError on every rank, naming the first
// rank and option that differ ("training data (CRC-32 of the loaded samples)" for the data).
void check_ranks_agree(ProcessGroup& group, const RunConfig& cfg, const Dataset& train);

// The CRC-32 of the samples' features (as floats) and labels, in order.
std::uint32_t dataset_checksum(const Dataset& data);

// --test-fault kill-rank:R: on rank R, a thread that kills the process with SIGKILL one second
// from now (the run is training by then), so the tests can check that the job ends promptly.
void arm_rank_fault(const RunConfig& cfg, const ProcessGroup& group);

// Collective, after training: this rank's record gathered on rank 0. On rank 0 returns the
// `ranks` array (rank, host, threads, cpus, allowed_cpus, gradients, communication_seconds,
// waiting_seconds, bytes_sent, bytes_received, collectives, messages) and appends every other
// rank's workers to `workers` (their counters; applied 0); elsewhere returns null.
nlohmann::json gather_ranks(ProcessGroup& group, const std::vector<ObservedSlot>& observed,
                            const TopologySummary& topology, std::vector<WorkerStats>& workers);

}  // namespace psgd
