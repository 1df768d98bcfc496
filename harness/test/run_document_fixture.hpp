// harness/test/run_document_fixture.hpp — synthetic run documents for the tests of comparing
// training runs: the fields `psgd compare` reads, with the values of a point scaled by a chosen
// slowdown, so a test knows exactly what a comparison must find.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace psgd::test {

// One repetition of `point` as a sweep writes it. A slowdown of 1.3 makes the run 30% slower:
// its times to target 1.3x, its throughput 1/1.3x; the training itself (loss, accuracy) is the
// same, as under `--slowdown 0:1.3` with one thread. Repetitions differ by a few percent, so
// the U test has something to rank.
inline nlohmann::json run_document(const std::string& point, int repetition, double slowdown = 1.0,
                                   const std::string& build = "b0") {
  const double jitter = 1.0 + 0.01 * repetition;
  const double seconds = 0.05 * jitter * slowdown;
  return {{"schema_version", 2},
          {"status", "converged"},
          {"config", {{"algo", "seq"}, {"threads", 1}}},
          {"context",
           {{"cpu", "Test CPU"},
            {"hardware_threads", 2},
            {"git_sha", "0123456789abcdef"},
            {"git_dirty", false},
            {"date", "2026-12-06T06:00:0" + std::to_string(repetition) + "Z"}}},
          {"metrics",
           {{"time_to_epsilon", {{"50%", seconds}, {"20%", nullptr}}},
            {"time_to_accuracy", nlohmann::json::object()},
            {"final_train_loss", 0.5 + 0.001 * repetition},
            {"final_test_accuracy", 0.8 - 0.001 * repetition}}},
          {"throughput", {{"samples_per_second", 100000.0 / (jitter * slowdown)}}},
          {"sweep",
           {{"point_id", point},
            {"run_id", point + "__r" + std::to_string(repetition) + "-abcdef"},
            {"repetition", repetition},
            {"build_id", build}}}};
}

// Writes `points` x `repetitions` run documents into `folder` (made if missing), as a sweep's
// results folder holds them, plus a sweep.json that is not a run document.
inline void write_sweep_folder(const std::filesystem::path& folder, std::size_t points,
                               int repetitions, double slowdown, const std::string& build) {
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "sweep.json") << nlohmann::json{{"sweep", "fixture"}}.dump();
  for (std::size_t p = 0; p < points; ++p) {
    const std::string point = "threads-" + std::to_string(p + 1);
    for (int r = 0; r < repetitions; ++r) {
      const nlohmann::json doc = run_document(point, r, slowdown, build);
      std::ofstream(folder / (doc["sweep"]["run_id"].get<std::string>() + ".json")) << doc.dump(1);
    }
  }
}

}  // namespace psgd::test
