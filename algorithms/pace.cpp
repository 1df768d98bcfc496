// algorithms/pace.cpp — the parsers and waits of --slowdown, --delay, --comm-delay and
// --step-decay.
//
// Limits: a factor above 1000 or a delay above 10 s is a typo on any run this harness makes, and
// would turn a run into a hang.
#include "algorithms/pace.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

#include "algorithms/algorithm.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

constexpr double kMaxFactor = 1000.0;
constexpr double kMaxDelayMicros = 1e7;

double waited_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

std::string DelaySpec::text() const {
  switch (kind) {
    case Kind::kFixed:
      return "fixed:" + number_text(micros);
    case Kind::kExponential:
      return "exp:" + number_text(micros);
    case Kind::kNone:
      break;
  }
  return "none";
}

double PaceConfig::factor_of(int worker) const noexcept {
  for (const auto& [w, f] : slowdown) {
    if (w == worker) return f;
  }
  return 1.0;
}

std::vector<std::pair<int, double>> parse_slowdown(std::string_view text) {
  constexpr std::string_view kWant =
      "none or W:FACTOR,... (worker W >= 0, each once; FACTOR in "
      "[1, 1000])";
  std::vector<std::pair<int, double>> out;
  if (text == "none") return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) bad_option_value("slowdown", text, kWant);
    double factor = 0.0;
    std::int64_t worker = 0;
    try {
      worker = parse_int_option("slowdown", item.substr(0, colon), 0, 1 << 20);
      factor = parse_fraction_option("slowdown", item.substr(colon + 1), 1.0, kMaxFactor, kWant);
    } catch (const ConfigError&) {
      bad_option_value("slowdown", text, kWant);
    }
    const bool repeated = std::any_of(
        out.begin(), out.end(), [&](const auto& p) { return p.first == static_cast<int>(worker); });
    if (repeated) bad_option_value("slowdown", text, kWant);
    out.emplace_back(static_cast<int>(worker), factor);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

namespace {

// --delay's and --comm-delay's grammar, errors naming `option`.
DelaySpec parse_delay_spec(std::string_view option, std::string_view text) {
  constexpr std::string_view kWant =
      "none, fixed:US or exp:MEAN_US (microseconds in [0, 1e7]; "
      "an exponential mean > 0)";
  if (text == "none") return {};
  const std::size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  if (colon == std::string_view::npos || (kind != "fixed" && kind != "exp")) {
    bad_option_value(option, text, kWant);
  }
  double micros = 0.0;
  try {
    micros = parse_fraction_option(option, text.substr(colon + 1), 0.0, kMaxDelayMicros, kWant);
  } catch (const ConfigError&) {
    bad_option_value(option, text, kWant);
  }
  if (kind == "exp" && micros <= 0.0) bad_option_value(option, text, kWant);
  return {kind == "fixed" ? DelaySpec::Kind::kFixed : DelaySpec::Kind::kExponential, micros};
}

}  // namespace

DelaySpec parse_delay(std::string_view text) { return parse_delay_spec("delay", text); }
DelaySpec parse_comm_delay(std::string_view text) { return parse_delay_spec("comm-delay", text); }

double parse_step_decay(std::string_view text) {
  double v = std::nan("");
  try {
    v = parse_fraction_option("step-decay", text, 0.0, 1.0, "a fraction in [0, 1)");
  } catch (const ConfigError&) {
    bad_option_value("step-decay", text, "a fraction in [0, 1)");
  }
  if (v >= 1.0) bad_option_value("step-decay", text, "a fraction in [0, 1)");
  return v;
}

std::string slowdown_text(const std::vector<std::pair<int, double>>& slowdown) {
  if (slowdown.empty()) return "none";
  std::string s;
  for (const auto& [w, f] : slowdown) {
    // Piece by piece, not `"," + ...`: GCC 12 warns a false -Wrestrict on that at -O3.
    if (!s.empty()) s += ',';
    s += std::to_string(w);
    s += ':';
    s += number_text(f);
  }
  return s;
}

WorkerPace::WorkerPace(const PaceConfig& config, int worker, std::uint64_t seed,
                       std::int64_t updates_per_epoch, EpochClock* clock, const RunControl* stop)
    : factor_(config.factor_of(worker)),
      delay_spec_(config.delay),
      comm_spec_(config.comm_delay),
      decay_(config.step_decay),
      updates_per_epoch_(std::max<std::int64_t>(updates_per_epoch, 1)),
      clock_(clock),
      stop_(stop),
      rng_(seed),
      comm_rng_(stream_seed(seed, 1)) {}

double WorkerPace::wait(double seconds, bool interruptible) const noexcept {
  if (!(seconds > 0.0)) return 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  const double slice =
      interruptible && interrupt_ != nullptr ? kInterruptPollSeconds : kStopPollSeconds;
  for (double left = seconds; left > 0.0; left = seconds - waited_since(t0)) {
    if (stop_ != nullptr && stop_->should_stop()) break;
    if (interruptible && interrupted()) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, slice)));
  }
  return waited_since(t0);
}

double WorkerPace::draw(const DelaySpec& spec, SplitMix64& rng) noexcept {
  switch (spec.kind) {
    case DelaySpec::Kind::kFixed:
      return spec.micros * 1e-6;
    case DelaySpec::Kind::kExponential: {
      // u in (0, 1]: -log(u) is finite, an Exp(1) draw.
      const double u = static_cast<double>((rng.next() >> 11) + 1) * 0x1.0p-53;
      return -std::log(u) * spec.micros * 1e-6;
    }
    case DelaySpec::Kind::kNone:
      break;
  }
  return 0.0;
}

double WorkerPace::delay() noexcept { return wait(draw(delay_spec_, rng_), true); }

double WorkerPace::exchange() noexcept { return wait(draw(comm_spec_, comm_rng_), false); }

double WorkerPace::stretch(double gradient_seconds) noexcept {
  return wait((factor_ - 1.0) * gradient_seconds, true);
}

double WorkerPace::epoch_factor() noexcept {
  const std::int64_t epoch = clock_->epoch();
  if (epoch == 0) return 0.0;
  if (epoch != factor_epoch_) {
    factor_epoch_ = epoch;
    decay_factor_ = std::pow(1.0 - decay_, static_cast<double>(epoch));
  }
  return decay_factor_;
}

template <class S>
void WorkerPace::scale(std::span<S> grad) noexcept {
  const double factor = epoch_factor();
  if (factor == 0.0) return;
  const auto f = static_cast<S>(factor);
  for (S& g : grad) g *= f;
}

void WorkerPace::decay(std::span<float> grad) noexcept { scale(grad); }
void WorkerPace::decay(std::span<double> grad) noexcept { scale(grad); }

}  // namespace psgd
