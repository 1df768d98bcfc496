// common/name_table.hpp — enum values by name: one table per enum serves the parser, --help,
// `psgd list` and the JSON, so the names cannot drift apart.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "common/parse_number.hpp"

namespace psgd {

template <class E, std::size_t N>
using NameTable = std::array<std::pair<std::string_view, E>, N>;

// "a, b or c": the names of a table, for messages and help.
template <class E, std::size_t N>
std::string names_text(const NameTable<E, N>& table) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) s += i + 1 == N ? " or " : ", ";
    s += table[i].first;
  }
  return s;
}

// The value named `text`; otherwise ConfigError "--option must be a, b or c, got 'text'".
template <class E, std::size_t N>
E parse_name(const NameTable<E, N>& table, std::string_view option, std::string_view text) {
  for (const auto& [name, value] : table) {
    if (name == text) return value;
  }
  bad_option_value(option, text, names_text(table));
}

// The name of `value` (every enumerator is in its table).
template <class E, std::size_t N>
std::string_view name_of(const NameTable<E, N>& table, E value) noexcept {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return "?";
}

}  // namespace psgd
