// A sweep's child process: exit codes, signals, timeouts that kill its whole process group.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

TEST(SweepChildProcess, ReportsExitCodesSignalsAndTimeouts) {
  const std::string err = ::testing::TempDir() + "sweep_child.stderr";
  auto run = [&](const std::string& script, double timeout) {
    ChildProcess child({"/bin/sh", "-c", script}, err, timeout);
    for (;;) {
      if (const auto out = child.poll()) return *out;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  ChildOutcome o = run("echo to-stderr >&2; exit 3", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(read_tail(err), "to-stderr\n");

  o = run("kill -ABRT $$", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kSignaled);
  EXPECT_EQ(o.signal, SIGABRT);

  const auto t0 = std::chrono::steady_clock::now();
  o = run("sleep 30", 0.2);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kTimedOut);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);

  o = run("exit 0", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_EQ(o.exit_code, 0);

  o = run("exec /nonexistent/binary", 10);
  EXPECT_EQ(o.kind, ChildOutcome::Kind::kExited);
  EXPECT_NE(o.exit_code, 0);
}

TEST(SweepChildProcess, TimeoutKillsTheWholeProcessGroup) {
  const std::string err = ::testing::TempDir() + "sweep_child_group.stderr";
  const std::string pid_file = ::testing::TempDir() + "sweep_grandchild.pid";
  std::filesystem::remove(pid_file);
  ChildProcess child({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, err, 0.3);
  std::optional<ChildOutcome> o;
  while (!(o = child.poll())) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(o->kind, ChildOutcome::Kind::kTimedOut);
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  ASSERT_GT(grandchild, 0);
  // The grandchild was in the child's group: it is gone (or a zombie of init, briefly).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string content;
    std::getline(stat, content);
    gone = !stat || content.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace psgd
