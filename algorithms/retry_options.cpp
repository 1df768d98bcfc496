// algorithms/retry_options.cpp — the backoff and lock options.
#include "algorithms/retry_options.hpp"

#include <string>

#include "common/errors.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

// Longer than this is not a backoff but a hang.
constexpr std::int64_t kMaxBackoffNs = 1'000'000'000;

nlohmann::json integer_json(const std::int64_t& v) { return v; }

AlgorithmOption nanoseconds_option(std::string_view name, std::string_view help,
                                   std::int64_t default_ns) {
  return AlgorithmOption::make<std::int64_t>(
      name, "NS", help, default_ns,
      [name](std::string_view text) { return parse_int_option(name, text, 1); }, integer_json);
}

}  // namespace

const AlgorithmOption& backoff_option() {
  static const AlgorithmOption o = AlgorithmOption::make<BackoffKind>(
      "backoff", "POLICY",
      "wait after a failed try_lock (--lock spin) or CAS: none | constant (min) | linear "
      "(k * min) | exponential (min * 2^(k-1)), capped at max",
      BackoffKind::kNone,
      [](std::string_view text) { return parse_name(kBackoffKinds, "backoff", text); },
      [](const BackoffKind& k) { return nlohmann::json(std::string(name_of(kBackoffKinds, k))); });
  return o;
}

const AlgorithmOption& backoff_min_option() {
  static const AlgorithmOption o =
      nanoseconds_option("backoff-min", "first (and constant) backoff wait in nanoseconds", 256);
  return o;
}

const AlgorithmOption& backoff_max_option() {
  static const AlgorithmOption o =
      nanoseconds_option("backoff-max", "longest backoff wait in nanoseconds (at most 1e9)", 65536);
  return o;
}

const AlgorithmOption& backoff_jitter_option() {
  static const AlgorithmOption o = AlgorithmOption::make<double>(
      "backoff-jitter", "F",
      "fraction of each backoff wait drawn at random, in [0, 1] (0: exact waits, 1: full jitter)",
      0.5,
      [](std::string_view text) {
        return parse_fraction_option("backoff-jitter", text, 0.0, 1.0, "a number in [0, 1]");
      },
      [](const double& f) { return nlohmann::json(f); });
  return o;
}

const AlgorithmOption& lock_option() {
  static const AlgorithmOption o = AlgorithmOption::make<LockMode>(
      "lock", "MODE",
      "mutex, rwlock: spin (try_lock + --backoff, failures counted) | os (blocking std::mutex / "
      "pthread rwlock)",
      LockMode::kSpin, [](std::string_view text) { return parse_name(kLockModes, "lock", text); },
      [](const LockMode& m) { return nlohmann::json(std::string(lock_mode_name(m))); });
  return o;
}

const AlgorithmOption& rwlock_prefer_option() {
  static const AlgorithmOption o = AlgorithmOption::make<RwPrefer>(
      "rwlock-prefer", "SIDE", "rwlock: which side enters first when both wait: reader | writer",
      RwPrefer::kWriter,
      [](std::string_view text) { return parse_name(kRwPreferences, "rwlock-prefer", text); },
      [](const RwPrefer& p) { return nlohmann::json(std::string(rw_prefer_name(p))); });
  return o;
}

std::vector<const AlgorithmOption*> backoff_options() {
  return {&backoff_option(), &backoff_min_option(), &backoff_max_option(),
          &backoff_jitter_option()};
}

BackoffChoice backoff_choice(const AlgorithmSettings& settings, std::uint64_t seed) {
  const auto min_ns = settings.get<std::int64_t>(backoff_min_option());
  const auto max_ns = settings.get<std::int64_t>(backoff_max_option());
  if (max_ns < min_ns) {
    throw ConfigError("--backoff-max (" + std::to_string(max_ns) + " ns) is below --backoff-min (" +
                      std::to_string(min_ns) + " ns)");
  }
  if (max_ns > kMaxBackoffNs) {
    throw ConfigError("--backoff-max must be at most 1e9 ns (1 s): a longer wait is a hang");
  }
  BackoffChoice c;
  c.kind = settings.get<BackoffKind>(backoff_option());
  c.params = BackoffParams{static_cast<std::uint64_t>(min_ns), static_cast<std::uint64_t>(max_ns),
                           settings.get<double>(backoff_jitter_option()), seed};
  return c;
}

void require_spin_lock_for_backoff(LockMode lock, BackoffKind backoff) {
  if (lock == LockMode::kOs && backoff != BackoffKind::kNone) {
    throw ConfigError("--backoff " + std::string(name_of(kBackoffKinds, backoff)) +
                      " needs --lock spin: an OS lock blocks in the kernel until it is free, so it "
                      "has no failed attempt to back off after");
  }
}

}  // namespace psgd
