// Lsn: a position in PostgreSQL's write-ahead log, printed as PostgreSQL does ("16/B374D848").
//
// Plain value type; thread-safe to copy.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace migsbyu {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Parses "X/Y" (hexadecimal halves). Returns nullopt for anything else.
  static std::optional<Lsn> Parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool IsZero() const { return value_ == 0; }
  std::string ToString() const;

  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace migsbyu
