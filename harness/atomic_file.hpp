// harness/atomic_file.hpp — write a whole file so that no reader ever sees part of it.
#pragma once

#include <string>

namespace psgd {

// Writes text to path.tmp.PID, then renames it over path (atomic on one file system), so a
// reader sees the old file or the new one, never half of either; a process killed mid-way
// leaves only the .tmp file, which the sweep cleans up. Throws EnvironmentError.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace psgd
