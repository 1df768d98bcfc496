// common/seconds_since.hpp — elapsed time on the steady clock, in seconds.
#pragma once

#include <chrono>

namespace psgd {

// Seconds from t0 to now. The steady clock, because the system clock can step backwards (NTP)
// in the middle of a measurement.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace psgd
