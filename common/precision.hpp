// common/precision.hpp — the scalar type of the shared parameters and the gradient computation
// (`psgd run --precision float|double`).
//
// Everything that touches parameters (models, algorithms, checkpoints, the runner, evaluation)
// is a template over the scalar type, explicitly instantiated for float and double in its .cpp.
// The run is dispatched on the precision once, where it is built (harness/run/run_command.cpp calls
// with_precision); nothing inside a worker loop ever branches on it.
#pragma once

#include <concepts>
#include <string_view>

#include "common/name_table.hpp"

namespace psgd {

enum class Precision { kFloat, kDouble };

inline constexpr NameTable<Precision, 2> kPrecisions{
    {{"float", Precision::kFloat}, {"double", Precision::kDouble}}};

// The scalar types psgd instantiates its templates for.
template <class S>
concept Scalar = std::same_as<S, float> || std::same_as<S, double>;

// "float32" / "float64": the element type as the JSON and --save-params record it.
template <Scalar S>
constexpr std::string_view scalar_type_name() noexcept {
  return sizeof(S) == 4 ? "float32" : "float64";
}

// Calls f.template operator()<float>() or <double>() as `precision` says: the one place a run
// turns the runtime choice into a type. f is typically a generic lambda []<class S>() { ... }.
template <class F>
decltype(auto) with_precision(Precision precision, F&& f) {
  if (precision == Precision::kDouble) return f.template operator()<double>();
  return f.template operator()<float>();
}

}  // namespace psgd
