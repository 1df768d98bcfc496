// common/eigen.hpp — the one way the project includes Eigen.
//
// Why a wrapper: with -march=native on an AVX-512 machine, GCC 12 reports -Wmaybe-uninitialized (or
// -Wuninitialized) inside Eigen's AVX-512 packet code (ptranspose via gemm_pack_rhs: the
// intrinsics' deliberate
// `__m512 __Y = __Y;` "undefined" values). The warning is a false positive in third-party code,
// but it is raised after inlining into our translation units, where -isystem does not reach, and
// -Werror turns it into a failed build. The diagnostic's location lies in the headers included
// below, so silencing it for exactly this region keeps it on for every line of the project's own
// code.
#pragma once

#pragma GCC diagnostic push
#if !defined(__clang__)  // clang (the fuzz build, clang-tidy) has no such group and would say so
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
