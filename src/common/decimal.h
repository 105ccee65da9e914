// The one reader of exact decimal numbers written as text: PostgreSQL's numeric output, Debezium's
// string-mode decimals, the lake's DECIMAL columns. Strict and bounded: an optional sign, digits,
// and optionally a point followed by digits; nothing else (no exponent, no spaces, no "NaN" or
// "Infinity", which callers that take them check first), and no more digits than the bounds
// allow, so hostile input cannot make a caller's arithmetic on the digits arbitrarily long.
//
// Threading: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace migsbyu {

// PostgreSQL's limit on a declared numeric(precision, scale).
inline constexpr int kMaxDecimalDigits = 1000;

struct DecimalBounds {
  int max_precision = kMaxDecimalDigits;  // significant digits, fraction included
  int max_scale = kMaxDecimalDigits;      // digits after the point
};

// A parsed decimal: its value is (negative ? -1 : 1) * digits * 10^-scale.
struct Decimal {
  bool negative = false;  // never true for zero
  std::string digits;     // the unscaled magnitude: decimal digits, no leading zero but "0"
  int scale = 0;          // digits written after the point (trailing zeros count)

  // Significant digits, at least `scale` (PostgreSQL's precision: 0.001 has precision 3).
  int Precision() const;
  // The canonical text: "-12.340", "0.5", "0".
  std::string ToText() const;
};

// Parses `[+-]D+[.D+]`. Errors: kInvalidArgument naming the text (its first 64 bytes) and the
// rule it breaks, the bounds included.
Result<Decimal> ParseDecimal(std::string_view text, DecimalBounds bounds = {});

// The value as an integer scaled by 10^`scale` (12.5 at scale 2 is 1250), when that fits in 38
// digits (DECIMAL(38) and Iceberg's largest decimal) and loses no non-zero digit; nullopt
// otherwise.
std::optional<__int128> ScaledInt128(const Decimal& d, int scale);

}  // namespace migsbyu
