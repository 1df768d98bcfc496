// harness/build_info.cpp — collects the context block. The only file that sees the build's
// compile definitions (set in CMakeLists.txt).
#include "harness/build_info.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace psgd {
namespace {

// Output of a shell command with trailing whitespace removed; empty when it fails.
std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 256> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
  if (pclose(pipe) != 0) return {};
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string first_line_with(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    }
  }
  return {};
}

nlohmann::json read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return nullptr;
  return line;
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

}  // namespace

nlohmann::json run_context() {
  nlohmann::json c;
  c["schema_version"] = kSchemaVersion;
  // The source tree this binary was built from, as it is when the run starts.
  const std::string git = std::string("git -C '") + PSGD_SOURCE_DIR + "' ";
  const std::string sha = command_output(git + "rev-parse HEAD 2>/dev/null");
  c["git_sha"] = sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(sha);
  c["git_dirty"] =
      sha.empty() ? nlohmann::json(nullptr)
                  : nlohmann::json(
                        !command_output(git + "status --porcelain --untracked-files=no 2>/dev/null")
                             .empty());
  c["compiler"] = std::string("g++ ") + __VERSION__;
  c["cxx_flags"] = PSGD_BUILD_FLAGS;
  c["build_type"] = PSGD_BUILD_TYPE;
  c["sanitizer"] = PSGD_SANITIZER;
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  c["host"] = host.data();
  c["cpu"] = first_line_with("/proc/cpuinfo", "model name");
  c["hardware_threads"] = std::thread::hardware_concurrency();
  c["governor"] = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  std::array<double, 3> load{};
  if (getloadavg(load.data(), 3) == 3) {
    c["load_avg"] = load;
  } else {
    c["load_avg"] = nullptr;
  }
  c["date"] = utc_now();
  return c;
}

}  // namespace psgd
