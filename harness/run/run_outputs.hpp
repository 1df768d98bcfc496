// harness/run/run_outputs.hpp — what a finished `psgd run` writes: the parameters (--save-params,
// with their side file) and the run document, in the order that keeps a document's pair complete
// (moved out of run_command.cpp, which calls them).
#pragma once

#include <functional>
#include <span>
#include <string>

#include "harness/run/run_config.hpp"
#include "harness/run/run_record.hpp"
#include "models/model.hpp"

namespace psgd {

// The values in the run's precision: float32 or float64, named in the side file's "dtype"
// (written after the values, so a side file always describes values that are there; none when
// `side` is empty: params_side_file).
// S: float or double (instantiated for both).
template <class S>
void save_params(const std::string& path, const std::string& side, const BasicModel<S>& model,
                 std::span<const S> theta);

// The parameters (values, then side file) first and the run document last, so a document means
// its pair is complete. Between the first write and the last, SIGINT, SIGTERM and SIGHUP wait:
// a signal then acts once all are written (one once landed between the two and left the
// document without the side file). Not while writing to stdout, a FIFO or a device, which may
// block: a signal must still end the process there.
int write_outputs(const RunConfig& cfg, const RunRecord& record,
                  const std::function<void()>& write_params);

}  // namespace psgd
