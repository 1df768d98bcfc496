// harness/cli/build_info.cpp — collects the context block. The only file that sees the build's
// compile definitions (set in CMakeLists.txt) and the generated git state header.
#include "harness/cli/build_info.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "models/gemm.hpp"
#include "models/own_gemm.hpp"
#include "psgd_git_state.hpp"  // generated: PSGD_GIT_SHA, PSGD_GIT_DIRTY

// Whether a predefined macro is defined: an undefined name stringifies to itself, a defined one
// to its value (PSGD_STRINGIFY expands its argument first, the # in PSGD_DEFINED does not).
#define PSGD_STRINGIFY(x) #x
#define PSGD_DEFINED(x) (std::string_view(PSGD_STRINGIFY(x)) != std::string_view(#x))

namespace psgd {
namespace {

using nlohmann::json;

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

// "g++ 12.2.0" or "clang 14.0.6": which compiler built this file, and its version.
std::string compiler_text() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#else
  return std::string("g++ ") + __VERSION__;
#endif
}

// The instruction-set extensions a vectorised build may use, each with what the build targets
// (the compiler's predefined macro, set by -march) and what this CPU reports.
struct IsaExtension {
  const char* name;
  bool targeted;
  bool present;
};

std::vector<IsaExtension> isa_extensions() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports takes only string literals, hence one row each.
  return {
      {"sse4.2", PSGD_DEFINED(__SSE4_2__), __builtin_cpu_supports("sse4.2") != 0},
      {"avx", PSGD_DEFINED(__AVX__), __builtin_cpu_supports("avx") != 0},
      {"avx2", PSGD_DEFINED(__AVX2__), __builtin_cpu_supports("avx2") != 0},
      {"fma", PSGD_DEFINED(__FMA__), __builtin_cpu_supports("fma") != 0},
      {"avx512f", PSGD_DEFINED(__AVX512F__), __builtin_cpu_supports("avx512f") != 0},
      {"avx512bw", PSGD_DEFINED(__AVX512BW__), __builtin_cpu_supports("avx512bw") != 0},
      {"avx512vl", PSGD_DEFINED(__AVX512VL__), __builtin_cpu_supports("avx512vl") != 0},
      {"avx512dq", PSGD_DEFINED(__AVX512DQ__), __builtin_cpu_supports("avx512dq") != 0},
  };
#else
  return {};
#endif
}

}  // namespace

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

nlohmann::json run_context() {
  nlohmann::json c;
  c["schema_version"] = kSchemaVersion;
  // The commit and dirty state of the tree this binary was built from, baked in at build time
  // (cmake/git_state.cmake): reading the tree at run time would credit an old binary with
  // whatever is checked out now.
  const std::string_view sha = PSGD_GIT_SHA;
  c["git_sha"] = sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(sha);
  c["git_dirty"] = sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(PSGD_GIT_DIRTY != 0);
  c["compiler"] = compiler_text();
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
  // Which GEMM runs the models' products: Eigen's, psgd's own and OpenBLAS's round differently,
  // and OpenBLAS's own kernel set (chosen at load) does too. Here the build's kernel for the dense
  // models (mlp, linear); a run's document replaces it with its model's own (run_command.cpp).
  c["gemm"] = detail::gemm_kernel_name(detail::dense_gemm_kernel());
  const char* core = detail::openblas_core_name();
  c["openblas_core"] =
      core == nullptr || detail::dense_gemm_kernel() != detail::GemmKernel::kOpenBlas
          ? nlohmann::json(nullptr)
          : nlohmann::json(core);
  return c;
}

std::string version_text() {
  std::string out = std::string("psgd ") + PSGD_VERSION + "\n";
  const json c = run_context();
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  out += "source:    " +
         (c["git_sha"].is_string() ? text(c["git_sha"]) : "not built from a git checkout") +
         (c["git_dirty"] == true ? " (dirty: uncommitted changes at build time)" : "") + " at " +
         PSGD_SOURCE_DIR + "\n";
  out += "compiler:  " + text(c["compiler"]) + "\n";
  out += "build:     " + text(c["build_type"]) +
         (text(c["sanitizer"]).empty() ? "" : ", sanitizer " + text(c["sanitizer"])) + "\n";
  out += "flags:     " + text(c["cxx_flags"]) + "\n";
  out +=
      "gemm:      " + text(c["gemm"]) +
      (c["openblas_core"].is_string() ? " (OpenBLAS core " + text(c["openblas_core"]) + ")" : "") +
      " for mlp and linear, " + detail::gemm_kernel_name(detail::builtin_gemm_kernel()) +
      " for cnn and lenet" +
      (detail::builtin_gemm_kernel() == detail::GemmKernel::kOwn
           ? std::string(" (own: ") + detail::own_gemm_tile() +
                 " tile, float; eigen for double and for products of fewer than " +
                 std::to_string(detail::own_gemm_min_rows()) + " rows)"
           : std::string()) +
      "\n";
  std::string targeted;
  std::string present;
  std::string missing;
  // Appended piecewise: `" " + std::string(name)` trips GCC 12's false -Wrestrict at -O3.
  auto add = [](std::string& list, const char* name) { list.append(" ").append(name); };
  for (const IsaExtension& e : isa_extensions()) {
    if (e.targeted) add(targeted, e.name);
    if (e.present) add(present, e.name);
    if (e.targeted && !e.present) add(missing, e.name);
  }
  out += "targets:  " + (targeted.empty() ? std::string(" baseline x86-64 only") : targeted) + "\n";
  out += "cpu has:  " + (present.empty() ? std::string(" none of them") : present) + " (" +
         text(c["cpu"]) + ")\n";
  if (!missing.empty())
    out += "warning:   this CPU lacks" + missing + ": the binary may die of SIGILL\n";
  return out;
}

}  // namespace psgd
