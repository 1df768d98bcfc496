// End-to-end test of `make install` (cmake --install of this build into a scratch PREFIX): the
// binary lands in PREFIX/bin and runs; the Python package plots lands in
// PREFIX/share/psgd/python, without its tests and committed figures, and its loader and figure
// scripts import from there with nothing but PYTHONPATH (run from a folder with no plots/ in
// it); the installed `psgd report` draws with the installed report.py, not the source tree's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kInstallPython = "/usr/bin/python3";

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

class InstallEndToEnd : public test::ScratchDirTest {};

TEST_F(InstallEndToEnd, InstallsTheBinaryAndAnImportablePythonPackage) {
  const fs::path prefix = scratch_ / "prefix";
  const test::ProcessResult install =
      test::run_shell(std::string(PSGD_CMAKE_COMMAND) + " --install " + quoted(PSGD_BENCH_DIR) +
                      " --prefix " + quoted(prefix));
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;

  const fs::path psgd = prefix / "bin" / "psgd";
  const test::ProcessResult version = test::run_shell(quoted(psgd) + " --version");
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_THAT(version.out, StartsWith("psgd "));

  const fs::path python_dir = prefix / "share" / "psgd" / "python";
  const fs::path package = python_dir / "plots";
  for (const char* file :
       {"__init__.py", "psgd_results.py", "missing_modules.py", "threads.py", "param-server.py",
        "report.py", "report.html.j2", "drawing/figure_file.py"}) {
    EXPECT_TRUE(fs::is_regular_file(package / file)) << file;
  }
  EXPECT_FALSE(fs::exists(package / "test"));     // the package's tests stay in the source
  EXPECT_FALSE(fs::exists(package / "figures"));  // and so do the committed figures

  // From the scratch folder, where no plots/ is: only PYTHONPATH finds the package.
  const std::string python = "cd " + quoted(scratch_) + " && PYTHONPATH=" + quoted(python_dir) +
                             " " + kInstallPython + " ";
  const test::ProcessResult loader =
      test::run_shell(python + "-c 'import plots.psgd_results as r; print(r.__file__)'");
  if (loader.exit_code == 2 && loader.err.find("plots need pandas") != std::string::npos) {
    GTEST_SKIP() << kInstallPython << " has no pandas (make plots-deps): " << loader.err;
  }
  ASSERT_EQ(loader.exit_code, 0) << loader.err;
  EXPECT_EQ(loader.out, (package / "psgd_results.py").string() + "\n");

  const test::ProcessResult script = test::run_shell(python + "-m plots.threads --help");
  EXPECT_EQ(script.exit_code, 0) << script.err;
  EXPECT_THAT(script.out, HasSubstr("--results"));

  // The installed binary's `psgd report` uses the installed report.py by default.
  const test::ProcessResult report = test::run_shell(quoted(psgd) + " report --help");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("[" + fs::canonical(package).string() + "]"));
}

}  // namespace
}  // namespace psgd
