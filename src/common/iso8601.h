// The one reader of ISO-8601 dates and date-times, for every component that takes them as text:
// PostgreSQL's output (DateStyle ISO) in cdc, Debezium's Iso* strings in the Kafka envelope, the
// analytics API's instants, the lake's reading of PostgreSQL text. Strict: a date that does not
// exist (2024-02-31, 2023-02-29), an hour of 24, a leap second, trailing text or a missing digit
// is refused, never normalized.
//
// Grammar (what each caller accepts beyond it, such as PostgreSQL's " BC" suffix, it strips
// first; what it requires, such as an offset, it checks on the fields):
//   date      YYYY-MM-DD          the year has 4 to 6 digits (0000 is 1 BC)
//   date-time date S HH:MM[:SS[.F]][zone]
//     S       'T', 't' or ' '
//     F       1 to 9 digits; digits past microseconds are cut, not rounded
//     zone    'Z' | 'z' | ('+' | '-') HH [[':'] MM [':' SS]]   (hours 0-23)
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace migsbyu {

// A parsed date or date-time, each field in its range; `day` exists in `month` of `year`.
struct IsoDateTime {
  int64_t year = 0;  // proleptic Gregorian: 0 is 1 BC
  unsigned month = 1, day = 1;
  bool has_time = false;  // false: a date alone, the time fields are 0
  unsigned hour = 0, minute = 0, second = 0;
  uint32_t micros = 0;
  bool has_offset = false;     // false: no zone was written
  int32_t offset_seconds = 0;  // east of UTC; "Z" is 0 with has_offset
};

// Parses `text` by the grammar above. With `before_christ`, the year counts back (PostgreSQL's
// "0044-03-15 BC", the caller having removed the suffix): year Y is stored as the proleptic 1 - Y
// and the day is checked against that year's calendar, and a year 0 is refused. Errors:
// kInvalidArgument naming the text and what is wrong with it (at most the first 64 bytes of a
// long text are quoted).
Result<IsoDateTime> ParseIsoDateTime(std::string_view text, bool before_christ = false);

// Days from 1970-01-01 to the value's date (negative before it).
int64_t DaysSinceEpoch(const IsoDateTime& t);

// Microseconds since 1970-01-01T00:00:00Z of the value, read as UTC when it has no offset;
// nullopt when that does not fit in an int64_t (years beyond about ±292,000).
std::optional<int64_t> MicrosSinceEpoch(const IsoDateTime& t);

// True when `year` is a Gregorian leap year; DaysInMonth of month 1-12.
bool IsLeapYear(int64_t year);
unsigned DaysInMonth(int64_t year, unsigned month);

}  // namespace migsbyu
