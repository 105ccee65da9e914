#include "analytics/instant.h"

#include <cstdio>
#include <ctime>

#include "common/iso8601.h"

namespace migsbyu::analytics {

int64_t MicrosSinceEpoch(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

Clock::time_point FromMicros(int64_t micros) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(micros)));
}

std::string FormatInstant(Clock::time_point t) {
  int64_t us = MicrosSinceEpoch(t);
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

Result<int64_t> ParseInstantMicros(std::string_view text, std::string_view what) {
  // A '+' left unescaped in a query string arrives as a space: a space after the date's own
  // separator can only be an offset's sign.
  std::string instant(text);
  if (const size_t separator = instant.find_first_of("Tt "); separator != std::string::npos) {
    if (const size_t space = instant.rfind(' '); space != std::string::npos && space > separator) {
      instant[space] = '+';
    }
  }
  auto parsed = ParseIsoDateTime(instant);
  std::optional<int64_t> micros;
  if (parsed.ok()) micros = migsbyu::MicrosSinceEpoch(*parsed);
  if (!micros) {
    return Error::InvalidArgument(
        std::string(what) + ": " +
        (parsed.ok() ? "'" + std::string(text) + "' is out of range" : parsed.error().message()) +
        " (an ISO-8601 instant, e.g. 2026-11-25T16:15:00Z)");
  }
  return *micros;
}

}  // namespace migsbyu::analytics
