// algorithms/hogwild_kernel.hpp — the project's one racy-by-design code: HOGWILD!'s unsynchronised
// read and apply of the shared parameters.
//
// HOGWILD! is defined by these races: a worker copies theta while others write it (the copy may
// mix coordinates of different updates, or halves of one), and applies its update with a plain
// read-modify-write per coordinate (a concurrent update of the same coordinate may be lost). Done
// with per-coordinate relaxed atomics instead, the loops cannot be vectorised and the "no
// synchronisation" baseline became slower than the mutex method (measured: 224k vs 381k
// samples/s at batch 32 with 2 threads), which would make every comparison with it an artefact.
// So the two loops below are plain float loops at vector speed, as the method is, and the only
// code of the project kept out of ThreadSanitizer's view (no_sanitize("thread"); they are also
// never inlined, so the compiler cannot reason about the shared memory across the call, and the
// copy is kept from becoming a memcpy call, which TSan would intercept). Every other access to
// HOGWILD!'s theta is ordered (init before the workers, read_params after the join) or atomic
// (the checkpoint copy). The apply rounds exactly like sgd_apply (-ffp-contract=off), so one
// worker reproduces seq bit for bit. Both are templates over the scalar type (--precision),
// explicitly instantiated for float and double in hogwild_kernel.cpp; a double copy moves twice
// the bytes of a float one, and a torn read or lost update is then of 8-byte coordinates.
#pragma once

#include <cstddef>

namespace psgd {

// dst[i] = shared[i] for i < n, while other threads may be writing `shared`.
template <class S>
void hogwild_racy_copy(S* dst, const S* shared, std::size_t n) noexcept;

// shared[i] = shared[i] - step * grad[i] for i < n, while other threads may be reading and
// writing `shared`: concurrent updates of one coordinate may overwrite each other.
template <class S>
void hogwild_racy_apply(S* shared, const S* grad, S step, std::size_t n) noexcept;

}  // namespace psgd
