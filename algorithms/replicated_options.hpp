// algorithms/replicated_options.hpp — the options of `replicated` (replicated.hpp): --inner,
// --replicas, --exchange, --exchange-every, --ring-mix. Its entry also accepts every option of
// the inner methods (--lock, --backoff, --persistence, ...); one set away from its default that
// the chosen inner method does not take is refused like any other ("--persistence applies to:
// leashed (not --inner mutex)").
#pragma once

#include <array>
#include <string_view>

#include "algorithms/algorithm_options.hpp"
#include "algorithms/replicated.hpp"

namespace psgd {

// The inner methods a replica may run: the study's four (the ones that offer their parameters
// between segments, BasicAlgorithm::quiescent_params).
inline constexpr std::array<std::string_view, 4> kReplicaInnerMethods = {"mutex", "rwlock",
                                                                         "hogwild", "leashed"};

const AlgorithmOption& inner_option();
const AlgorithmOption& replicas_option();
const AlgorithmOption& exchange_option();
const AlgorithmOption& exchange_every_option();
const AlgorithmOption& ring_mix_option();

}  // namespace psgd
