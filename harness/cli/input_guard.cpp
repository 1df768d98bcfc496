// harness/cli/input_guard.cpp — outputs compared with inputs by device and inode.
#include "harness/cli/input_guard.hpp"

#include <sys/stat.h>

namespace psgd {

bool same_existing_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void refuse_outputs_over_inputs(const std::vector<NamedPath>& outputs,
                                const std::vector<NamedPath>& inputs) {
  for (const NamedPath& out : outputs) {
    for (const NamedPath& in : inputs) {
      if (!same_existing_file(out.path, in.path)) continue;
      // A device such as /dev/null may be read and written at once: it is no file to lose.
      struct stat st {};
      if (::stat(in.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) continue;
      throw InputOverwriteError(out.what + " '" + out.path + "' is the " + in.what + " '" +
                                in.path +
                                "': writing it would replace an input; give another path");
    }
  }
}

}  // namespace psgd
