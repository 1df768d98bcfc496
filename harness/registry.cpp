// harness/registry.cpp — the algorithm table.
#include "harness/registry.hpp"

#include <array>
#include <functional>

#include "algorithms/backoff.hpp"
#include "algorithms/hogwild.hpp"
#include "algorithms/leashed.hpp"
#include "algorithms/locks.hpp"
#include "algorithms/mutex.hpp"
#include "algorithms/rwlock.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/sync.hpp"
#include "common/errors.hpp"

namespace psgd {
namespace {

struct AlgorithmEntry {
  std::string_view name;
  std::string_view description;
  bool single_threaded;
  std::function<std::unique_ptr<Algorithm>(const RunConfig&)> make;
};

BackoffParams backoff_params(const RunConfig& c) {
  return BackoffParams{static_cast<std::uint64_t>(c.backoff_min_ns),
                       static_cast<std::uint64_t>(c.backoff_max_ns), c.backoff_jitter, c.seed};
}

LockMode lock_mode(const RunConfig& c) { return c.lock == "os" ? LockMode::kOs : LockMode::kSpin; }

// Options that only some algorithms have are errors elsewhere, so a sweep cannot record a
// setting that did nothing.
void require_no_retry_options(const RunConfig& c, std::string_view why) {
  if (c.backoff != "none") {
    throw ConfigError("--backoff " + c.backoff + " does not apply to --algo " + c.algorithm + ": " +
                      std::string(why));
  }
}
void require_not_leashed_options(const RunConfig& c) {
  if (c.persistence || c.test_before_cas) {
    throw ConfigError("--persistence and --test-before-cas apply to --algo leashed only");
  }
}

const std::vector<AlgorithmEntry>& table() {
  static const std::vector<AlgorithmEntry> entries = {
      {"seq", "sequential mini-batch SGD (the baseline; --threads 1)", true,
       [](const RunConfig& c) -> std::unique_ptr<Algorithm> {
         require_no_retry_options(c, "it has no retry point");
         require_not_leashed_options(c);
         return std::make_unique<SequentialSgd>();
       }},
      {"mutex", "lock-based consistent AsyncSGD: one lock for copy and update (--lock, --backoff)",
       false,
       [](const RunConfig& c) {
         require_not_leashed_options(c);
         return make_mutex_sgd(lock_mode(c), c.backoff, backoff_params(c));
       }},
      {"rwlock",
       "AsyncSGD with a read-write lock: shared copy, exclusive update (--rwlock-prefer, --lock, "
       "--backoff)",
       false,
       [](const RunConfig& c) {
         require_not_leashed_options(c);
         return make_rwlock_sgd(lock_mode(c),
                                c.rwlock_prefer == "reader" ? RwPrefer::kReader : RwPrefer::kWriter,
                                c.backoff, backoff_params(c));
       }},
      {"hogwild", "HOGWILD!: no lock, relaxed per-coordinate load/store (lost updates possible)",
       false,
       [](const RunConfig& c) {
         require_no_retry_options(c, "its per-coordinate stores never fail (use hogwild-atomic)");
         require_not_leashed_options(c);
         return make_hogwild_sgd(false, c.backoff, backoff_params(c));
       }},
      {"hogwild-atomic", "HOGWILD! with a per-coordinate CAS add: no lost update (--backoff)",
       false,
       [](const RunConfig& c) {
         require_not_leashed_options(c);
         return make_hogwild_sgd(true, c.backoff, backoff_params(c));
       }},
      {"leashed",
       "Leashed-SGD: CAS-published immutable vectors (--persistence, --test-before-cas, "
       "--backoff)",
       false,
       [](const RunConfig& c) {
         LeashedOptions o;
         o.persistence = c.persistence.value_or(LeashedOptions::kInfinite);
         o.test_before_cas = c.test_before_cas;
         return make_leashed_sgd(o, c.backoff, backoff_params(c));
       }},
      {"sync", "synchronous parallel SGD: barrier, averaged gradient, effective batch N x b", false,
       [](const RunConfig& c) -> std::unique_ptr<Algorithm> {
         require_no_retry_options(c, "it waits at barriers, not at retry points");
         require_not_leashed_options(c);
         return std::make_unique<SyncSgd>();
       }},
  };
  return entries;
}

}  // namespace

std::unique_ptr<Algorithm> make_algorithm(const RunConfig& config) {
  for (const AlgorithmEntry& e : table()) {
    if (e.name != config.algorithm) continue;
    if (e.single_threaded && config.threads != 1) {
      throw ConfigError("--algo " + std::string(e.name) + " runs with --threads 1, got " +
                        std::to_string(config.threads));
    }
    return e.make(config);
  }
  std::string valid;
  for (const AlgorithmEntry& e : table())
    valid += (valid.empty() ? "" : ", ") + std::string(e.name);
  throw ConfigError("unknown algorithm '" + config.algorithm + "'; valid: " + valid);
}

std::string algorithm_names_help() {
  std::string s;
  for (const AlgorithmEntry& e : table()) {
    std::string name(e.name);
    s += "  " + name + std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') +
         std::string(e.description) + "\n";
  }
  return s;
}

}  // namespace psgd
