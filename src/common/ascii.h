// ASCII case for protocol text (HTTP header names, tokens, schemes): locale-free, so that a
// process's locale never changes what a header means.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace migsbyu {

// `c` with A-Z lowered; every other byte as it is.
constexpr char AsciiToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// True when `a` and `b` are equal once A-Z are lowered in both.
constexpr bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiToLower(a[i]) != AsciiToLower(b[i])) return false;
  }
  return true;
}

}  // namespace migsbyu
