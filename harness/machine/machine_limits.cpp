// harness/machine/machine_limits.cpp — the limits' cache: its key, its file and its checks
// (machine_limits.hpp). The measuring is measure_limits.cpp's.
#include "harness/machine/machine_limits.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// The version of the cache's layout: a file of another format is refused, never half-read.
constexpr const char* kLimitsFormat = "psgd machine limits 1";

[[noreturn]] void bad_cache(const std::string& path, const std::string& what) {
  throw EnvironmentError("machine limits " + path + ": " + what +
                         "; measure again with `psgd topo --measure` (it replaces the file)");
}

double positive_rate(const json& block, const char* key, const std::string& path) {
  const auto it = block.is_object() ? block.find(key) : block.end();
  if (!block.is_object() || it == block.end() || !it->is_number() ||
      !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
    bad_cache(path, std::string("`") + key + "` is not a positive number");
  }
  return it->get<double>();
}

std::optional<double> optional_rate(const json& block, const char* key, const std::string& path) {
  if (!block.contains(key) || block[key].is_null()) return std::nullopt;
  return positive_rate(block, key, path);
}

json rate_or_null(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// A text field of the cache, "" when absent; of another type, the cache is bad (json::value()
// would throw nlohmann's own message, which names neither the file nor the remedy).
std::string cached_text(const json& doc, const char* key, const std::string& path) {
  const auto it = doc.find(key);
  if (it == doc.end()) return {};
  if (!it->is_string()) bad_cache(path, std::string("`") + key + "` is not a string");
  return it->get<std::string>();
}

}  // namespace

std::string machine_limits_key(const std::string& cpu_model, int cores) {
  std::string key;
  for (const char ch : cpu_model) {
    const bool plain =
        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    // Runs of other characters (spaces, "(R)", '@') collapse into one '_'.
    if (plain) {
      key += ch;
    } else if (!key.empty() && key.back() != '_') {
      key += '_';
    }
  }
  while (!key.empty() && key.back() == '_') key.pop_back();
  if (key.empty()) key = "unknown";
  return key + "-" + std::to_string(cores) + "cores-" + limits_gemm_kernels();
}

std::vector<detail::GemmKernel> limits_gemm_kernel_list() {
  const detail::GemmKernel builtin = detail::builtin_gemm_kernel();
  const detail::GemmKernel dense = detail::dense_gemm_kernel();
  if (dense == builtin) return {builtin};
  return {builtin, dense};
}

std::string limits_gemm_kernels() {
  std::string kernels;
  for (const detail::GemmKernel kernel : limits_gemm_kernel_list()) {
    if (!kernels.empty()) kernels += '_';
    kernels += detail::gemm_kernel_name(kernel);
  }
  return kernels;
}

std::string machine_limits_path(const std::string& results_dir, const std::string& key) {
  return (std::filesystem::path(results_dir) / "machines" / (key + ".json")).string();
}

std::vector<std::uint64_t> bandwidth_sizes(std::optional<std::uint64_t> llc_bytes) {
  constexpr std::uint64_t kSmallest = 64ULL << 10;
  constexpr std::uint64_t kUnknownLlcReach = 64ULL << 20;
  const std::uint64_t reach = llc_bytes ? 2 * *llc_bytes : kUnknownLlcReach;
  std::vector<std::uint64_t> sizes;
  for (std::uint64_t s = kSmallest;; s *= 4) {
    sizes.push_back(s);
    if (s >= reach) break;
  }
  return sizes;
}

json machine_limits_json(const MachineLimits& m) {
  json points = json::array();
  for (const BandwidthPoint& p : m.bandwidth) {
    points.push_back({{"bytes", p.bytes},
                      {"copy_one_core", p.copy_one_core},
                      {"triad_one_core", p.triad_one_core},
                      {"copy_all_cores", rate_or_null(p.copy_all_cores)},
                      {"triad_all_cores", rate_or_null(p.triad_all_cores)}});
  }
  return {{"format", kLimitsFormat},
          {"key", machine_limits_key(m.cpu_model, m.cores)},
          {"cpu_model", m.cpu_model},
          {"cores", m.cores},
          {"date", m.date},
          {"seconds_per_kernel", m.seconds_per_kernel},
          {"load_average", rate_or_null(m.load_average)},
          {"gemm",
           {{"kernel",
             "float product of square 512 matrices, one thread, on the faster of the build's "
             "GEMM kernels (builtin, and OpenBLAS where the build links it)"},
            {"flops_per_core", m.gemm_flops_per_core}}},
          {"bandwidth", points}};
}

MachineLimits parse_machine_limits(const json& doc, const std::string& path,
                                   const std::string& expected_key) {
  if (!doc.is_object() || cached_text(doc, "format", path) != kLimitsFormat) {
    bad_cache(path, std::string("not a \"") + kLimitsFormat + "\" file");
  }
  MachineLimits m;
  if (!doc.contains("cpu_model") || !doc["cpu_model"].is_string() || !doc.contains("cores") ||
      !doc["cores"].is_number_integer() || doc["cores"].get<std::int64_t>() < 1 ||
      doc["cores"].get<std::int64_t>() > (1 << 20)) {
    bad_cache(path, "`cpu_model` or `cores` is missing or invalid");
  }
  m.cpu_model = doc["cpu_model"].get<std::string>();
  m.cores = static_cast<int>(doc["cores"].get<std::int64_t>());
  if (machine_limits_key(m.cpu_model, m.cores) != expected_key) {
    bad_cache(path, "measured on another machine or GEMM kernel (" +
                        machine_limits_key(m.cpu_model, m.cores) + ", this one is " + expected_key +
                        ")");
  }
  m.date = cached_text(doc, "date", path);
  if (const auto it = doc.find("seconds_per_kernel"); it != doc.end()) {
    if (!it->is_number() || !(it->get<double>() >= 0.0) || !std::isfinite(it->get<double>())) {
      bad_cache(path, "`seconds_per_kernel` is not a number of seconds");
    }
    m.seconds_per_kernel = it->get<double>();
  }
  if (doc.contains("load_average") && doc["load_average"].is_number()) {
    m.load_average = doc["load_average"].get<double>();
  }
  m.gemm_flops_per_core = positive_rate(doc.value("gemm", json::object()), "flops_per_core", path);
  const json points = doc.value("bandwidth", json());
  if (!points.is_array() || points.empty()) bad_cache(path, "`bandwidth` is not a list of sizes");
  for (const json& p : points) {
    BandwidthPoint b;
    // Range-checked before the cast: an array size past 2^50 bytes is no machine's.
    const double bytes = positive_rate(p, "bytes", path);
    if (bytes > 0x1p50) bad_cache(path, "`bytes` " + std::to_string(bytes) + " is out of range");
    b.bytes = static_cast<std::uint64_t>(bytes);
    b.copy_one_core = positive_rate(p, "copy_one_core", path);
    b.triad_one_core = positive_rate(p, "triad_one_core", path);
    b.copy_all_cores = optional_rate(p, "copy_all_cores", path);
    b.triad_all_cores = optional_rate(p, "triad_all_cores", path);
    if (!m.bandwidth.empty() && b.bytes <= m.bandwidth.back().bytes) {
      bad_cache(path, "`bandwidth` sizes are not ascending");
    }
    m.bandwidth.push_back(b);
  }
  return m;
}

std::optional<MachineLimits> load_machine_limits(const std::string& results_dir,
                                                 const std::string& cpu_model, int cores) {
  const std::string key = machine_limits_key(cpu_model, cores);
  const std::string path = machine_limits_path(results_dir, key);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path);
  if (!in) bad_cache(path, "cannot be read");
  const json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) bad_cache(path, "not valid JSON");
  return parse_machine_limits(doc, path, key);
}

const BandwidthPoint& bandwidth_at(const MachineLimits& limits, std::uint64_t bytes) {
  for (const BandwidthPoint& p : limits.bandwidth) {
    if (p.bytes >= bytes) return p;
  }
  return limits.bandwidth.back();
}

}  // namespace psgd
