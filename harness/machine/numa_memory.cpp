// harness/machine/numa_memory.cpp — memory policies through libnuma, and page placement queries.
#include "harness/machine/numa_memory.hpp"

#include <numa.h>
#include <numaif.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "common/errors.hpp"
#include "common/name_table.hpp"

namespace psgd {
namespace {

constexpr NameTable<MemoryPolicyKind, 3> kMemoryPolicyNames{{
    {"local", MemoryPolicyKind::kLocal},
    {"interleave", MemoryPolicyKind::kInterleave},
    {"bind", MemoryPolicyKind::kBind},  // takes ":NODE"
}};
constexpr std::string_view kBindPrefix = "bind:";

struct NodemaskDeleter {
  void operator()(bitmask* mask) const noexcept { numa_bitmask_free(mask); }
};
using Nodemask = std::unique_ptr<bitmask, NodemaskDeleter>;

// A libnuma nodemask sized for this kernel (what mbind/set_mempolicy expect). Call only when
// numa_available() >= 0.
Nodemask make_nodemask(const std::vector<int>& nodes) {
  Nodemask mask(numa_allocate_nodemask());
  if (!mask) throw std::bad_alloc();
  for (const int node : nodes) numa_bitmask_setbit(mask.get(), static_cast<unsigned>(node));
  return mask;
}

// libnuma's own convention for the maxnode argument of the mempolicy syscalls.
unsigned long maxnode_of(const Nodemask& mask) { return mask->size + 1; }

std::vector<int> policy_nodes(const MemoryPolicy& policy, const NumaSupport& support) {
  return policy.kind == MemoryPolicyKind::kBind ? std::vector<int>{policy.node} : support.nodes;
}

std::size_t page_bytes() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<std::size_t>(page) : 4096;
}

// MAP_FAILED is a C cast in <sys/mman.h>; spell it once, without the warning.
void* const kMapFailed = reinterpret_cast<void*>(std::intptr_t{-1});

}  // namespace

MemoryPolicy parse_memory_policy(std::string_view text) {
  const std::string choices = names_text(kMemoryPolicyNames, MemoryPolicyKind::kBind, "NODE");
  if (text.substr(0, kBindPrefix.size()) == kBindPrefix) {
    const std::string_view digits = text.substr(kBindPrefix.size());
    int node = -1;
    const char* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, node);
    if (digits.empty() || ec != std::errc() || ptr != end || node < 0) {
      bad_option_value("memory", text, choices + " (NODE a NUMA node number, e.g. bind:0)");
    }
    return {MemoryPolicyKind::kBind, node};
  }
  const std::optional<MemoryPolicyKind> kind = find_name(kMemoryPolicyNames, text);
  if (!kind || *kind == MemoryPolicyKind::kBind) {
    bad_option_value("memory", text, choices);
  }
  return {*kind, -1};
}

std::string memory_policy_name(const MemoryPolicy& policy) {
  const std::string name(name_of(kMemoryPolicyNames, policy.kind));
  return policy.kind == MemoryPolicyKind::kBind ? name + ":" + std::to_string(policy.node) : name;
}

NumaSupport numa_support() {
  NumaSupport support;
  // numa_available() must come before any other libnuma call; -1 means the kernel has no
  // NUMA syscalls (get_mempolicy fails), so nothing else in libnuma may be used.
  if (numa_available() < 0) return support;
  support.available = true;
  Nodemask allowed(numa_get_mems_allowed());
  if (!allowed) throw std::bad_alloc();
  for (unsigned long node = 0; node < allowed->size; ++node) {
    if (numa_bitmask_isbitset(allowed.get(), static_cast<unsigned>(node)) != 0) {
      support.nodes.push_back(static_cast<int>(node));
    }
  }
  return support;
}

void check_memory_policy(const MemoryPolicy& policy, const NumaSupport& support) {
  if (policy.kind == MemoryPolicyKind::kLocal) return;
  const std::string name = memory_policy_name(policy);
  if (!support.available) {
    throw EnvironmentError("--memory " + name +
                           " needs NUMA support; libnuma reports none on this machine");
  }
  if (support.nodes.empty()) {
    throw EnvironmentError("--memory " + name + ": libnuma reports no node this process may use");
  }
  if (policy.kind == MemoryPolicyKind::kBind &&
      std::find(support.nodes.begin(), support.nodes.end(), policy.node) == support.nodes.end()) {
    std::string nodes;
    for (const int n : support.nodes) {
      // Appended piecewise: `"," + std::to_string(n)` trips GCC 12's false -Wrestrict at -O3.
      if (!nodes.empty()) nodes += ',';
      nodes += std::to_string(n);
    }
    throw ConfigError("--memory " + name + ": no NUMA node " + std::to_string(policy.node) +
                      " available here (nodes: " + nodes + ")");
  }
}

NumaBuffer::NumaBuffer(std::size_t bytes, const MemoryPolicy& policy) : policy_(policy) {
  const NumaSupport support = numa_support();
  check_memory_policy(policy, support);
  if (bytes == 0) return;
  const std::size_t page = page_bytes();
  const std::size_t mapped = (bytes + page - 1) / page * page;
  const std::string what = "--memory " + memory_policy_name(policy) + ": ";
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == kMapFailed) {
    throw EnvironmentError(what + "cannot map " + std::to_string(bytes) +
                           " bytes: " + std::strerror(errno));
  }
  data_ = p;
  bytes_ = bytes;
  mapped_ = mapped;
  if (policy.kind != MemoryPolicyKind::kLocal) {
    const Nodemask mask = make_nodemask(policy_nodes(policy, support));
    const int mode = policy.kind == MemoryPolicyKind::kBind ? MPOL_BIND : MPOL_INTERLEAVE;
    if (mbind(p, mapped, mode, mask->maskp, maxnode_of(mask), 0) != 0) {
      const int err = errno;
      release();
      throw EnvironmentError(what + "mbind failed: " + std::strerror(err));
    }
  }
  // Touch every page now, on this thread, so placement is decided here (first touch under
  // `local`, the range's policy otherwise) and the buffer reads as zeros.
  std::memset(p, 0, mapped);
}

NumaBuffer::NumaBuffer(NumaBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      policy_(other.policy_) {}

NumaBuffer& NumaBuffer::operator=(NumaBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    policy_ = other.policy_;
  }
  return *this;
}

NumaBuffer::~NumaBuffer() { release(); }

void NumaBuffer::release() noexcept {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  bytes_ = 0;
  mapped_ = 0;
}

PageNodeSample sample_page_nodes(const void* data, std::size_t bytes, std::size_t max_pages) {
  PageNodeSample sample;
  if (numa_available() < 0) return sample;
  sample.supported = true;
  if (data == nullptr || bytes == 0 || max_pages == 0) return sample;
  const std::size_t page = page_bytes();
  const auto first = reinterpret_cast<std::uintptr_t>(data) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(data) + bytes - 1) / page * page;
  const std::size_t pages = (last - first) / page + 1;
  const std::size_t count = std::min(pages, max_pages);
  std::vector<void*> addresses(count);
  for (std::size_t i = 0; i < count; ++i) {
    addresses[i] = reinterpret_cast<void*>(first + i * pages / count * page);
  }
  std::vector<int> status(count, -1);
  // nodes == nullptr: a query, nothing moves; status[i] is a node or a negative errno.
  if (move_pages(0, count, addresses.data(), nullptr, status.data(), 0) != 0) {
    sample.supported = false;
    return sample;
  }
  sample.pages_sampled = count;
  for (const int s : status) {
    if (s >= 0) {
      ++sample.pages_per_node[s];
    } else {
      ++sample.pages_unknown;
    }
  }
  return sample;
}

void set_thread_memory_policy(const MemoryPolicy& policy) {
  const NumaSupport support = numa_support();
  check_memory_policy(policy, support);
  if (!support.available) return;  // `local` without NUMA: first touch is all there is
  long rc = 0;
  if (policy.kind == MemoryPolicyKind::kLocal) {
    rc = set_mempolicy(MPOL_DEFAULT, nullptr, 0);
  } else {
    const Nodemask mask = make_nodemask(policy_nodes(policy, support));
    const int mode = policy.kind == MemoryPolicyKind::kBind ? MPOL_BIND : MPOL_INTERLEAVE;
    rc = set_mempolicy(mode, mask->maskp, maxnode_of(mask));
  }
  if (rc != 0) {
    throw EnvironmentError("--memory " + memory_policy_name(policy) +
                           ": set_mempolicy failed: " + std::strerror(errno));
  }
}

MemoryPolicy current_thread_memory_policy() {
  if (numa_available() < 0) return {MemoryPolicyKind::kLocal, -1};
  const Nodemask mask = make_nodemask({});
  int mode = 0;
  if (get_mempolicy(&mode, mask->maskp, maxnode_of(mask), nullptr, 0) != 0) {
    throw EnvironmentError(std::string("get_mempolicy failed: ") + std::strerror(errno));
  }
  // The kernel ORs mode flags (MPOL_F_STATIC_NODES, ...) into the high bits; modes are < 256.
  mode &= 0xff;
  std::vector<int> nodes;
  for (unsigned long node = 0; node < mask->size; ++node) {
    if (numa_bitmask_isbitset(mask.get(), static_cast<unsigned>(node)) != 0) {
      nodes.push_back(static_cast<int>(node));
    }
  }
  constexpr int kMpolLocal = 4;  // MPOL_LOCAL, not named by every numaif.h
  if (mode == MPOL_DEFAULT || mode == kMpolLocal || (mode == MPOL_PREFERRED && nodes.empty())) {
    return {MemoryPolicyKind::kLocal, -1};
  }
  if (mode == MPOL_INTERLEAVE) return {MemoryPolicyKind::kInterleave, -1};
  if (mode == MPOL_BIND && nodes.size() == 1) return {MemoryPolicyKind::kBind, nodes.front()};
  throw EnvironmentError("the thread's memory policy (mode " + std::to_string(mode) + ", " +
                         std::to_string(nodes.size()) +
                         " nodes) is not one psgd sets (local, interleave, bind:NODE)");
}

void to_json(nlohmann::json& j, const PageNodeSample& sample) {
  nlohmann::json per_node = nlohmann::json::object();
  for (const auto& [node, pages] : sample.pages_per_node) per_node[std::to_string(node)] = pages;
  j = nlohmann::json{{"supported", sample.supported},
                     {"pages_sampled", sample.pages_sampled},
                     {"per_node", std::move(per_node)},
                     {"unknown", sample.pages_unknown}};
}

void to_json(nlohmann::json& j, const NumaSupport& support) {
  j = nlohmann::json{{"available", support.available}, {"nodes", support.nodes}};
}

nlohmann::json memory_to_json(const MemoryPolicy& policy, const NumaSupport& support,
                              const PageNodeSample* shared_params) {
  return nlohmann::json{{"policy", memory_policy_name(policy)},
                        {"numa", support},
                        {"observed", shared_params != nullptr ? nlohmann::json(*shared_params)
                                                              : nlohmann::json(nullptr)}};
}

}  // namespace psgd
