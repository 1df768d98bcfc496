// common/errors.hpp — the two kinds of failure a user can cause, and their exit codes.
//
// Every library of the project throws these (models and data too), so they live in one
// header-only place. `psgd` prints the message as one line on stderr and exits with the code.
#pragma once

#include <stdexcept>

namespace psgd {

// Bad arguments: unknown names, out-of-range values, contradictory options. Exit code 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad environment or data: a missing or corrupt file, a placement the OS refused. Exit code 3.
class EnvironmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kExitConfigError = 2;
inline constexpr int kExitEnvironmentError = 3;

}  // namespace psgd
