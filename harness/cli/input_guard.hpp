// harness/cli/input_guard.hpp — refuse an output path that names one of the command's inputs, so
// that no result ever replaces the config, a data file or a document it was made from.
#pragma once

#include <string>
#include <vector>

#include "common/errors.hpp"

namespace psgd {

// A path the command reads or writes, and the option (or role) that named it: "--config",
// "--out", "the baseline document".
struct NamedPath {
  std::string path;
  std::string what;
};

// True when both paths exist and are one file: the same device and inode after following links,
// so a symbolic link, a hard link or a "dir/../name" spelling is caught as well as the same name.
// A path that does not exist yet names no input.
bool same_existing_file(const std::string& a, const std::string& b);

// Bad input (exit 2) that must not be answered with an error document at the output path: that
// path is an input. psgd run catches it apart from other ConfigErrors.
class InputOverwriteError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

// Throws InputOverwriteError "OUT 'P' is the INPUT 'Q': writing it would replace an input; give
// another path" for the first output that is one of the inputs. Called before any work, so nothing
// is read twice or lost.
void refuse_outputs_over_inputs(const std::vector<NamedPath>& outputs,
                                const std::vector<NamedPath>& inputs);

}  // namespace psgd
