// harness/run/run_progress.cpp — the header, the roles and the progress line.
#include "harness/run/run_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace psgd {
namespace {

std::string count(int n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// "3.1 s", "4 min 10 s", "2 h 05 min": an ETA as a person reads it.
std::string duration_text(double seconds) {
  char buf[48];
  if (seconds < 60.0) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600.0) {
    const auto s = static_cast<long long>(seconds);
    std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
  } else {
    const auto m = static_cast<long long>(std::min(seconds, 1e9) / 60.0);
    std::snprintf(buf, sizeof buf, "%lld h %02lld min", m / 60, m % 60);
  }
  return buf;
}

}  // namespace

bool has_roles_text(std::string_view algo) {
  for (const std::string_view known :
       {"seq", "mutex", "rwlock", "hogwild", "hogwild-atomic", "leashed", "sync", "param-server",
        "hybrid", "local-sgd", "async-exchange", "nonblocking", "replicated"}) {
    if (algo == known) return true;
  }
  return false;
}

std::string worker_roles(std::string_view algo, int threads, int first_source) {
  const int n = std::max(threads, 1);
  if (algo == "param-server" || algo == "hybrid") {
    if (n == 1) return "1 thread: the server computes its own gradients";
    const std::string others = count(n - 1, "gradient worker", "gradient workers");
    return first_source >= 1 ? "1 server + " + others
                             : "1 server that also computes gradients + " + others;
  }
  if (algo == "seq") return "1 sequential worker";
  if (algo == "sync") {
    return count(n, "worker", "workers") + " in lockstep, the mean gradient applied each round";
  }
  if (algo == "local-sgd") {
    return count(n, "worker", "workers") + ", each on its own replica, averaged every " +
           "--local-steps";
  }
  if (algo == "async-exchange") {
    return count(n, "worker", "workers") + ", each on its own replica, merged in turn";
  }
  if (algo == "nonblocking") {
    return count(n, "worker", "workers") +
           " in rounds, ended by the first to complete its mini-batches";
  }
  if (algo == "replicated") {
    return count(n, "worker", "workers") + " in replicas (--replicas), each running --inner";
  }
  if (has_roles_text(algo)) {  // mutex, rwlock, hogwild, hogwild-atomic, leashed
    return count(n, "asynchronous worker", "asynchronous workers") +
           (n == 1 ? ", applying its own updates" : ", each applies its own updates");
  }
  return count(n, "worker", "workers");
}

std::string header_line(std::string_view algo, std::string_view model, std::string_view data,
                        std::string_view threads, std::string_view roles, std::string_view batch,
                        std::string_view step) {
  std::string s = "psgd run: " + std::string(algo) + ", " + std::string(model) + " on " +
                  std::string(data) + ", " + std::string(threads) + " thread(s)";
  if (!roles.empty()) s += " (" + std::string(roles) + ")";
  return s + ", batch " + std::string(batch) + ", step " + std::string(step);
}

std::optional<double> fraction_done(const LiveProgress& p, const ProgressBudget& b) {
  std::optional<double> f;
  auto consider = [&](double share) { f = std::max(f.value_or(0.0), std::clamp(share, 0.0, 1.0)); };
  if (b.gradients && *b.gradients > 0) {
    consider(static_cast<double>(p.gradients) / static_cast<double>(*b.gradients));
  }
  if (b.updates && *b.updates > 0) {
    consider(static_cast<double>(p.updates) / static_cast<double>(*b.updates));
  }
  if (b.seconds && *b.seconds > 0.0) consider(p.seconds / *b.seconds);
  return f;
}

std::string progress_line(const LiveProgress& p, const ProgressBudget& b) {
  char buf[192];
  const double epoch = static_cast<double>(p.gradients) /
                       static_cast<double>(std::max<std::int64_t>(1, b.gradients_per_epoch));
  const double rate = p.seconds > 0.0 ? static_cast<double>(p.updates) / p.seconds : 0.0;
  std::string loss = p.loss ? "" : "-";
  if (p.loss) {
    char l[32];
    std::snprintf(l, sizeof l, "%.4f", *p.loss);
    loss = l;
  }
  std::snprintf(buf, sizeof buf, "epoch %.2f  updates %lld  loss %s  %.0f updates/s", epoch,
                static_cast<long long>(p.updates), loss.c_str(), rate);
  std::string s = buf;
  const std::optional<double> f = fraction_done(p, b);
  if (f) {
    std::snprintf(buf, sizeof buf, "  %.0f%%", *f * 100.0);
    s += buf;
    if (*f > 0.0 && *f < 1.0) s += "  ETA " + duration_text(p.seconds * (1.0 - *f) / *f);
  }
  return s;
}

void ProgressPrinter::show(const LiveProgress& p) {
  const std::string text = progress_line(p, budget_);
  if (!terminal_) {
    std::cerr << "  progress: " << text << "\n" << std::flush;
    return;
  }
  // Spaces over what a longer previous line left; '\r' back to its start, no newline.
  const std::size_t pad = shown_width_ > text.size() ? shown_width_ - text.size() : 0;
  std::cerr << "\r  " << text << std::string(pad, ' ') << std::flush;
  shown_width_ = text.size();
}

void ProgressPrinter::note(const std::string& text) {
  finish();
  std::cerr << "  " << text << "\n" << std::flush;
}

void ProgressPrinter::finish() {
  if (!terminal_ || shown_width_ == 0) return;
  std::cerr << "\r" << std::string(shown_width_ + 2, ' ') << "\r" << std::flush;
  shown_width_ = 0;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

bool progress_wanted(bool progress_option) { return progress_option || stderr_is_terminal(); }

}  // namespace psgd
