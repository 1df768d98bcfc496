// common/cpu_model.hpp — the CPU's model name, which every result records so that timings from
// different processors are never compared by accident (`psgd compare` refuses them).
#pragma once

#include <fstream>
#include <string>

namespace psgd {

// The first "model name" line of /proc/cpuinfo ("Intel(R) Xeon(R) Processor"), or "unknown"
// where there is none (non-x86 kernels name it differently). Reads a file; thread-safe.
inline std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? std::string("unknown") : line.substr(start);
  }
  return "unknown";
}

}  // namespace psgd
