// The small sweep spec the sweep unit tests expand: 2 threads x 3 batches x 2 repetitions, with
// a quick and a full scale.
#pragma once

#include <nlohmann/json.hpp>

namespace psgd {

inline nlohmann::ordered_json minimal_spec() {
  return nlohmann::ordered_json::parse(R"({
    "name": "tiny",
    "base": {"dataset": "synthetic-dense:256x4x2", "model": "linear", "updates": 20},
    "axes": {"threads": [1, 2], "batch": [8, 16, 32]},
    "repetitions": 2,
    "timeout_seconds": 30,
    "scales": {
      "quick": {"axes": {"batch": [8]}, "repetitions": 1},
      "full": {"base": {"updates": 200, "model": null}, "axes": {"threads": [1, 2, 4]}, "seed_base": 100}
    }
  })");
}

}  // namespace psgd
