// algorithms/hogwild_kernel.cpp — HOGWILD!'s racy copy and apply (see the header for why they
// are racy, and why they are the only code kept out of ThreadSanitizer's view).
#include "algorithms/hogwild_kernel.hpp"

// The attributes every racy function carries: uninstrumented by TSan, never inlined, and no
// loop-to-memcpy rewrite (an intercepted memcpy would be checked by TSan after all). psgd is built
// with GCC; clang (which only reads this file for `make lint`) has no `optimize` attribute.
#if defined(__clang__)
#define PSGD_HOGWILD_RACY __attribute__((no_sanitize("thread"), noinline))
#else
#define PSGD_HOGWILD_RACY \
  __attribute__((no_sanitize("thread"), noinline, optimize("no-tree-loop-distribute-patterns")))
#endif

namespace psgd {

template <class S>
PSGD_HOGWILD_RACY void hogwild_racy_copy(S* dst, const S* shared, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dst[i] = shared[i];
}

template <class S>
PSGD_HOGWILD_RACY void hogwild_racy_apply(S* shared, const S* grad, S step,
                                          std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) shared[i] = shared[i] - step * grad[i];
}

template void hogwild_racy_copy(float*, const float*, std::size_t) noexcept;
template void hogwild_racy_copy(double*, const double*, std::size_t) noexcept;
template void hogwild_racy_apply(float*, const float*, float, std::size_t) noexcept;
template void hogwild_racy_apply(double*, const double*, double, std::size_t) noexcept;

}  // namespace psgd
