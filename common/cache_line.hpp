// common/cache_line.hpp — how far apart two threads' hot words must be.
#pragma once

#include <cstddef>

namespace psgd {

// Destructive interference size. libstdc++ reports 64 on generic x86-64, but adjacent-line
// prefetch pulls cache lines in pairs on Intel and AMD cores, so 128 is what actually keeps two
// workers' counters apart (folly's choice and reason).
inline constexpr std::size_t kNoFalseSharing = 128;

}  // namespace psgd
