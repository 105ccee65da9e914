// Proleptic Gregorian dates as days since 1970-01-01 (Howard Hinnant's algorithms), shared by
// every component that reads or prints PostgreSQL and ISO-8601 dates. Pure functions.
#pragma once

#include <cstdint>

namespace migsbyu {

// Days since 1970-01-01 of year-month-day (year may be ≤ 0: 0 is 1 BC). REQUIRES: 1 ≤ month ≤ 12,
// 1 ≤ day ≤ 31.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

// The date `days` after 1970-01-01 (negative: before it).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace migsbyu
