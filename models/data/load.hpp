// models/data/load.hpp — data set names to loaded train/test splits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.hpp"

namespace psgd {

struct DataOptions {
  // "fashion-mnist" (default; Debian's dataset-fashion-mnist), "mnist", "idx" (any IDX set in
  // standard file names), "cifar10", "synthetic-dense[:NxDxC]", "synthetic-sparse[:NxDxC]".
  std::string name = "fashion-mnist";
  std::string dir;          // empty: the default directory for the name
  bool raw_pixels = false;  // keep 0..255 instead of scaling to [0,1]
  std::uint64_t seed = 1;   // synthetic generators only
};

// Loads both splits. Throws ConfigError (unknown name; the message lists the valid ones) or
// EnvironmentError (missing file: names the file and the package or flag that provides it;
// wrong magic; truncated; image/label count mismatch) — each one line naming the file.
DataSplit load_dataset(const DataOptions& options);

// Every file that load_dataset(options) may read and that exists now: each standard name, raw and
// .gz, in the data directory (and CIFAR-10's cifar-10-batches-bin/); none for a synthetic set.
// `psgd run` refuses an output that is one of them.
std::vector<std::string> dataset_files(const DataOptions& options);

// The names load_dataset accepts, for `psgd list` and error messages.
std::string dataset_names_help();

}  // namespace psgd
