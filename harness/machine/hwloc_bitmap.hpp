// harness/machine/hwloc_bitmap.hpp — an owned hwloc bitmap (CPU or node set), freed on scope exit.
#pragma once

#include <hwloc.h>

#include <memory>

namespace psgd {

struct HwlocBitmapDeleter {
  void operator()(hwloc_bitmap_t b) const noexcept { hwloc_bitmap_free(b); }
};
using HwlocBitmap = std::unique_ptr<hwloc_bitmap_s, HwlocBitmapDeleter>;

}  // namespace psgd
