#include "analytics/instant.h"

#include <cstdio>
#include <ctime>

#include "common/civil_date.h"

namespace migsbyu::analytics {
namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  bool Done() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  // Exactly `digits` decimal digits.
  bool Number(int digits, int64_t* out) {
    int64_t v = 0;
    for (int i = 0; i < digits; ++i) {
      if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') return false;
      v = v * 10 + (text_[pos_++] - '0');
    }
    *out = v;
    return true;
  }
  // One or more digits as a fraction of a second, in microseconds.
  bool Fraction(int64_t* micros) {
    int64_t v = 0;
    int n = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (n < 6) v = v * 10 + (text_[pos_] - '0');
      ++n;
      ++pos_;
    }
    for (int i = n; i < 6; ++i) v *= 10;
    *micros = v;
    return n > 0;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

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
  auto invalid = [&] {
    return Error::InvalidArgument(std::string(what) + ": '" + std::string(text) +
                                  "' is not an ISO-8601 instant (e.g. 2026-11-25T16:15:00Z)");
  };
  Scanner s(text);
  int64_t year, month, day, hour = 0, minute = 0, second = 0, micros = 0;
  if (!s.Number(4, &year) || !s.Take('-') || !s.Number(2, &month) || !s.Take('-') ||
      !s.Number(2, &day)) {
    return invalid();
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return invalid();
  int64_t offset_minutes = 0;
  if (!s.Done()) {
    if (!s.Take('T') && !s.Take('t') && !s.Take(' ')) return invalid();
    if (!s.Number(2, &hour) || !s.Take(':') || !s.Number(2, &minute)) return invalid();
    if (s.Take(':')) {
      if (!s.Number(2, &second)) return invalid();
      if (s.Take('.') && !s.Fraction(&micros)) return invalid();
    }
    if (hour > 23 || minute > 59 || second > 59) return invalid();
    if (s.Take('Z') || s.Take('z')) {
    } else if (s.Peek('+') || s.Peek('-') || s.Peek(' ')) {
      // A '+' left unescaped in a query string arrives as a space.
      int sign = s.Take('+') || s.Take(' ') ? 1 : (s.Take('-'), -1);
      int64_t oh, om = 0;
      if (!s.Number(2, &oh)) return invalid();
      if (s.Take(':')) {
        if (!s.Number(2, &om)) return invalid();
      } else if (!s.Done()) {
        if (!s.Number(2, &om)) return invalid();
      }
      if (oh > 23 || om > 59) return invalid();
      offset_minutes = sign * (oh * 60 + om);
    }
    if (!s.Done()) return invalid();
  }
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000000 + micros;
}

}  // namespace migsbyu::analytics
