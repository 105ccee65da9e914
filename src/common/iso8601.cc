#include "common/iso8601.h"

#include <string>

#include "common/civil_date.h"

namespace migsbyu {
namespace {

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
  bool TakeAny(std::string_view set) {
    if (pos_ >= text_.size() || set.find(text_[pos_]) == std::string_view::npos) return false;
    ++pos_;
    return true;
  }
  // How many decimal digits follow, up to `max`.
  size_t DigitRun(size_t max) const {
    size_t n = 0;
    while (n < max && pos_ + n < text_.size() && text_[pos_ + n] >= '0' && text_[pos_ + n] <= '9')
      ++n;
    return n;
  }
  // Exactly `n` decimal digits.
  bool Number(size_t n, int64_t* out) {
    if (DigitRun(n) != n) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v * 10 + (text_[pos_ + i] - '0');
    pos_ += n;
    *out = v;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

Error Invalid(std::string_view text, std::string_view why) {
  std::string quoted(text.substr(0, 64));
  if (text.size() > 64) quoted += "...";
  return Error::InvalidArgument("'" + quoted +
                                "' is not an ISO-8601 date or date-time: " + std::string(why));
}

}  // namespace

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

Result<IsoDateTime> ParseIsoDateTime(std::string_view text, bool before_christ) {
  Scanner s(text);
  IsoDateTime t;
  const size_t year_digits = s.DigitRun(7);
  if (year_digits < 4 || year_digits > 6) return Invalid(text, "expected a year of 4 to 6 digits");
  int64_t month, day;
  if (!s.Number(year_digits, &t.year) || !s.Take('-') || !s.Number(2, &month) || !s.Take('-') ||
      !s.Number(2, &day)) {
    return Invalid(text, "expected YYYY-MM-DD");
  }
  if (before_christ) {
    if (t.year == 0) return Invalid(text, "no year 0 BC");
    t.year = 1 - t.year;
  }
  if (month < 1 || month > 12) return Invalid(text, "no month " + std::to_string(month));
  t.month = static_cast<unsigned>(month);
  if (day < 1 || day > DaysInMonth(t.year, t.month)) return Invalid(text, "no such day");
  t.day = static_cast<unsigned>(day);
  if (s.Done()) return t;

  if (!s.TakeAny("Tt ")) return Invalid(text, "expected 'T' or a space after the date");
  t.has_time = true;
  int64_t hour, minute, second = 0;
  if (!s.Number(2, &hour) || !s.Take(':') || !s.Number(2, &minute)) {
    return Invalid(text, "expected HH:MM after the date");
  }
  if (s.Take(':')) {
    if (!s.Number(2, &second)) return Invalid(text, "expected two digits of seconds");
    if (s.Take('.')) {
      const size_t digits = s.DigitRun(10);
      if (digits == 0 || digits > 9) return Invalid(text, "expected 1 to 9 fraction digits");
      int64_t fraction;
      s.Number(digits, &fraction);
      for (size_t i = digits; i < 9; ++i) fraction *= 10;
      t.micros = static_cast<uint32_t>(fraction / 1000);
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return Invalid(text, "time out of range");
  t.hour = static_cast<unsigned>(hour);
  t.minute = static_cast<unsigned>(minute);
  t.second = static_cast<unsigned>(second);
  if (s.Done()) return t;

  t.has_offset = true;
  if (s.TakeAny("Zz")) {
  } else if (s.Peek('+') || s.Peek('-')) {
    const int sign = s.Take('-') ? -1 : (s.Take('+'), 1);
    int64_t oh, om = 0, os = 0;
    if (!s.Number(2, &oh)) return Invalid(text, "expected the offset's hours");
    const bool colon = s.Take(':');
    if (colon || !s.Done()) {
      if (!s.Number(2, &om)) return Invalid(text, "expected the offset's minutes");
      if (colon && s.Take(':') && !s.Number(2, &os)) {
        return Invalid(text, "expected the offset's seconds");
      }
    }
    if (oh > 23 || om > 59 || os > 59) return Invalid(text, "offset out of range");
    t.offset_seconds = static_cast<int32_t>(sign * (oh * 3600 + om * 60 + os));
  } else {
    return Invalid(text, "unexpected text after the time");
  }
  if (!s.Done()) return Invalid(text, "unexpected text after the offset");
  return t;
}

int64_t DaysSinceEpoch(const IsoDateTime& t) { return DaysFromCivil(t.year, t.month, t.day); }

std::optional<int64_t> MicrosSinceEpoch(const IsoDateTime& t) {
  const int64_t second_of_day = int64_t{t.hour} * 3600 + int64_t{t.minute} * 60 +
                                int64_t{t.second} - int64_t{t.offset_seconds};
  int64_t seconds, micros;
  if (__builtin_mul_overflow(DaysSinceEpoch(t), int64_t{86400}, &seconds) ||
      __builtin_add_overflow(seconds, second_of_day, &seconds) ||
      __builtin_mul_overflow(seconds, int64_t{1000000}, &micros) ||
      __builtin_add_overflow(micros, int64_t{t.micros}, &micros)) {
    return std::nullopt;
  }
  return micros;
}

}  // namespace migsbyu
