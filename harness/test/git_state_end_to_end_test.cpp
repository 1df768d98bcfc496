// End-to-end tests of the git state a binary carries (cmake/git_state.cmake, run by the
// psgd_git_state target on every build): on a scratch git repository, the generated header
// names the commit and dirty state as they are when the build runs, and is left untouched when
// they have not changed, so an unchanged tree recompiles nothing. And the binary reports the
// state it was built with, in `psgd --version` and in a run's context.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class GitStateEndToEnd : public test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    repo_ = scratch_ / "repo";
    header_ = scratch_ / "psgd_git_state.hpp";
    fs::create_directories(repo_);
    std::ofstream(repo_ / "a.txt") << "one\n";
    git("init -q && git -C '" + repo_.string() + "' add a.txt && git -C '" + repo_.string() +
        "' -c user.name=t -c user.email=t@t commit -q -m one");
  }

  void git(const std::string& args) const {
    const test::ProcessResult r = test::run_shell("git -C '" + repo_.string() + "' " + args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
  }

  std::string head() const {
    std::string sha = test::run_shell("git -C '" + repo_.string() + "' rev-parse HEAD").out;
    while (!sha.empty() && sha.back() == '\n') sha.pop_back();
    return sha;
  }

  // Runs the build step; returns the header it left.
  std::string generate() const {
    const test::ProcessResult r = test::run_shell(
        std::string(PSGD_CMAKE_COMMAND) + " -DSOURCE_DIR='" + repo_.string() + "' -DOUTPUT='" +
        header_.string() + "' -P '" + PSGD_SOURCE_DIR + "/cmake/git_state.cmake'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::slurp(header_);
  }

  fs::path repo_;
  fs::path header_;
};

TEST_F(GitStateEndToEnd, TheHeaderFollowsTheTreeAndIsRewrittenOnlyWhenItChanges) {
  std::string text = generate();
  EXPECT_THAT(text, HasSubstr("#define PSGD_GIT_SHA \"" + head() + "\""));
  EXPECT_THAT(text, HasSubstr("#define PSGD_GIT_DIRTY 0"));
  // Unchanged: the file is not rewritten (its time stays, set here into the past).
  const fs::file_time_type past = fs::last_write_time(header_) - std::chrono::hours(1);
  fs::last_write_time(header_, past);
  EXPECT_EQ(generate(), text);
  EXPECT_EQ(fs::last_write_time(header_), past);
  // An untracked file changes nothing compiled; an edit to a tracked one dirties the tree.
  std::ofstream(repo_ / "scratch.txt") << "x\n";
  EXPECT_THAT(generate(), HasSubstr("#define PSGD_GIT_DIRTY 0"));
  std::ofstream(repo_ / "a.txt") << "two\n";
  text = generate();
  EXPECT_THAT(text, HasSubstr("#define PSGD_GIT_DIRTY 1"));
  EXPECT_NE(fs::last_write_time(header_), past);
  // A commit after the build step: the next build records it, clean.
  const std::string before = head();
  git("-c user.name=t -c user.email=t@t commit -q -am two");
  ASSERT_NE(head(), before);
  text = generate();
  EXPECT_THAT(text, HasSubstr("#define PSGD_GIT_SHA \"" + head() + "\""));
  EXPECT_THAT(text, HasSubstr("#define PSGD_GIT_DIRTY 0"));
  // Not a git checkout (a tarball): no SHA.
  fs::remove_all(repo_ / ".git");
  EXPECT_THAT(generate(), HasSubstr("#define PSGD_GIT_SHA \"\""));
}

TEST_F(GitStateEndToEnd, TheBinaryReportsTheStateItWasBuiltWith) {
  // The header of this very build, as cmake/git_state.cmake left it.
  const std::string header =
      test::slurp(fs::path(PSGD_BINARY).parent_path() / "generated" / "psgd_git_state.hpp");
  ASSERT_THAT(header, HasSubstr("PSGD_GIT_SHA"));
  const std::size_t start = header.find("PSGD_GIT_SHA \"") + 14;
  const std::string sha = header.substr(start, header.find('"', start) - start);
  const bool dirty = header.find("PSGD_GIT_DIRTY 1") != std::string::npos;
  const test::ProcessResult version = test::run_psgd("--version");
  ASSERT_EQ(version.exit_code, 0) << version.err;
  if (sha.empty()) {
    EXPECT_THAT(version.out, HasSubstr("source:    not built from a git checkout"));
    return;
  }
  EXPECT_THAT(version.out,
              HasSubstr("source:    " + sha +
                        (dirty ? " (dirty: uncommitted changes at build time)" : "") + " at "));
  const test::ProcessResult run =
      test::run_psgd("run --dataset synthetic-dense:256x4x2 --model linear --updates 8");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["context"]["git_sha"], sha);
  EXPECT_EQ(doc["context"]["git_dirty"], dirty);
}

}  // namespace
}  // namespace psgd
