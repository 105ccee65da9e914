// Column bounds for manifests: Iceberg's binary single-value serialization (spec Appendix D) and
// the conversion from the statistics DuckDB writes into a Parquet footer.
//
// Serialization, per type (what a manifest's lower_bounds / upper_bounds hold):
//   boolean      1 byte, 0x00 false, 0x01 true
//   int, date    4 bytes little-endian (date: days since 1970-01-01)
//   long         8 bytes little-endian
//   timestamp[tz] 8 bytes little-endian, µs since 1970-01-01 00:00:00 (UTC for timestamptz)
//   float/double 4/8 bytes little-endian IEEE 754; a zero lower bound is written -0.0 and a zero
//                upper bound +0.0, so that both hold whichever zero the column has; NaN is never
//                a bound
//   decimal(P,S) the unscaled value, two's-complement big-endian, in the fewest bytes that hold it
//   string       UTF-8 bytes; a value longer than the truncation length (16 code points, as
//                Iceberg's writers default to) is cut: the lower bound to its prefix, the upper
//                bound to the prefix with its last code point incremented (no upper bound when
//                every code point of the prefix is U+10FFFF)
//   binary, uuid no bounds are written (DuckDB prints their statistics in an escaped text form
//                that this library does not parse; omitting a bound is always allowed)
//
// Threading: pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"
#include "lake/iceberg/schema.h"

namespace migsbyu::iceberg {

inline constexpr size_t kDefaultTruncateLength = 16;

// One value of an Iceberg type: bool (boolean), int64_t (int, long, date days, timestamp µs),
// double (float, double), __int128 (decimal's unscaled value), std::string (string's UTF-8).
using Literal = std::variant<bool, int64_t, double, __int128, std::string>;

// Parses the text DuckDB prints for a value of a column of `type` (parquet_metadata's
// stats_min_value / stats_max_value, or a VARCHAR cast): "12", "3.75", "2026-01-31",
// "2026-01-31 12:00:00.25", "2026-01-31 12:00:00.25+01", "0044-03-15 (BC)". nullopt when the
// text is not a value of that type that a bound can hold exactly: NaN, an infinite date or
// timestamp, a decimal with more fractional digits than the scale, invalid UTF-8, binary, uuid.
std::optional<Literal> ParseDuckText(const Type& type, std::string_view text);

// The order of two literals of one type (negative, 0, positive): numbers by value, strings by
// their UTF-8 bytes (which is code point order), false < true.
int CompareLiterals(const Literal& a, const Literal& b);

// The binary single-value serialization of `value` (of `type`). REQUIRES: the literal's
// alternative matches the type (as ParseDuckText gives it).
std::string SerializeValue(const Type& type, const Literal& value);

// The lower bound for a column whose smallest value is `min`, and the upper bound for one whose
// largest is `max` (see the header comment for zeros and strings). `truncate` is the string
// length in code points beyond which strings are cut (0: never).
std::string LowerBound(const Type& type, const Literal& min, size_t truncate);
std::optional<std::string> UpperBound(const Type& type, const Literal& max, size_t truncate);

// `bytes` in lowercase hexadecimal (binary and uuid bounds as text; tools and tests).
std::string HexBytes(std::string_view bytes);

// A serialized value back as text in DuckDB's literal form ("3.75", "2026-01-31 12:00:00+00"),
// for tools and tests; kCorruption when the byte length does not fit the type.
Result<std::string> BoundToText(const Type& type, std::string_view bytes);

}  // namespace migsbyu::iceberg
