// ParseInteger: a decimal integer from text, without exceptions, for code that reports failures
// as Result values (std::stoi and friends throw on bad input, and accept "12abc" and " 12").
//
// Strict: an optional '-' (for signed types), then digits, nothing else, and in T's range.
// Callers turn nullopt into an error naming the field and the input.
//
// Thread-safety: a pure function.
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>

namespace migsbyu {

template <std::integral T>
std::optional<T> ParseInteger(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace migsbyu
