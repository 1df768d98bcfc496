// write_file_atomically: a termination signal during the write leaves the old file or the new
// one and no PATH.tmp.PID behind.
#include "harness/cli/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include "harness/test/test_support.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;

TEST(AtomicFile, SigtermDuringTheWriteLeavesNoTemporaryFile) {
  const fs::path dir = psgd::test::scratch_dir("atomic");
  const std::string path = (dir / "big.bin").string();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // 64 MiB: long enough to write (and fsync) that the parent sees the temporary file first.
    const std::string big(std::size_t{64} << 20, 'x');
    write_file_atomically(path, big);
    _exit(0);
  }
  const std::string tmp = path + ".tmp." + std::to_string(child);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(tmp) && !fs::exists(path) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_EQ(kill(child, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(fs::exists(tmp)) << "the temporary file was left behind";
  // Held, not ignored: the signal still ended the child, after the rename.
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(fs::file_size(path), std::size_t{64} << 20);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace psgd
