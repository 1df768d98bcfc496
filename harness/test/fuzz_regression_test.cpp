// harness/test/fuzz_regression_test.cpp — every input with which a fuzz target of harness/fuzz
// found a crash, replayed through the same entry point (`make fuzz`; docs/testing.md).
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/errors.hpp"
#include "harness/run/run_config.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;

// config_fuzz: a --config file naming itself recursed until the stack overflowed (SIGSEGV).
TEST(FuzzRegression, AConfigFileThatNamesItselfIsOneLineNotAStackOverflow) {
  const fs::path dir = test::scratch_dir("config_self");
  const fs::path self = dir / "self.json";
  std::ofstream(self) << R"({"config": ")" << self.string() << R"("})";
  const std::string path = self.string();
  const std::array<std::string_view, 2> args = {"--config", path};
  try {
    static_cast<void>(parse_run_args(args));
    ADD_FAILURE() << "a config file naming itself was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot name another one"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace psgd
