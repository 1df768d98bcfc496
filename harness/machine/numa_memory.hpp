// harness/machine/numa_memory.hpp — where memory lives: `--memory local|interleave|bind:NODE`.
//
// The shared parameters are allocated by Algorithm::init() on the main thread while the run's
// policy is set on it (set_thread_memory_policy() in harness/run/run_command.cpp); the unused
// NumaBuffer below is the alternative of allocating under a policy explicitly. Each worker,
// after pinning, resets its own policy to local, so every buffer it allocates afterwards (its
// local copy, gradient, batch) is first-touched on the worker's own node. sample_page_nodes() asks
// the kernel (move_pages) where pages really are, for the JSON and for tests.
//
// Policies:
//   local       first touch: a page lives on the node of the thread that first writes it.
//               Works everywhere, also where libnuma reports no NUMA support.
//   interleave  pages round-robin over every node this process may allocate on (MPOL_INTERLEAVE).
//   bind:N      pages only on node N (MPOL_BIND, strict like `numactl --membind=N`: when the
//               node is full the allocation fails instead of silently spilling).
// interleave and bind need NUMA support (a kernel with the NUMA syscalls; one node is enough).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace psgd {

enum class MemoryPolicyKind { kLocal, kInterleave, kBind };

struct MemoryPolicy {
  MemoryPolicyKind kind = MemoryPolicyKind::kLocal;
  int node = -1;  // OS index of the NUMA node; kBind only

  friend bool operator==(const MemoryPolicy&, const MemoryPolicy&) = default;
};

// "local", "interleave", "bind:N". Throws ConfigError "--memory must be local, interleave or
// bind:NODE, got 'x'". Whether node N exists is checked by check_memory_policy.
MemoryPolicy parse_memory_policy(std::string_view text);
// The inverse: "local", "interleave", "bind:1".
std::string memory_policy_name(const MemoryPolicy& policy);

// What libnuma reports about this machine.
struct NumaSupport {
  bool available = false;  // numa_available() >= 0
  std::vector<int> nodes;  // nodes this process may allocate on (empty when unavailable)
};

// Queries libnuma once per call (cheap). Thread-safe.
NumaSupport numa_support();

// Throws unless `policy` can be used where `support` holds: EnvironmentError ("--memory
// interleave needs NUMA support; libnuma reports none on this machine") for interleave/bind
// without support, ConfigError for bind to a node not in support.nodes. Pure; exposed so both
// branches are testable on any machine.
void check_memory_policy(const MemoryPolicy& policy, const NumaSupport& support);

// A zero-filled, page-aligned (hence 128-byte aligned) block of memory placed by a policy.
// The constructor maps fresh pages, applies the policy to the range, and writes zeros, so the
// pages are placed by the time it returns: under `local`, on the node of the constructing
// thread. Move-only; frees with munmap. Not thread-safe itself; the memory is the caller's.
class NumaBuffer {
 public:
  NumaBuffer() = default;
  // Throws as check_memory_policy(policy, numa_support()) does, and EnvironmentError if the
  // kernel refuses the mapping or the policy.
  NumaBuffer(std::size_t bytes, const MemoryPolicy& policy);
  NumaBuffer(NumaBuffer&& other) noexcept;
  NumaBuffer& operator=(NumaBuffer&& other) noexcept;
  NumaBuffer(const NumaBuffer&) = delete;
  NumaBuffer& operator=(const NumaBuffer&) = delete;
  ~NumaBuffer();

  // A buffer for `count` values of T (T trivially copyable; zero bytes are its value).
  template <class T>
  static NumaBuffer of(std::size_t count, const MemoryPolicy& policy) {
    static_assert(std::is_trivially_copyable_v<T>);
    return NumaBuffer(count * sizeof(T), policy);
  }

  [[nodiscard]] void* data() noexcept { return data_; }
  [[nodiscard]] const void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size_bytes() const noexcept { return bytes_; }
  [[nodiscard]] const MemoryPolicy& policy() const noexcept { return policy_; }

  // The buffer viewed as whole T values (size_bytes() / sizeof(T) of them).
  template <class T>
  [[nodiscard]] std::span<T> as() noexcept {
    static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= kAlignment);
    return {static_cast<T*>(data_), bytes_ / sizeof(T)};
  }
  template <class T>
  [[nodiscard]] std::span<const T> as() const noexcept {
    static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= kAlignment);
    return {static_cast<const T*>(data_), bytes_ / sizeof(T)};
  }

  // Guaranteed alignment of data(): 128 bytes covers the adjacent-line prefetcher pair on x86
  // (STYLE.md kNoFalseSharing); in fact data() is page-aligned.
  static constexpr std::size_t kAlignment = 128;

 private:
  void release() noexcept;

  void* data_ = nullptr;
  std::size_t bytes_ = 0;   // as requested
  std::size_t mapped_ = 0;  // rounded up to whole pages
  MemoryPolicy policy_;
};

// Where the kernel says sampled pages of [data, data + bytes) live.
struct PageNodeSample {
  bool supported = false;  // false: move_pages is unavailable (no NUMA support)
  std::size_t pages_sampled = 0;
  std::map<int, std::size_t> pages_per_node;  // node -> pages
  std::size_t pages_unknown = 0;              // not yet touched or not resident
};

// Samples up to max_pages pages evenly across the range (all of them if fewer) with a
// move_pages query (nodes = NULL: nothing moves). Thread-safe; does not touch the memory.
PageNodeSample sample_page_nodes(const void* data, std::size_t bytes, std::size_t max_pages = 1024);
inline PageNodeSample sample_page_nodes(const NumaBuffer& buffer, std::size_t max_pages = 1024) {
  return sample_page_nodes(buffer.data(), buffer.size_bytes(), max_pages);
}

// Applies `policy` to the calling thread's future allocations (set_mempolicy): local ->
// MPOL_DEFAULT (first touch), interleave -> MPOL_INTERLEAVE over support.nodes, bind:N ->
// MPOL_BIND to N. Call in a worker right after bind_current_thread(). Throws as
// check_memory_policy(); under `local` without NUMA support it does nothing.
void set_thread_memory_policy(const MemoryPolicy& policy);
// The calling thread's policy as get_mempolicy reports it, mapped back to a MemoryPolicy
// (MPOL_DEFAULT/MPOL_LOCAL/MPOL_PREFERRED-local -> local; always local without NUMA support).
// Throws EnvironmentError for a policy psgd does not set itself (e.g. bind to several nodes).
MemoryPolicy current_thread_memory_policy();

// {"supported": bool, "pages_sampled": n, "per_node": {"0": n, ...}, "unknown": n}
void to_json(nlohmann::json& j, const PageNodeSample& sample);
// {"available": bool, "nodes": [..]}
void to_json(nlohmann::json& j, const NumaSupport& support);
// The run JSON's placement.memory:
// {"policy": "bind:0", "numa": {"available", "nodes"}, "observed": <PageNodeSample>}
// where observed describes every shared allocation of the algorithm, sampled after the run
// (null when no sample is given: a dry run).
nlohmann::json memory_to_json(const MemoryPolicy& policy, const NumaSupport& support,
                              const PageNodeSample* shared_params);

}  // namespace psgd
