// harness/run/ranks.cpp — the ranks of `psgd run --backend mpi` in the harness.
#include "harness/run/ranks.hpp"

#include <zlib.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "harness/run/run_record.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// What a rank compares: everything that shapes its training. Not the data's path, which may
// differ from host to host: the data itself, by its checksum.
json comparable_config(const RunConfig& cfg, const Dataset* train) {
  json c = config_to_json(cfg);
  c.erase("out");
  c.erase("save_params");
  c.erase("data_dir");
  if (train != nullptr)
    c["training data (CRC-32 of the loaded samples)"] = dataset_checksum(*train);
  return c;
}

// "--batch (64 vs 32)": the first option where `theirs` (another rank) differs from `mine`
// (rank 0), or "" when the two agree.
std::string first_disagreement(const json& mine, const json& theirs) {
  std::set<std::string> keys;
  for (const auto& [k, v] : mine.items()) keys.insert(k);
  for (const auto& [k, v] : theirs.items()) keys.insert(k);
  for (const std::string& k : keys) {
    const json a = mine.contains(k) ? mine.at(k) : json(nullptr);
    const json b = theirs.contains(k) ? theirs.at(k) : json(nullptr);
    if (a == b) continue;
    // An option's key is its name with '_' for '-' (json_key): named back as the command line
    // spells it.
    std::string name = k;
    if (k.find(' ') == std::string::npos) {
      std::replace(name.begin(), name.end(), '_', '-');
      name = "--" + name;
    }
    return name + " (" + b.dump() + " vs " + a.dump() + ")";
  }
  return "";
}

// The counters of one worker that the run document totals.
json worker_counters(const WorkerStats& s) {
  return {{"computed", s.computed},
          {"samples", s.samples},
          {"contributed", s.contributed},
          {"dropped", s.dropped},
          {"discarded_at_end", s.discarded_at_end},
          {"abandoned", s.abandoned},
          {"exchanges", s.exchanges},
          {"comm_delay_seconds", s.comm_delay_seconds},
          {"slowdown_seconds", s.slowdown_seconds},
          {"delay_seconds", s.delay_seconds}};
}

// Rank 0's verdict on every rank's set-up (check_ranks_agree), null when every rank may train:
// {message, code}.
json setup_verdict(const std::vector<std::string>& all) {
  std::vector<json> ranks;
  for (const std::string& text : all) ranks.push_back(json::parse(text));
  std::vector<std::size_t> failed;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    if (ranks[r].contains("error")) failed.push_back(r);
  }
  if (!failed.empty()) {
    const json& first = ranks[failed.front()].at("error");
    const bool alike =
        failed.size() == ranks.size() &&
        std::ranges::all_of(ranks, [&](const json& r) { return r.at("error") == first; });
    if (alike) return first;  // as a local run says it: the error is not the rank's
    std::string message =
        "rank " + std::to_string(failed.front()) + ": " + first.at("message").get<std::string>();
    if (failed.size() > 1) {
      message += " (and " + std::to_string(failed.size() - 1) + " more of the " +
                 std::to_string(ranks.size()) + " ranks failed)";
    }
    return {{"message", message}, {"code", first.at("code")}};
  }
  const json& mine = ranks.front().at("config");
  for (std::size_t r = 1; r < ranks.size(); ++r) {
    const std::string diff = first_disagreement(mine, ranks[r].at("config"));
    if (!diff.empty()) {
      return {
          {"message", "--backend mpi: rank " + std::to_string(r) + " differs from rank 0 in " +
                          diff + ": every rank must run the same configuration on the same data"},
          {"code", kExitConfigError}};
    }
  }
  return nullptr;
}

WorkerStats remote_worker(const json& c) {
  WorkerStats s;  // applied 0: rank 0's worker 0 already counts every agreed update
  s.computed = c.at("computed").get<std::int64_t>();
  s.samples = c.at("samples").get<std::int64_t>();
  s.contributed = c.at("contributed").get<std::int64_t>();
  s.dropped = c.at("dropped").get<std::int64_t>();
  s.discarded_at_end = c.at("discarded_at_end").get<std::int64_t>();
  s.abandoned = c.at("abandoned").get<std::int64_t>();
  s.exchanges = c.at("exchanges").get<std::int64_t>();
  s.comm_delay_seconds = c.at("comm_delay_seconds").get<double>();
  s.slowdown_seconds = c.at("slowdown_seconds").get<double>();
  s.delay_seconds = c.at("delay_seconds").get<double>();
  return s;
}

}  // namespace

std::unique_ptr<ProcessGroup> join_ranks(const RunConfig& cfg) {
  if (cfg.backend != Backend::kMpi) return nullptr;
  const bool launched = ProcessGroup::launched();
  std::unique_ptr<ProcessGroup> group = ProcessGroup::join();
  // srun without an MPI plugin it can wire (--mpi=none, or a PMI the MPI lacks) starts its N
  // tasks as N separate one-rank runs, which would all train alone and write the same --out.
  const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  if (group->size() == 1 && step_tasks != nullptr && std::string_view(step_tasks) != "1" &&
      std::string_view(step_tasks) != "0" && std::string_view(step_tasks) != "") {
    throw EnvironmentError(
        std::string("--backend mpi: srun started ") + step_tasks +
        " tasks, but MPI sees each as a run of one rank: srun's MPI plugin does not reach this "
        "MPI (try srun --mpi=pmix; `srun --mpi=list` names the plugins)");
  }
  if (!launched) {
    std::cerr << "psgd run: --backend mpi outside mpirun or srun: running as one rank\n";
  }
  return group;
}

std::uint32_t dataset_checksum(const Dataset& data) {
  constexpr std::size_t kChunk = 256;  // samples per gather: a bounded buffer for any data set
  std::vector<float> features(kChunk * data.num_features());
  std::vector<std::int32_t> labels(kChunk);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t first = 0; first < data.size(); first += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - first);
    data.gather_range(first, n, features.data(), labels.data());
    // crc32_z takes a size_t length: a chunk of a data set with millions of features can pass
    // the 4 GiB that crc32's uInt holds.
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(features.data()),
                  n * data.num_features() * sizeof(float));
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(labels.data()), n * sizeof(std::int32_t));
  }
  return static_cast<std::uint32_t>(crc);
}

RankSetupError setup_error_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const ConfigError& e) {
    return {e.what(), kExitConfigError};
  } catch (const std::bad_alloc&) {
    return {
        "out of memory (std::bad_alloc): reduce the model, the data or --threads, or raise "
        "ulimit -v",
        kExitEnvironmentError};
  } catch (const std::exception& e) {
    return {e.what(), kExitEnvironmentError};
  } catch (...) {
    return {"an unknown error", kExitEnvironmentError};
  }
}

void check_ranks_agree(ProcessGroup& group, const RunConfig& cfg, const Dataset* train,
                       const RankSetupError& failed) {
  json mine;
  if (failed.message.empty()) {
    mine["config"] = comparable_config(cfg, train);
  } else {
    mine["error"] = {{"message", failed.message}, {"code", failed.code}};
  }
  json verdict = nullptr;
  try {  // gather and broadcast check their sizes collectively: they throw on every rank alike
    const std::vector<std::string> all = group.gather(mine.dump());
    if (group.rank() == 0) verdict = setup_verdict(all);
    verdict = json::parse(group.broadcast(verdict.dump()));
  } catch (const EnvironmentError& e) {
    throw RanksSettledError(e.what(), kExitEnvironmentError);
  }
  if (!verdict.is_null()) {
    throw RanksSettledError(verdict.at("message").get<std::string>(),
                            verdict.at("code").get<int>());
  }
}

namespace {

constexpr std::string_view kKillRank = "kill-rank:";
constexpr std::string_view kSlowRank = "slow-rank:";

// R of --test-fault KIND:R (KIND "kill-rank:" or "slow-rank:"), or -1 when the fault is another.
// The text was checked at parse (run_config.cpp): R is a non-negative integer.
long long faulted_rank(const RunConfig& cfg, std::string_view kind) {
  if (!cfg.test_fault.starts_with(kind)) return -1;
  return std::stoll(cfg.test_fault.substr(kind.size()));
}

}  // namespace

void check_rank_fault(const RunConfig& cfg, const ProcessGroup& group) {
  for (const std::string_view kind : {kKillRank, kSlowRank}) {
    const long long r = faulted_rank(cfg, kind);
    if (r >= group.size()) {
      throw ConfigError("--test-fault " + cfg.test_fault + ": no rank " + std::to_string(r) +
                        " in a run of " + std::to_string(group.size()) + " rank(s) (0.." +
                        std::to_string(group.size() - 1) + ")");
    }
  }
}

void arm_rank_fault(const RunConfig& cfg, const ProcessGroup& group) {
  if (faulted_rank(cfg, kKillRank) != group.rank()) return;
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::raise(SIGKILL);
  }).detach();
}

PaceConfig rank_pace(const RunConfig& cfg, const ProcessGroup& group) {
  PaceConfig pace = cfg.pace;
  if (faulted_rank(cfg, kSlowRank) != group.rank()) return pace;
  pace.slowdown.clear();
  for (int w = 0; w < cfg.threads; ++w) pace.slowdown.emplace_back(w, kSlowRankFactor);
  return pace;
}

json gather_ranks(ProcessGroup& group, const std::vector<ObservedSlot>& observed,
                  const TopologySummary& topology, std::vector<WorkerStats>& workers,
                  double cpu_seconds) {
  const RankTraffic t = group.traffic();
  std::set<int> cpus;
  for (const ObservedSlot& o : observed) {
    if (o.cpu >= 0) cpus.insert(o.cpu);
  }
  std::int64_t gradients = 0;
  json counters = json::array();
  for (const WorkerStats& s : workers) {
    gradients += s.computed;
    counters.push_back(worker_counters(s));
  }
  const json mine = {{"rank", group.rank()},
                     {"host", group.host()},
                     {"threads", workers.size()},
                     {"cpus", std::vector<int>(cpus.begin(), cpus.end())},
                     {"allowed_cpus", topology.allowed_cpus},
                     {"gradients", gradients},
                     {"communication_seconds", t.communication_seconds},
                     {"waiting_seconds", t.waiting_seconds},
                     {"bytes_sent", t.bytes_sent},
                     {"bytes_received", t.bytes_received},
                     {"collectives", t.collectives},
                     {"messages", t.messages},
                     {"peak_rss_bytes", peak_rss_bytes()},
                     {"cpu_seconds", cpu_seconds},
                     {"workers", counters}};
  const std::vector<std::string> all = group.gather(mine.dump());
  if (group.rank() != 0) return nullptr;
  json ranks = json::array();
  for (std::size_t r = 0; r < all.size(); ++r) {
    json rank = json::parse(all[r]);
    if (r > 0) {
      for (const json& c : rank.at("workers")) workers.push_back(remote_worker(c));
    }
    rank.erase("workers");  // in the document's per-worker lists already
    ranks.push_back(std::move(rank));
  }
  return ranks;
}

}  // namespace psgd
