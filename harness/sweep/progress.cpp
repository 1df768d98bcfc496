// harness/sweep/progress.cpp — progress lines and the ETA.
#include "harness/sweep/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace psgd {
namespace {

// The order statuses are listed in: finished outcomes first, the sweep's own last.
constexpr const char* kStatusOrder[] = {"converged", "not_converged", "diverged", "stopped",
                                        "error",     "invalid",       "crashed"};

std::size_t terminal_columns(std::FILE* out) {
  winsize w{};
  if (ioctl(fileno(out), TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 100;
}

}  // namespace

SweepProgress::SweepProgress(std::string sweep, std::size_t total, int jobs, bool live,
                             std::FILE* out)
    : sweep_(std::move(sweep)),
      total_(total),
      jobs_(std::max(1, jobs)),
      live_(live),
      out_(out),
      start_(std::chrono::steady_clock::now()) {}

std::string SweepProgress::duration_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

std::string SweepProgress::counts_text() const {
  std::string s;
  for (const char* status : kStatusOrder) {
    const auto it = status_counts_.find(status);
    if (it != status_counts_.end())
      s += (s.empty() ? "" : ", ") + std::to_string(it->second) + " " + status;
  }
  for (const auto& [status, n] : status_counts_) {
    const std::string& name = status;  // a lambda may not capture a structured binding (clang 14)
    if (std::find_if(std::begin(kStatusOrder), std::end(kStatusOrder),
                     [&](const char* k) { return name == k; }) == std::end(kStatusOrder)) {
      s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    }
  }
  return s.empty() ? "none finished" : s;
}

std::string SweepProgress::eta_text(
    const std::vector<std::pair<std::string, double>>& running) const {
  if (finished_ >= total_) return "ETA 0s";
  if (ran_ == 0) return "ETA ?";
  // Every remaining run is assumed to take the mean of the runs finished so far in this session.
  const double mean = ran_seconds_ / static_cast<double>(ran_);
  const std::size_t not_started = total_ - finished_ - running.size();
  double work = static_cast<double>(not_started) * mean;
  for (const auto& [id, elapsed] : running) work += std::max(0.0, mean - elapsed);
  return "ETA " + duration_text(work / static_cast<double>(jobs_));
}

void SweepProgress::skipped(const std::string& status) {
  ++finished_;
  ++status_counts_[status];
}

void SweepProgress::started(const std::string& run_id) {
  ++started_;
  if (!live_) {
    clear_live();
    std::fprintf(out_, "psgd sweep %s: [%zu/%zu] running %s\n", sweep_.c_str(), finished_ + 1,
                 total_, run_id.c_str());
    std::fflush(out_);
  }
}

void SweepProgress::finished(const std::string& run_id, const std::string& status, double seconds) {
  ++finished_;
  ++ran_;
  ran_seconds_ += seconds;
  ++status_counts_[status];
  clear_live();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(out_, "psgd sweep %s: [%zu/%zu] %s %s in %s | %s | elapsed %s | %s\n",
               sweep_.c_str(), finished_, total_, run_id.c_str(), status.c_str(),
               duration_text(seconds).c_str(), counts_text().c_str(),
               duration_text(elapsed).c_str(), eta_text({}).c_str());
  std::fflush(out_);
}

void SweepProgress::tick(const std::vector<std::pair<std::string, double>>& running) {
  if (!live_) return;
  std::string current;
  for (const auto& [id, seconds] : running) {
    current += (current.empty() ? "" : ", ") + id + " " + duration_text(seconds);
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  draw("psgd sweep " + sweep_ + ": " + std::to_string(finished_) + "/" + std::to_string(total_) +
       " (" + counts_text() + ") | " + (current.empty() ? "idle" : current) + " | elapsed " +
       duration_text(elapsed) + " | " + eta_text(running));
}

void SweepProgress::message(const std::string& line) {
  clear_live();
  std::fprintf(out_, "psgd sweep: %s\n", line.c_str());
  std::fflush(out_);
}

void SweepProgress::summary() {
  clear_live();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(out_, "psgd sweep %s: %zu/%zu runs finished (%s); %zu of them run now, in %s\n",
               sweep_.c_str(), finished_, total_, counts_text().c_str(), ran_,
               duration_text(elapsed).c_str());
  std::fflush(out_);
}

void SweepProgress::draw(const std::string& line) {
  // One character short of the width: writing the last column makes some terminals wrap.
  const std::size_t width = terminal_columns(out_) - 1;
  const std::string shown = line.size() > width ? line.substr(0, width) : line;
  std::fprintf(out_, "\r\033[K%s", shown.c_str());
  std::fflush(out_);
  live_drawn_ = true;
}

void SweepProgress::clear_live() {
  if (!live_drawn_) return;
  std::fprintf(out_, "\r\033[K");
  live_drawn_ = false;
}

}  // namespace psgd
