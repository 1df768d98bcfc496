// harness/sweep/build_identity.hpp — which psgd binary a sweep's results come from, and the check
// that the binary given with --psgd is one at all.
//
// A run's numbers depend on the machine code that computed them: the source, the compiler, its
// flags (-march=native), the build type. The git SHA and dirty flag of the source tree miss an
// uncommitted edit made after the build, a rebuild with other flags, or a rebuild of a dirty tree;
// the binary's bytes miss nothing. So a sweep identifies the build by a hash of the file it runs
// (the build id) and records it in every result document (sweep.build_id). A rebuild that yields
// the same bytes (a README edit, ccache) keeps its results; any change to the code does not.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace psgd {

// 16 hex digits of a 64-bit hash of the file's bytes. Throws EnvironmentError when the file
// cannot be read. About 10 ms for a 10 MB binary.
std::string binary_build_id(const std::string& path);

// Runs `psgd run --help` once (10 s at most) and checks that it exits 0 and prints psgd's usage
// line, so that a wrong --psgd (/bin/false, a script, another program) is one error before
// anything runs rather than one crashed run per point. Throws EnvironmentError naming the binary
// and what it did instead.
void probe_psgd_binary(const std::string& path);

// The git commit and dirty state the binary at `path` was built from, as its `--version` says
// (baked in at build time): {"git_sha": "<40 hex digits>", "git_dirty": bool}, both null when
// it does not say (not built from a git checkout, or not answering). Runs it once, 10 s at most.
nlohmann::json probe_git_state(const std::string& path);

// How a result document names the build it came from, for messages: "build 0123456789abcdef
// (git 3ef6312c0a1b, dirty)", or "an unrecorded build" for documents older than build ids.
std::string describe_build(const nlohmann::json& doc);

// The build id a result document records (sweep.build_id), or "" when it records none.
std::string recorded_build_id(const nlohmann::json& doc);

}  // namespace psgd
