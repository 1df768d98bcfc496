// algorithms/test/param_server_support.hpp — what the parameter-server tests share: K schedules,
// a server of the shared-memory transport, and the runner options of a small run.
#pragma once

#include <cstdint>
#include <memory>

#include "algorithms/param_server.hpp"
#include "algorithms/test/test_support.hpp"

namespace psgd::testing {

inline KSchedule fixed_k(int k0) { return KSchedule{k0, 0, KShape::kLinear}; }

inline KSchedule growing_k(int k0, std::int64_t interval, KShape shape) {
  return KSchedule{k0, interval, shape};
}

inline std::unique_ptr<ParameterServer<>> make_server(const KSchedule& k,
                                                      bool server_trains = false) {
  return std::make_unique<ParameterServer<>>("param-server", k, nlohmann::json::object(),
                                             server_trains);
}

inline RunnerOptions server_options(int threads) { return small_run(threads, 11); }

}  // namespace psgd::testing
