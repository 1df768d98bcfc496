// harness/run/mpi_run.cpp — one process of `psgd run` as a rank of --backend mpi: the phases of
// harness/run/mpi_run.hpp.
#include "harness/run/mpi_run.hpp"

#include <iostream>
#include <utility>

#include "common/errors.hpp"
#include "harness/run/ranks.hpp"

namespace psgd {

RankedRun::RankedRun(const RunConfig& cfg) : group_(join_ranks(cfg)), cfg_(&cfg) {}

void RankedRun::settle_setup(const RunConfig& cfg, const Dataset* train) {
  if (group_ == nullptr) return;
  check_rank_fault(cfg, *group_);  // still the set-up phase: ended_by settles it
  // What the agreement throws, it throws on every rank alike: no other collective follows it.
  phase_ = Phase::kDone;
  check_ranks_agree(*group_, cfg, train);
  // --dry-run trains nothing: no collective follows, so its errors are rank 0's alone.
  phase_ = train != nullptr ? Phase::kTraining : Phase::kDone;
  arm_rank_fault(cfg, *group_);
}

nlohmann::json RankedRun::gather(const std::vector<ObservedSlot>& observed,
                                 const TopologySummary& topology, std::vector<WorkerStats>& workers,
                                 double cpu_seconds) {
  if (group_ == nullptr) return nullptr;
  nlohmann::json ranks = gather_ranks(*group_, observed, topology, workers, cpu_seconds);
  phase_ = Phase::kDone;
  return ranks;
}

int RankedRun::ended_by(std::exception_ptr error) {
  if (group_ == nullptr) std::rethrow_exception(std::move(error));
  try {
    // A rank that failed in the set-up tells the others at the set-up's end, where they meet
    // it (or fail there too): check_ranks_agree throws the verdict on every rank alike.
    if (phase_ == Phase::kSetup) {
      phase_ = Phase::kDone;  // no collective follows, whatever the verdict
      check_ranks_agree(*group_, *cfg_, nullptr, setup_error_of(error));
    }
    std::rethrow_exception(std::move(error));
  } catch (const RanksSettledError& e) {
    // Rank 0 reports it and exits with its code, which mpirun and srun return. The others end
    // with 0: mpirun aborts the job as soon as one process exits non-zero, and a silent rank
    // exiting 2 first killed rank 0 before it had printed its line or written the error
    // document (CI, 2026-12-06).
    if (group_->rank() != 0) return 0;
    if (e.code() == kExitConfigError) throw ConfigError(e.what());
    throw EnvironmentError(e.what());
  } catch (const std::exception& e) {
    if (phase_ == Phase::kDone || group_->size() == 1) throw;
    // An error on one rank that the others, waiting in a collective, would never learn of: one
    // line naming the rank, then MPI_Abort ends the whole job (mpirun names the rank too).
    const bool config = dynamic_cast<const ConfigError*>(&e) != nullptr;
    std::cerr << "psgd run: rank " << group_->rank() << ": " << e.what() << "\n";
    group_->abort(config ? kExitConfigError : kExitEnvironmentError);
  }
  return kExitEnvironmentError;  // not reached: every path above returns, throws or aborts
}

}  // namespace psgd
