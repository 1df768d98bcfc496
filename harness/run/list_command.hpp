// harness/run/list_command.hpp — `psgd list`: every name the other commands accept.
#pragma once

#include <span>
#include <string_view>

namespace psgd {

int list_main(std::span<const std::string_view> args);

}  // namespace psgd
