// common/name_table.hpp — enum values by name: one table per enum serves the parser, --help,
// `psgd list`, the JSON and the log lines, so the names cannot drift apart, and every bad name
// gets the same one-line error: "--option must be a, b or c, got 'text'".
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/parse_number.hpp"

namespace psgd {

template <class E, std::size_t N>
using NameTable = std::array<std::pair<std::string_view, E>, N>;

// "a, b or c": the names of a table, for messages and help. A value that takes an argument after
// a colon ("explicit:0,2") is shown with a placeholder for it: names_text(t, kExplicit,
// "CPULIST") gives "none, compact or explicit:CPULIST".
template <class E, std::size_t N>
std::string names_text(const NameTable<E, N>& table,
                       std::type_identity_t<std::optional<E>> with_argument = std::nullopt,
                       std::string_view argument = {}) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) s += i + 1 == N ? " or " : ", ";
    s += table[i].first;
    if (table[i].second == with_argument) s.append(":").append(argument);
  }
  return s;
}

// The value named `text`, or nullopt: for parsers that accept more than a bare name.
template <class E, std::size_t N>
std::optional<E> find_name(const NameTable<E, N>& table, std::string_view text) noexcept {
  for (const auto& [name, value] : table) {
    if (name == text) return value;
  }
  return std::nullopt;
}

// The value named `text`; otherwise ConfigError "--option must be a, b or c, got 'text'".
template <class E, std::size_t N>
E parse_name(const NameTable<E, N>& table, std::string_view option, std::string_view text) {
  if (const std::optional<E> value = find_name(table, text)) return *value;
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
