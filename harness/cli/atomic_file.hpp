// harness/cli/atomic_file.hpp — write a whole file so that no reader ever sees part of it, and
// nothing that is not a regular file is ever replaced.
#pragma once

#include <csignal>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/errors.hpp"

namespace psgd {

// An output path that cannot be written (exit 3). A class of its own so `psgd run` does not try
// to write its error document to the very path that failed.
class OutputPathError : public EnvironmentError {
 public:
  using EnvironmentError::EnvironmentError;
};

// Blocks SIGINT, SIGTERM and SIGHUP (the signals that ask a process to end) for this thread for as
// long as it lives, then restores the mask; a signal that arrived meanwhile acts then. Held
// around a group of writes, it makes the group all or nothing as far as those signals go.
class HeldTerminationSignals {
 public:
  HeldTerminationSignals();
  ~HeldTerminationSignals();
  HeldTerminationSignals(const HeldTerminationSignals&) = delete;
  HeldTerminationSignals& operator=(const HeldTerminationSignals&) = delete;

 private:
  sigset_t previous_{};
};

// Writes `bytes` as the whole content of `path`:
//  * a regular file, or a new name: to PATH.tmp.PID beside it (temporary_name), flushed to disk,
//  then renamed over
//    it (atomic on one file system), so a reader sees the old file or the new one, never half of
//    either. SIGINT, SIGTERM and SIGHUP are held (blocked for this thread) from the creation of
//    the temporary until the rename, so such a signal never leaves PATH.tmp.PID behind; it acts
//    right after. A SIGKILL mid-way leaves the .tmp file, which the sweep cleans up.
//  * a symbolic link: its target is written as above; the link stays.
//  * an existing non-regular file (/dev/null, /dev/full, a FIFO, a socket): written directly,
//    never replaced. A FIFO blocks until it has a reader, as writing to a FIFO does.
//  * a directory: refused.
// Throws OutputPathError: "cannot write 'PATH': REASON".
void write_file_atomically(const std::string& path, std::string_view bytes);

inline void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text);
}

// PATH.tmp.PID, with PATH's file name cut short where the whole would exceed the folder's
// NAME_MAX, so any name that may itself be written has a temporary name too.
std::string temporary_name(const std::string& path);

// The longest file name `folder` accepts (pathconf _PC_NAME_MAX; NAME_MAX when unknown).
std::size_t name_max(const std::string& folder);

// Before any work: whether write_file_atomically(path) can succeed as far as can be told without
// writing (the folder exists and is writable, the file name fits NAME_MAX, the path is not a
// folder, a non-regular file is writable). Throws OutputPathError naming `option` ("--out"), so a
// bad path costs no training.
void check_output_path(const std::string& path, std::string_view option);

// True when the two paths name the same file (after resolving links), or the same new name.
bool same_output_path(const std::string& a, const std::string& b);

}  // namespace psgd
