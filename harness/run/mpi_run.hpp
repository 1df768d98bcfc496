// harness/run/mpi_run.hpp — how one process of `psgd run` starts and ends as a rank of
// `--backend mpi` (a plain local run passes through unchanged): joining the ranks, the
// collective end of the set-up, and what an error does in each phase of the run.
//
// Phases, and what an error raised in each does:
//   set-up   (joined, until settle_setup): no collective runs between join and settle_setup, so
//            a rank that fails here goes straight to settle_setup with its error, and every rank
//            learns it there. Every rank then ends normally (MPI_Finalize) with exit 2 (a
//            configuration error) or 3 (anything else); rank 0 alone prints the one line and
//            writes the error document. An error on every rank alike (a batch larger than the
//            data, a bad data file) is then one line, as in a local run, not R MPI_Aborts.
//   training (settle_setup to gather_ranks): the ranks meet in collectives at every round, so a
//            rank that fails alone would leave the others waiting forever: it prints
//            `psgd run: rank R: ...` and ends the job with MPI_Abort (ProcessGroup::abort).
//   done     (after gather_ranks, the last collective): only rank 0 works on (evaluation, the
//            document); its errors are a local run's.
#pragma once

#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/process_group.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/run_config.hpp"
#include "models/dataset.hpp"

namespace psgd {

class RankedRun {
 public:
  // Joins the ranks under --backend mpi (ProcessGroup::join's errors, before any rank waits on
  // another); a local run has no group. Outside a launcher MPI starts as one rank, and stderr
  // says so.
  explicit RankedRun(const RunConfig& cfg);

  // Null for a local run.
  [[nodiscard]] ProcessGroup* group() const noexcept { return group_.get(); }
  // True on the process that reports: rank 0, or the one process of a local run.
  [[nodiscard]] bool speaks() const noexcept { return group_ == nullptr || group_->rank() == 0; }

  // Collective, the end of the set-up on every rank that did not fail before it (the others
  // reach it from ended_by): compares the ranks' configurations and training data
  // (check_ranks_agree; `train` null for --dry-run, which loads none), then arms the per-rank
  // test fault. Throws RanksSettledError on every rank alike when a rank failed or they
  // disagree. No-op for a local run.
  void settle_setup(const RunConfig& cfg, const Dataset* train);

  // Collective, after training: the document's `ranks` block on rank 0 (gather_ranks), null
  // elsewhere; the run is done from here on.
  nlohmann::json gather(const std::vector<ObservedSlot>& observed, const TopologySummary& topology,
                        std::vector<WorkerStats>& workers, double cpu_seconds);

  // The exit code of a rank that ends silently, for `error` (the exception being handled; 0 for
  // the other ranks of a settled error, whose code is rank 0's):
  // rethrows it where the process reports it (a local run, rank 0 of a settled error as a
  // ConfigError or EnvironmentError, any error once done); ends the job with MPI_Abort for an
  // error on one rank during training.
  int ended_by(std::exception_ptr error);

 private:
  enum class Phase { kSetup, kTraining, kDone };
  std::unique_ptr<ProcessGroup> group_;
  Phase phase_ = Phase::kSetup;
  const RunConfig* cfg_ = nullptr;
};

}  // namespace psgd
