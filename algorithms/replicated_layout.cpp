// algorithms/replicated_layout.cpp — the `--replicas` parser and the replica planner.
#include "algorithms/replicated_layout.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "common/errors.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

constexpr std::string_view kReplicaChoices =
    "per-core, per-node, per-machine or a positive integer N";

int node_of(std::span<const int> worker_nodes, int worker) {
  const auto w = static_cast<std::size_t>(worker);
  return w < worker_nodes.size() && worker_nodes[w] >= 0 ? worker_nodes[w] : -1;
}

// The node all of `workers` share, or -1.
int common_node(const std::vector<int>& workers, std::span<const int> worker_nodes) {
  const int first = node_of(worker_nodes, workers.front());
  for (const int w : workers) {
    if (node_of(worker_nodes, w) != first) return -1;
  }
  return first;
}

}  // namespace

ReplicaChoice parse_replica_choice(std::string_view text) {
  if (text == "per-core") return {ReplicaKind::kPerCore, 0};
  if (text == "per-node") return {ReplicaKind::kPerNode, 0};
  if (text == "per-machine") return {ReplicaKind::kPerMachine, 0};
  if (text.empty() || text.front() < '0' || text.front() > '9') {
    bad_option_value("replicas", text, kReplicaChoices);
  }
  // Digits: a number, range-checked (at most the most threads a run may have is checked later,
  // against --threads).
  return {ReplicaKind::kCount,
          parse_int_option("replicas", text, 1, std::numeric_limits<int>::max())};
}

std::string replica_choice_name(const ReplicaChoice& choice) {
  switch (choice.kind) {
    case ReplicaKind::kPerCore:
      return "per-core";
    case ReplicaKind::kPerNode:
      return "per-node";
    case ReplicaKind::kPerMachine:
      return "per-machine";
    case ReplicaKind::kCount:
      break;
  }
  return std::to_string(choice.count);
}

std::vector<ReplicaPlan> plan_replicas(const ReplicaChoice& choice, int threads,
                                       std::span<const int> worker_nodes) {
  if (threads < 1) throw ConfigError("--threads must be at least 1 for --algo replicated");
  if (choice.kind == ReplicaKind::kCount && choice.count > threads) {
    throw ConfigError("--replicas " + std::to_string(choice.count) + " exceeds --threads " +
                      std::to_string(threads) + "; valid: " + std::string(kReplicaChoices) +
                      " <= --threads");
  }
  std::vector<std::vector<int>> groups;
  switch (choice.kind) {
    case ReplicaKind::kPerCore:
      for (int w = 0; w < threads; ++w) groups.push_back({w});
      break;
    case ReplicaKind::kPerMachine:
      groups.emplace_back();
      for (int w = 0; w < threads; ++w) groups.back().push_back(w);
      break;
    case ReplicaKind::kPerNode: {
      std::vector<int> nodes;  // in order of first appearance
      for (int w = 0; w < threads; ++w) {
        const int n = node_of(worker_nodes, w);
        const auto it = std::find(nodes.begin(), nodes.end(), n);
        if (it == nodes.end()) {
          nodes.push_back(n);
          groups.push_back({w});
        } else {
          groups[static_cast<std::size_t>(it - nodes.begin())].push_back(w);
        }
      }
      break;
    }
    case ReplicaKind::kCount: {
      std::vector<int> order(static_cast<std::size_t>(threads));
      for (int w = 0; w < threads; ++w) order[static_cast<std::size_t>(w)] = w;
      // By node, then id; an unpinned worker (-1) sorts first, which only matters when some
      // are pinned and some are not (never under one --placement).
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return node_of(worker_nodes, a) < node_of(worker_nodes, b);
      });
      const auto n = static_cast<std::size_t>(choice.count);
      const auto t = static_cast<std::size_t>(threads);
      for (std::size_t r = 0; r < n; ++r) {
        std::vector<int> g(order.begin() + static_cast<std::ptrdiff_t>(t * r / n),
                           order.begin() + static_cast<std::ptrdiff_t>(t * (r + 1) / n));
        std::sort(g.begin(), g.end());
        groups.push_back(std::move(g));
      }
      std::sort(groups.begin(), groups.end(),
                [](const std::vector<int>& a, const std::vector<int>& b) {
                  return a.front() < b.front();
                });
      break;
    }
  }
  std::vector<ReplicaPlan> plan;
  plan.reserve(groups.size());
  for (std::vector<int>& g : groups) {
    const int node = common_node(g, worker_nodes);
    plan.push_back({node, std::move(g)});
  }
  return plan;
}

}  // namespace psgd
