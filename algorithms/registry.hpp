// algorithms/registry.hpp — stable algorithm names to factories, with what each accepts.
//
// The names are the ones the CLI, the JSON, the sweeps and the plots use; they never change
// meaning. An entry carries the name, a one-line description, the thread counts it runs with,
// the options it accepts (declared beside the algorithm, algorithms/algorithm_options.hpp) and
// a factory, and the option values under which one thread of it is sequential SGD. Adding an
// algorithm is one file that defines its entry plus one `add` line in builtin_algorithms()
// (registry.cpp); nothing else names it: the contract test (algorithms/test/contract_test.cpp)
// and `psgd run --help` walk the registry.
//
// Precision: an entry's factory is one generic lambda []<class S>(const AlgorithmSetup&), S the
// scalar type (float or double); AlgorithmFactory instantiates it for both, and make<S>() picks
// one when the run is built (`psgd run` calls it inside with_precision, common/precision.hpp).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/algorithm_options.hpp"
#include "algorithms/batch_order.hpp"
#include "algorithms/process_group.hpp"
#include "common/errors.hpp"

namespace psgd {

// What a factory gets: the run's algorithm options, its master seed (per-worker streams derive
// from it), its worker count per process, and under `--backend mpi` the process group its
// workers span (null: one process, the shared-memory combine).
// An algorithm option set away from its default for an algorithm that does not accept it
// ("--persistence applies to: leashed (not --algo mutex)"). Typed, so a sweep that crosses
// `algo` with such an option can name the exclude rule that skips those points.
class OptionNotAcceptedError : public ConfigError {
 public:
  OptionNotAcceptedError(const std::string& message, std::string option, std::string algo)
      : ConfigError(message), option_(std::move(option)), algo_(std::move(algo)) {}
  [[nodiscard]] const std::string& option() const noexcept { return option_; }  // no dashes
  [[nodiscard]] const std::string& algo() const noexcept { return algo_; }

 private:
  std::string option_;
  std::string algo_;
};

struct AlgorithmSetup {
  const AlgorithmSettings& settings;
  std::uint64_t seed = 1;
  int threads = 1;
  ProcessGroup* group = nullptr;
  // The processes the run spans: the group's size, 1 without one.
  [[nodiscard]] int processes() const noexcept { return group != nullptr ? group->size() : 1; }
};

template <class S>
using AlgorithmPtr = std::unique_ptr<BasicAlgorithm<S>>;

// An algorithm's constructor in both precisions, from one generic lambda
// []<class S>(const AlgorithmSetup&) returning a std::unique_ptr to a BasicAlgorithm<S>.
class AlgorithmFactory {
 public:
  // Implicit, so an entry is written { ..., []<class S>(const AlgorithmSetup& s) { ... } }.
  template <class F>
  requires(!std::same_as<std::decay_t<F>, AlgorithmFactory>)
      AlgorithmFactory(F f)  // NOLINT(google-explicit-constructor)
      : float_([f](const AlgorithmSetup& s) -> AlgorithmPtr<float> {
          return f.template operator()<float>(s);
        }),
        double_([f](const AlgorithmSetup& s) -> AlgorithmPtr<double> {
          return f.template operator()<double>(s);
        }) {}

  template <class S>
  [[nodiscard]] AlgorithmPtr<S> build(const AlgorithmSetup& setup) const {
    if constexpr (std::is_same_v<S, double>) {
      return double_(setup);
    } else {
      return float_(setup);
    }
  }

 private:
  std::function<AlgorithmPtr<float>(const AlgorithmSetup&)> float_;
  std::function<AlgorithmPtr<double>(const AlgorithmSetup&)> double_;
};

// An algorithm option's value as the command line writes it: {"merge", "overwrite"}.
struct OptionText {
  std::string_view option;
  std::string_view text;
};

struct AlgorithmEntry {
  static constexpr int kAnyThreads = std::numeric_limits<int>::max();

  std::string_view name;
  std::string_view description;  // one line, for `psgd list`
  int min_threads = 1;
  int max_threads = kAnyThreads;
  std::vector<const AlgorithmOption*> options;  // accepted, in the order --help lists them
  // Builds the algorithm in either precision; throws ConfigError for option values it cannot run
  // with. Cheap: no parameter storage exists before Algorithm::init().
  AlgorithmFactory make;
  // The option values under which one thread of it is sequential SGD bit for bit (final
  // parameters, every snapshot, the minibatch losses), duty 6 of algorithms/algorithm.hpp: the
  // contract test holds it to that. Empty: at its defaults; nullopt: under none (the method
  // never reduces to seq, and the test says so instead of comparing).
  std::optional<std::vector<OptionText>> one_thread_is_seq = std::vector<OptionText>{};
  // The batch order without --batch-order: `worker` but for the averaging study's methods, which
  // divide the training set among the workers (`shard`). Every method accepts every order.
  BatchOrder default_batch_order = BatchOrder::kWorker;
  // The first thread slot that computes gradients: the slots before it never do (the parameter
  // server's slot 0 unless --server-trains), so `shard` cuts the training set over the slots
  // from it on only, and every sample is read once a pass. 0: every slot computes.
  std::function<int(const AlgorithmSetup&)> first_source = every_slot_computes;
  // How the method turns gradients into updates, for the budgets of `psgd run` (--epochs and
  // --gradients count computed gradients). The defaults mean one gradient per update: a gradient
  // budget is then the update budget, and the method's counting is what it always was.
  // caps_gradients: the method combines several gradients into its updates and stops at
  // RunControl::total_gradients itself (the round frame does; total_updates is then only an
  // upper bound).
  bool caps_gradients = false;
  // Whether it runs across processes (`--backend mpi`): its factory then builds it on the
  // setup's process group, with the MPI combine. The others refuse that backend.
  bool across_processes = false;
  // The gradients one update costs when every worker takes part (>= 1; sync: W): lays out the
  // checkpoints of a gradient budget (K per pass over the data) and its nominal epochs, never
  // enforced. Set only with caps_gradients.
  std::function<std::int64_t(const AlgorithmSetup&)> gradients_per_update = one_gradient;

  // The defaults of the two fields above, and the round-based methods' W per update.
  static std::int64_t one_gradient(const AlgorithmSetup& /*setup*/) { return 1; }
  static int every_slot_computes(const AlgorithmSetup& /*setup*/) { return 0; }
  static std::int64_t one_per_worker(const AlgorithmSetup& setup) {
    return static_cast<std::int64_t>(std::max(setup.threads, 1)) * setup.processes();
  }
  // gradients_per_update(setup), at least 1.
  [[nodiscard]] std::int64_t nominal_gradients_per_update(const AlgorithmSetup& setup) const;

  [[nodiscard]] bool accepts(std::string_view option) const noexcept;
  // `values` set on top of the defaults. Throws std::logic_error for an option the entry does
  // not accept (a programming error), ConfigError for a value its parser rejects.
  [[nodiscard]] AlgorithmSettings settings_with(const std::vector<OptionText>& values) const;
};

class AlgorithmRegistry {
 public:
  // Throws std::logic_error for a duplicate name (a programming error, not a user's).
  void add(AlgorithmEntry entry);

  [[nodiscard]] const std::vector<AlgorithmEntry>& entries() const noexcept { return entries_; }
  // Throws ConfigError listing the valid names.
  [[nodiscard]] const AlgorithmEntry& at(std::string_view name) const;

  // Every option any entry accepts, each once, in first-declared order.
  [[nodiscard]] std::vector<const AlgorithmOption*> options() const;
  // "leashed" or "mutex, rwlock, leashed": the algorithms accepting option `name`.
  [[nodiscard]] std::string accepted_by(std::string_view name) const;

  // "sync, param-server, ...": the algorithms that run across processes (--backend mpi).
  [[nodiscard]] std::string across_processes() const;
  // Throws ConfigError "--backend mpi applies to: sync, ... (not --algo NAME)" unless
  // algorithm `name` runs across processes: the one refusal, before MPI starts (preflight) and
  // in check() with a group.
  void check_across_processes(std::string_view name) const;
  // The checks of `psgd run` before anything is loaded: the name is known, the thread count in
  // range, no option the algorithm does not accept is set away from its default
  // ("--persistence applies to: leashed"), and the factory accepts the values. Throws
  // ConfigError.
  void check(std::string_view name, const AlgorithmSetup& setup) const;
  // check(), then the algorithm in precision S (float or double).
  template <class S = float>
  [[nodiscard]] AlgorithmPtr<S> make(std::string_view name, const AlgorithmSetup& setup) const {
    check(name, setup);
    return at(name).make.build<S>(setup);
  }

  // "  name            description\n      options: --a --b\n" per entry, for `psgd list`.
  [[nodiscard]] std::string help() const;

 private:
  std::vector<AlgorithmEntry> entries_;
};

// The algorithms psgd ships (registry.cpp: one line each).
const AlgorithmRegistry& builtin_algorithms();

}  // namespace psgd
