// Instants as the analytics API reads and writes them: ISO-8601, microsecond precision, UTC.
//
// Threading: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace migsbyu::analytics {

using Clock = std::chrono::system_clock;

// Microseconds since the Unix epoch.
int64_t MicrosSinceEpoch(Clock::time_point t);
Clock::time_point FromMicros(int64_t micros);

// "2026-11-25T16:15:00.123456Z".
std::string FormatInstant(Clock::time_point t);

// Parses an ISO-8601 date or date-time by common/iso8601.h's grammar ("YYYY-MM-DD", or
// "YYYY-MM-DDTHH:MM[:SS[.fraction]]" with 'T' or a space, then nothing (UTC), "Z", or an offset
// "+HH", "+HHMM", "+HH:MM"), where a space also stands for an offset's '+', as an unescaped '+'
// in a query string arrives. A date alone is its midnight UTC; fraction digits beyond
// microseconds are cut. Fails with kInvalidArgument naming `what` and the text otherwise.
Result<int64_t> ParseInstantMicros(std::string_view text, std::string_view what);

}  // namespace migsbyu::analytics
