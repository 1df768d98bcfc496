// algorithms/param_server_entries.cpp — the options and registry entries of `param-server` and
// `hybrid` (the algorithm itself: param_server.hpp).
//
// Defaults and why: --ps-mode async, the parameter server of Downpour and of the homework study's
// reference (Ray) in its asynchronous form; --switch 1,500: start asynchronous (K0 = 1) and add
// one gradient to K every 500 updates, the larger of the two "step sizes" (300, 500) of the
// hybrid study (Vora, Joshi, Patel, "Hybrid Approach to Parallel Stochastic Gradient Descent",
// arXiv 2407.00101, 2024), read as the step function's interval in updates (an interpretation:
// the paper's full text was not available); --switch-shape linear, the step function the
// study's reviewers describe. --server-trains off: the parameter server of Downpour and Ray
// serves only; the flag gives study 002's node 0, which serves and trains.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "algorithms/param_server.hpp"
#include "common/errors.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

enum class PsMode { kAsync, kSync };
constexpr NameTable<PsMode, 2> kPsModes{{{"async", PsMode::kAsync}, {"sync", PsMode::kSync}}};

struct SwitchSpec {
  std::int64_t k0 = 1;
  std::int64_t interval = 500;
};

const AlgorithmOption& ps_mode_option() {
  static const AlgorithmOption o = AlgorithmOption::make<PsMode>(
      "ps-mode", "MODE",
      "param-server: async (apply each gradient on arrival) | sync (apply the mean once every "
      "worker pushed)",
      PsMode::kAsync, [](std::string_view text) { return parse_name(kPsModes, "ps-mode", text); },
      [](const PsMode& m) { return nlohmann::json(std::string(name_of(kPsModes, m))); });
  return o;
}

SwitchSpec parse_switch(std::string_view text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string_view::npos) {
    throw ConfigError("--switch wants K0,T (two integers >= 1, e.g. 1,500), got '" +
                      std::string(text) + "'");
  }
  return {parse_int_option("switch", text.substr(0, comma), 1, 1'000'000),
          parse_int_option("switch", text.substr(comma + 1), 1)};
}

const AlgorithmOption& switch_option() {
  static const AlgorithmOption o = AlgorithmOption::make<SwitchSpec>(
      "switch", "K0,T",
      "hybrid: the server applies the mean once it holds K gradients, K = min(workers, K0 + "
      "floor(updates / T)) (K = 1 asynchronous, K = workers synchronous)",
      SwitchSpec{}, parse_switch, [](const SwitchSpec& s) {
        return nlohmann::json(std::to_string(s.k0) + "," + std::to_string(s.interval));
      });
  return o;
}

const AlgorithmOption& switch_shape_option() {
  static const AlgorithmOption o = AlgorithmOption::make<KShape>(
      "switch-shape", "SHAPE",
      "hybrid: how K grows every T updates: linear (K0 + steps) | exponential (K0 * 2^steps)",
      KShape::kLinear,
      [](std::string_view text) { return parse_name(kKShapes, "switch-shape", text); },
      [](const KShape& s) { return nlohmann::json(std::string(name_of(kKShapes, s))); });
  return o;
}

const AlgorithmOption& server_trains_option() {
  static const AlgorithmOption o = AlgorithmOption::make<bool>(
      "server-trains", "",
      "param-server, hybrid: the server thread also computes gradients between requests, so "
      "every thread is a gradient source (study 002's node 0)",
      false, [](std::string_view) { return true; },
      [](const bool& b) { return nlohmann::json(b); });
  return o;
}

}  // namespace

HybridStart hybrid_start(const AlgorithmSettings& settings, int threads) {
  const int n = std::max(threads, 1);
  const bool trains = settings.get<bool>(server_trains_option());
  return {settings.get<SwitchSpec>(switch_option()).k0, n == 1 ? 1 : (trains ? n : n - 1), trains};
}

namespace {

// The worker slots of every rank (R x T; T with one process): the server is one of them.
int all_slots(const AlgorithmSetup& s) { return std::max(s.threads, 1) * s.processes(); }

// The gradient sources of a run (hybrid_start's W), over every rank.
std::int64_t sources(const AlgorithmSetup& s) {
  return hybrid_start(s.settings, all_slots(s)).workers;
}

// Slot 0 serves without computing unless it trains (or is the only thread, which then runs alone).
int first_source(const AlgorithmSetup& s) {
  return all_slots(s) >= 2 && !s.settings.get<bool>(server_trains_option()) ? 1 : 0;
}

}  // namespace

AlgorithmEntry param_server_entry() {
  AlgorithmEntry e{
      "param-server",
      "parameter server: slot 0 serves (and with --server-trains computes gradients too), "
      "workers pull, compute, push; --ps-mode async | sync",
      1,
      AlgorithmEntry::kAnyThreads,
      with_step_rules({&ps_mode_option(), &server_trains_option()}),
      []<class S>(const AlgorithmSetup& s) {
        const PsMode mode = s.settings.get<PsMode>(ps_mode_option());
        KSchedule k;
        k.k0 = mode == PsMode::kSync ? KSchedule::kAllWorkers : 1;
        const nlohmann::json facts = {{"ps_mode", std::string(name_of(kPsModes, mode))}};
        return std::make_unique<ParameterServer<S>>("param-server", k, facts,
                                                    s.settings.get<bool>(server_trains_option()),
                                                    step_rule_choice(s.settings), s.group);
      }};
  // The server counts the gradients its updates use and stops at the cap: one per update in
  // async mode, every source's in sync mode.
  e.first_source = first_source;
  e.caps_gradients = true;
  // Across ranks: the server on rank 0, workers on every rank (param_server.hpp, server_link.hpp).
  e.across_processes = true;
  e.gradients_per_update = [](const AlgorithmSetup& s) -> std::int64_t {
    return s.settings.get<PsMode>(ps_mode_option()) == PsMode::kSync ? sources(s) : 1;
  };
  return e;
}

AlgorithmEntry hybrid_entry() {
  AlgorithmEntry e{
      "hybrid",
      "smooth switch: a parameter server applying the mean of K(t) gradients, K growing "
      "from --switch K0 by one every T updates",
      1,
      AlgorithmEntry::kAnyThreads,
      with_step_rules({&switch_option(), &switch_shape_option(), &server_trains_option()}),
      []<class S>(const AlgorithmSetup& s) {
        const auto spec = s.settings.get<SwitchSpec>(switch_option());
        KSchedule k;
        k.k0 = static_cast<int>(spec.k0);
        k.interval = spec.interval;
        k.shape = s.settings.get<KShape>(switch_shape_option());
        const nlohmann::json facts = {{"switch", {{"k0", spec.k0}, {"interval", spec.interval}}},
                                      {"switch_shape", std::string(name_of(kKShapes, k.shape))}};
        return std::make_unique<ParameterServer<S>>("hybrid", k, facts,
                                                    s.settings.get<bool>(server_trains_option()),
                                                    step_rule_choice(s.settings), s.group);
      }};
  // K starts at min(K0, W) and grows: the start lays the checkpoints out (more updates than
  // that only thin them).
  e.first_source = first_source;
  e.caps_gradients = true;
  e.across_processes = true;  // the parameter server's transport, as param-server
  e.gradients_per_update = [](const AlgorithmSetup& s) -> std::int64_t {
    const HybridStart h = hybrid_start(s.settings, all_slots(s));
    return std::max<std::int64_t>(1, std::min<std::int64_t>(h.k0, h.workers));
  };
  return e;
}

}  // namespace psgd
