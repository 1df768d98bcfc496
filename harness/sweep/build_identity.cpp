// harness/sweep/build_identity.cpp — the build id of a binary, the --psgd probe.
#include "harness/sweep/build_identity.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Long enough for a cold start of a big binary on a loaded machine; `run --help` does no work.
constexpr double kProbeSeconds = 10.0;

std::string string_at(const json& doc, const char* pointer) {
  const json::json_pointer p(pointer);
  return doc.contains(p) && doc.at(p).is_string() ? doc.at(p).get<std::string>() : "";
}

}  // namespace

std::string binary_build_id(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EnvironmentError("cannot read '" + path + "': " + std::strerror(errno));
  // FNV-1a over 8-byte words (a 60 MB binary in a few tens of ms), then the bytes of the last
  // partial word; finished like short_hash, so a collision needs a 2^-64 accident.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::array<char, 1 << 16> buf{};
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, buf.data() + i, 8);
      h = (h ^ word) * 0x100000001b3ULL;
      h ^= h >> 29;  // FNV's multiply moves bits only upwards; fold the high ones back down
    }
    for (; i < n; ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * 0x100000001b3ULL;
    if (!in) break;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(h));
  return text.data();
}

namespace {

struct Probe {
  ChildOutcome outcome;
  std::string out;  // the last 64 KiB of stdout
  std::string err;  // the last 512 bytes of stderr
};

// Runs `path args...` once, at most kProbeSeconds, capturing its output through temporary files.
Probe run_probe(const std::string& path, const std::vector<std::string>& args) {
  const std::string stem =
      (fs::temp_directory_path() / ("psgd-probe." + std::to_string(getpid()))).string();
  const std::string out_path = stem + ".out";
  const std::string err_path = stem + ".err";
  std::optional<ChildOutcome> outcome;
  {
    std::vector<std::string> argv{path};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(argv, err_path, kProbeSeconds, out_path);
    while (!(outcome = child.poll())) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Probe p{*outcome, read_tail(out_path, 65536), read_tail(err_path, 512)};
  std::error_code ec;
  fs::remove(out_path, ec);
  fs::remove(err_path, ec);
  return p;
}

}  // namespace

json probe_git_state(const std::string& path) {
  json state{{"git_sha", nullptr}, {"git_dirty", nullptr}};
  const Probe p = run_probe(path, {"--version"});
  if (p.outcome.kind != ChildOutcome::Kind::kExited || p.outcome.exit_code != 0) return state;
  // "source:    <40 hex digits>[ (dirty: ...)] at <dir>", as version_text() writes it.
  const std::string key = "\nsource:    ";
  const std::size_t at = p.out.find(key);
  if (at == std::string::npos) return state;
  const std::size_t start = at + key.size();
  const std::string line = p.out.substr(start, p.out.find('\n', start) - start);
  const std::string sha = line.substr(0, line.find(' '));
  if (sha.size() != 40 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)
    return state;
  state["git_sha"] = sha;
  state["git_dirty"] = line.find(" (dirty") == sha.size();
  return state;
}

void probe_psgd_binary(const std::string& path) {
  const Probe p = run_probe(path, {"run", "--help"});
  const ChildOutcome& outcome = p.outcome;
  const bool exited_ok = outcome.kind == ChildOutcome::Kind::kExited && outcome.exit_code == 0;
  if (exited_ok && p.out.find("usage: psgd run") != std::string::npos) return;
  std::string what = outcome.kind == ChildOutcome::Kind::kTimedOut ? "did not answer in 10 s"
                     : outcome.kind == ChildOutcome::Kind::kSignaled
                         ? "was killed by signal " + std::to_string(outcome.signal)
                     : !exited_ok ? "exited " + std::to_string(outcome.exit_code)
                                  : "did not print psgd's usage";
  std::string first_err = p.err.substr(0, p.err.find('\n'));
  if (!first_err.empty()) what += " (" + first_err + ")";
  throw EnvironmentError("--psgd '" + path + "' is not a working psgd binary: `" + path +
                         " run --help` " + what + "; nothing was run");
}

std::string recorded_build_id(const json& doc) { return string_at(doc, "/sweep/build_id"); }

std::string describe_build(const json& doc) {
  const std::string id = recorded_build_id(doc);
  std::string text = id.empty() ? "an unrecorded build" : "build " + id;
  std::string sha = string_at(doc, "/context/git_sha");
  if (!sha.empty()) {
    const json::json_pointer dirty("/context/git_dirty");
    const bool is_dirty =
        doc.contains(dirty) && doc.at(dirty).is_boolean() && doc.at(dirty).get<bool>();
    text += " (git " + sha.substr(0, 12) + (is_dirty ? ", dirty)" : ")");
  }
  return text;
}

}  // namespace psgd
