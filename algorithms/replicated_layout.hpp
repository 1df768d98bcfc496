// algorithms/replicated_layout.hpp — how `replicated` (replicated.hpp) groups its workers into
// model replicas: the `--replicas` choice and the pure planner from each worker's NUMA node.
//
// DimmWitted's three model replications (Zhang and Ré, VLDB 2014): one model per core
// (`per-core`), per NUMA node (`per-node`) and per machine (`per-machine`), plus `N`: N replicas
// of consecutive workers once they are ordered by node, so that a replica spans as few nodes as
// the count allows. The planner is a pure function of the worker count and the nodes the
// placement planned (harness/machine/placement.hpp), so it is tested on synthetic topologies
// without a NUMA machine.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psgd {

enum class ReplicaKind { kPerCore, kPerNode, kPerMachine, kCount };

// The `--replicas` value: a kind, and N for kCount (>= 1).
struct ReplicaChoice {
  ReplicaKind kind = ReplicaKind::kPerNode;
  std::int64_t count = 0;

  friend bool operator==(const ReplicaChoice&, const ReplicaChoice&) = default;
};

// Parses "per-core", "per-node", "per-machine" or a positive integer. Throws ConfigError
// "--replicas must be per-core, per-node, per-machine or a positive integer N, got 'x'".
ReplicaChoice parse_replica_choice(std::string_view text);
// The inverse: "per-node", "4".
std::string replica_choice_name(const ReplicaChoice& choice);

// One replica of the plan: its workers (ascending run-wide ids) and its node: the NUMA node
// every one of them is planned on, or -1 when they are not pinned or span several nodes.
struct ReplicaPlan {
  int node = -1;
  std::vector<int> workers;

  friend bool operator==(const ReplicaPlan&, const ReplicaPlan&) = default;
};

// The replicas of `threads` workers (>= 1). worker_nodes: each worker's planned node (-1 not
// pinned); empty or shorter than threads: every node unknown. Replicas are ordered by their
// first worker; every worker is in exactly one, none is empty.
//   per-core     one replica per worker.
//   per-node     one per distinct planned node (the unpinned workers form one more); with no
//                pinned worker that is one replica: per-machine.
//   per-machine  one replica of every worker.
//   N            the workers ordered by (node, id), cut into N consecutive runs whose sizes
//                differ by at most one. N > threads is a ConfigError naming both.
std::vector<ReplicaPlan> plan_replicas(const ReplicaChoice& choice, int threads,
                                       std::span<const int> worker_nodes);

}  // namespace psgd
