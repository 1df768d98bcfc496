// models/test/test_support.hpp — what the tests of models/ and of the layers above share: a fresh
// scratch folder (as a function and as the one fixture for tests that keep files) and the message
// of an expected ConfigError.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/errors.hpp"

namespace psgd::test {

// A new, empty folder <test temporary directory>/NAME_PID (removed first if a test left one).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path d =
      std::filesystem::path(::testing::TempDir()) / (name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// The fixture of a test that writes files: scratch_ is a new, empty folder named after the suite
// and the test, removed after a test that passed and kept after one that failed, to be looked
// at. A fixture that adds its own SetUp or TearDown calls these first and last.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    scratch_ = scratch_dir("psgd_" + std::string(info->test_suite_name()) + "_" + info->name());
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(scratch_);
  }

  std::filesystem::path scratch_;
};

// The message of the ConfigError fn throws; a test failure (and "") when it throws none.
template <class Fn>
std::string config_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

}  // namespace psgd::test
