// harness/run/run_outputs.cpp — the parameters and the run document (run_outputs.hpp).
#include "harness/run/run_outputs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/errors.hpp"
#include "common/precision.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/run/report.hpp"
#include "harness/run/run_summary.hpp"
#include "harness/run/stop_signals.hpp"

namespace psgd {
namespace {

// True when `path` is "-" or an existing file that is not a regular one (a device, a FIFO),
// which a write may wait on without end.
bool may_block(const std::string& path) {
  struct stat st {};
  return path == "-" || (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode));
}

}  // namespace

template <class S>
void save_params(const std::string& path, const std::string& side, const BasicModel<S>& model,
                 std::span<const S> theta) {
  static_assert(std::endian::native == std::endian::little,
                "--save-params writes the machine's values as little-endian IEEE 754");
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(theta.data()),
                                               theta.size() * sizeof(S)));
  if (side.empty()) {
    std::cerr << "psgd run: --save-params '" << path
              << "' is not a regular file: no side file written beside it\n";
    return;
  }
  nlohmann::json doc;
  const std::string dtype(scalar_type_name<S>());
  doc["format"] = "raw little-endian " + dtype + ", blocks in this order, each row-major";
  doc["dtype"] = dtype;
  doc["model"] = model.spec();
  doc["num_params"] = model.num_params();
  nlohmann::json blocks = nlohmann::json::array();
  for (const ParamBlock& b : model.layout()) {
    blocks.push_back({{"name", b.name}, {"shape", b.shape}, {"offset", b.offset}});
  }
  doc["blocks"] = blocks;
  try {
    write_json(doc, side);
  } catch (const OutputPathError&) {
    ::unlink(path.c_str());  // regular (a side file is written only then): no values undescribed
    throw;
  }
}

template void save_params<float>(const std::string&, const std::string&, const BasicModel<float>&,
                                 std::span<const float>);
template void save_params<double>(const std::string&, const std::string&, const BasicModel<double>&,
                                  std::span<const double>);

int write_outputs(const RunConfig& cfg, const RunRecord& record,
                  const std::function<void()>& write_params) {
  std::optional<HeldTerminationSignals> held;
  if (!may_block(cfg.out) && (cfg.save_params.empty() || !may_block(cfg.save_params))) {
    held.emplace();
  }
  int code = 0;
  if (!cfg.save_params.empty()) {
    try {
      write_params();
    } catch (const OutputPathError& e) {
      // The results are kept (no error document over them); say so.
      std::cerr << "psgd run: --save-params: " << e.what() << " (the results go to " << cfg.out
                << " all the same)\n";
      code = kExitEnvironmentError;
    }
  }
  write_json(build_report(record), cfg.out);
  // Always to stderr, so a JSON document on stdout (--out -) stays clean and the summary shows.
  // Without its header line: the run printed that before it began (run_in_precision).
  std::cerr << run_summary(record, /*with_header=*/false) << std::flush;
  return code;
}

}  // namespace psgd
