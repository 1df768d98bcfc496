// The results folder: its lock, partial files removed, only whole documents that name their run
// count; the tail of a child's stderr as valid UTF-8.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/errors.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(SweepResults, TailIsTheLastWholeLinesAsValidUtf8) {
  const std::string path = ::testing::TempDir() + "sweep_tail.txt";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "line " << i << "\n";
    out << "bad \xff byte\n";
  }
  const std::string tail = read_tail(path, 100);
  EXPECT_LE(tail.size(), 100u);
  EXPECT_EQ(tail.rfind("line ", 0), 0u) << tail;  // starts at a whole line
  EXPECT_THAT(tail, HasSubstr("line 999\nbad ? byte\n"));
  EXPECT_NO_THROW((void)json(tail).dump());
  EXPECT_EQ(read_tail("/nonexistent/file"), "");
}

TEST(SweepResults, PartialsAreRemovedAndOnlyWholeDocumentsCount) {
  const std::string dir = ::testing::TempDir() + "sweep_results_dir";
  std::filesystem::remove_all(dir);
  ResultsDir results(dir);
  results.create_and_lock();
  std::ofstream(results.final_path("a"))
      << R"({"schema_version": 2, "status": "converged", "sweep": {"run_id": "a"}})";
  std::ofstream(results.final_path("f")) << R"({"status": "converged"})";  // hand-made
  std::ofstream(results.final_path("g"))
      << R"({"schema_version": 2, "status": "converged", "sweep": {"run_id": "a"}})";
  std::ofstream(results.final_path("b")) << R"({"status": )";
  std::ofstream(results.final_path("c")) << R"({"no_status": 1})";
  std::ofstream(results.part_path("d")) << "{";
  std::ofstream(results.stderr_path("d")) << "x";
  std::ofstream(results.final_path("e") + ".tmp.123") << "{";
  EXPECT_TRUE(results.load_complete("a").has_value());
  EXPECT_FALSE(results.load_complete("b").has_value());
  EXPECT_FALSE(results.load_complete("c").has_value());
  EXPECT_FALSE(results.load_complete("d").has_value());
  EXPECT_FALSE(results.load_complete("f").has_value());  // no identity, no schema
  EXPECT_FALSE(results.load_complete("g").has_value());  // another run's document
  EXPECT_EQ(results.remove_partials().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(results.part_path("d")));
  EXPECT_TRUE(std::filesystem::exists(results.final_path("a")));

  ResultsDir second(dir);
  EXPECT_THROW(second.create_and_lock(), EnvironmentError);  // one sweep per folder
}

}  // namespace
}  // namespace psgd
