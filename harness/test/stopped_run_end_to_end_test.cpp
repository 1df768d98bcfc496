// End-to-end tests of a run that talks and can be stopped: the real binary, sent SIGINT or
// SIGTERM mid-run, exits 130 or 143 with a valid document of status `stopped` whose counts add
// up; --progress writes plain progress lines to a stderr that is no terminal, and without it
// nothing but the header comes before the summary.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A budget no test waits for: 1024 / 16 = 64 updates per epoch, 10^7 epochs.
const std::vector<std::string> kLongRun = {"run",      "--dataset", "synthetic-dense:1024x16x4",
                                           "--model",  "linear",    "--batch",
                                           "16",       "--step",    "0.05",
                                           "--epochs", "1e7",       "--checkpoints",
                                           "1"};

struct Stopped {
  int exit_code = -1;  // -1: did not exit by itself within the limit (then killed)
  std::string err;
  json doc;
};

// Starts psgd with `args` (stderr to a file, the document to --out), waits until stderr holds
// `ready` (the header or a progress line: training is under way), sends `signal`, and waits for
// the exit. Every wait is bounded; a child still there at the end is killed.
Stopped run_and_signal(std::vector<std::string> args, const std::string& ready, int signal) {
  const fs::path dir = test::scratch_dir("stopped_run_" + std::to_string(signal));
  const fs::path err = dir / ("stderr." + std::to_string(signal));
  const fs::path out = dir / ("run." + std::to_string(signal) + ".json");
  fs::remove(out);
  args.insert(args.end(), {"--out", out.string()});
  std::vector<char*> argv;
  std::string binary = PSGD_BINARY;
  argv.push_back(binary.data());
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Stopped s;
  const Clock::time_point limit = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < limit && test::slurp(err).find(ready) == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A little training after the header, so there is something measured to keep.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, signal);
  int status = 0;
  while (Clock::now() < limit && ::waitpid(pid, &status, WNOHANG) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    s.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.exit_code = 128 + WTERMSIG(status);
  }
  s.err = test::slurp(err);
  const std::string text = test::slurp(out);
  if (json::accept(text)) s.doc = json::parse(text);
  return s;
}

// The counts of a stopped run's document agree with each other: every computed gradient is
// contributed or lost, the updates applied are the last snapshot's, fewer than the budget.
void expect_consistent_counts(const json& doc) {
  const json& w = doc["work"];
  EXPECT_GT(w["gradients"].get<std::int64_t>(), 0) << w;
  EXPECT_EQ(w["gradients"].get<std::int64_t>(),
            w["contributed"].get<std::int64_t>() + w["lost"]["total"].get<std::int64_t>())
      << w;
  const std::int64_t applied = doc["updates"]["applied"];
  EXPECT_GT(applied, 0);
  EXPECT_LT(applied, doc["updates"]["budget"].get<std::int64_t>());
  ASSERT_FALSE(doc["series"].empty());
  EXPECT_EQ(doc["series"][0]["updates"], 0);
  EXPECT_EQ(doc["series"].back()["updates"], applied);
  EXPECT_EQ(doc["staleness"]["count"], applied);
}

TEST(StoppedRunEndToEnd, SigintStopsTheWorkersAndKeepsAValidDocument) {
  std::vector<std::string> args = kLongRun;
  args.insert(args.end(),
              {"--algo", "leashed", "--threads", "2", "--placement", "none", "--progress"});
  const Stopped s = run_and_signal(args, "progress: ", SIGINT);
  ASSERT_EQ(s.exit_code, 130) << s.err;
  ASSERT_TRUE(s.doc.is_object()) << "no valid document\n" << s.err;
  EXPECT_EQ(s.doc["status"], "stopped");
  EXPECT_EQ(s.doc["stop_reason"], "signal");
  EXPECT_EQ(s.doc["stopped"],
            json::parse(R"({"signal": "SIGINT", "exit_code": 130, "during": "training"})"));
  EXPECT_EQ(s.doc["algorithm"]["roles"], "2 asynchronous workers, each applies its own updates");
  expect_consistent_counts(s.doc);
  EXPECT_NE(s.err.find("  stopped     by SIGINT during training (exit 130)"), std::string::npos)
      << s.err;
  // --progress into a file: plain lines (no carriage return), each with every field.
  EXPECT_EQ(s.err.find('\r'), std::string::npos) << s.err;
  const std::regex line(
      R"(  progress: epoch [0-9]+\.[0-9]{2}  updates [0-9]+  loss ([0-9]+\.[0-9]{4}|-)  [0-9]+ updates/s  [0-9]+%  ETA [^\n]+\n)");
  EXPECT_TRUE(std::regex_search(s.err, line)) << s.err;
  EXPECT_NE(s.err.find("training done ("), std::string::npos) << s.err;
}

TEST(StoppedRunEndToEnd, SigtermStopsItAsWellWithExit143AndNoProgressLines) {
  // Without --progress and with stderr no terminal: the header, then the summary, nothing else.
  const Stopped s = run_and_signal(kLongRun, "psgd run: seq, linear", SIGTERM);
  ASSERT_EQ(s.exit_code, 143) << s.err;
  ASSERT_TRUE(s.doc.is_object()) << "no valid document\n" << s.err;
  EXPECT_EQ(s.doc["status"], "stopped");
  EXPECT_EQ(s.doc["stopped"]["signal"], "SIGTERM");
  EXPECT_EQ(s.doc["stopped"]["exit_code"], 143);
  expect_consistent_counts(s.doc);
  EXPECT_EQ(s.err.find("progress:"), std::string::npos) << s.err;
  EXPECT_EQ(s.err.find("training done"), std::string::npos) << s.err;
  EXPECT_EQ(s.err.rfind("psgd run: seq, linear on synthetic-dense", 0), 0U) << s.err;
}

}  // namespace
}  // namespace psgd
