#include "cdc/value_codec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/civil_date.h"

namespace migsbyu::cdc {

using events::Value;
using events::ValueType;

namespace {

constexpr uint32_t kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kTextOid = 25,
                   kFloat4Oid = 700, kFloat8Oid = 701, kBpcharOid = 1042, kVarcharOid = 1043,
                   kDateOid = 1082, kTimestampOid = 1114, kTimestampTzOid = 1184,
                   kNumericOid = 1700;

Error Bad(ValueType, std::string_view text, std::string_view why) {
  return Error::InvalidArgument("cannot parse '" + std::string(text.substr(0, 64)) + "' as " +
                                std::string(why));
}

// Reads exactly `n` decimal digits at `*p`, advancing it.
bool Digits(std::string_view s, size_t* p, size_t n, int64_t* out) {
  if (*p + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*p + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return true;
}

// "YYYY-MM-DD" (year of 4 or more digits) at the start of `s`; `*p` ends after it.
bool ParseDatePart(std::string_view s, size_t* p, bool bc, int64_t* days) {
  size_t start = *p;
  while (*p < s.size() && s[*p] >= '0' && s[*p] <= '9') ++*p;
  size_t year_digits = *p - start;
  if (year_digits < 4 || year_digits > 6) return false;
  int64_t year = 0, month = 0, day = 0;
  size_t q = start;
  if (!Digits(s, &q, year_digits, &year)) return false;
  if (q >= s.size() || s[q] != '-') return false;
  ++q;
  if (!Digits(s, &q, 2, &month) || q >= s.size() || s[q] != '-') return false;
  ++q;
  if (!Digits(s, &q, 2, &day)) return false;
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  *p = q;
  // Year y BC is the proleptic year 1 - y.
  *days =
      DaysFromCivil(bc ? 1 - year : year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

bool EndsWithBc(std::string_view* s) {
  if (s->size() > 3 && s->substr(s->size() - 3) == " BC") {
    s->remove_suffix(3);
    return true;
  }
  return false;
}

Result<Value> ParseDate(std::string_view text) {
  if (text == "infinity") return Value::Integer(std::numeric_limits<int64_t>::max());
  if (text == "-infinity") return Value::Integer(std::numeric_limits<int64_t>::min());
  std::string_view s = text;
  bool bc = EndsWithBc(&s);
  size_t p = 0;
  int64_t days;
  if (!ParseDatePart(s, &p, bc, &days) || p != s.size()) return Bad(ValueType::kDate, text, "date");
  return Value::Integer(days);
}

Result<Value> ParseTimestamp(std::string_view text, bool with_zone) {
  const char* what = with_zone ? "timestamptz" : "timestamp";
  if (text == "infinity") return Value::Integer(std::numeric_limits<int64_t>::max());
  if (text == "-infinity") return Value::Integer(std::numeric_limits<int64_t>::min());
  std::string_view s = text;
  bool bc = EndsWithBc(&s);
  size_t p = 0;
  int64_t days;
  if (!ParseDatePart(s, &p, bc, &days)) return Bad(ValueType::kTimestamp, text, what);
  int64_t h, mi, sec;
  if (p >= s.size() || s[p] != ' ') return Bad(ValueType::kTimestamp, text, what);
  ++p;
  if (!Digits(s, &p, 2, &h) || p >= s.size() || s[p] != ':')
    return Bad(ValueType::kTimestamp, text, what);
  ++p;
  if (!Digits(s, &p, 2, &mi) || p >= s.size() || s[p] != ':')
    return Bad(ValueType::kTimestamp, text, what);
  ++p;
  if (!Digits(s, &p, 2, &sec)) return Bad(ValueType::kTimestamp, text, what);
  if (h > 24 || mi > 59 || sec > 60) return Bad(ValueType::kTimestamp, text, what);
  int64_t frac = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int digits = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (digits < 6) frac = frac * 10 + (s[p] - '0');
      ++digits;
      ++p;
    }
    if (digits == 0 || digits > 6) return Bad(ValueType::kTimestamp, text, what);
    for (int i = digits; i < 6; ++i) frac *= 10;
  }
  int64_t offset_s = 0;
  if (with_zone) {
    if (p >= s.size() || (s[p] != '+' && s[p] != '-'))
      return Bad(ValueType::kTimestampTz, text, what);
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int64_t oh = 0, om = 0, os = 0;
    if (!Digits(s, &p, 2, &oh)) return Bad(ValueType::kTimestampTz, text, what);
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!Digits(s, &p, 2, &om)) return Bad(ValueType::kTimestampTz, text, what);
      if (p < s.size() && s[p] == ':') {
        ++p;
        if (!Digits(s, &p, 2, &os)) return Bad(ValueType::kTimestampTz, text, what);
      }
    }
    offset_s = sign * (oh * 3600 + om * 60 + os);
  }
  if (p != s.size()) return Bad(ValueType::kTimestamp, text, what);
  int64_t seconds, us;
  if (__builtin_mul_overflow(days, int64_t{86400}, &seconds) ||
      __builtin_add_overflow(seconds, h * 3600 + mi * 60 + sec - offset_s, &seconds) ||
      __builtin_mul_overflow(seconds, int64_t{1000000}, &us) ||
      __builtin_add_overflow(us, frac, &us)) {
    return Bad(ValueType::kTimestamp, text, what);
  }
  return Value::Integer(us);
}

template <typename T>
Result<Value> ParseInteger(std::string_view text, const char* what) {
  T v{};
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return Error::InvalidArgument("cannot parse '" + std::string(text.substr(0, 64)) + "' as " +
                                  what);
  }
  return Value::Integer(static_cast<int64_t>(v));
}

Result<Value> ParseFloat(std::string_view text) {
  if (text == "NaN") return Value::Real(std::nan(""));
  if (text == "Infinity") return Value::Real(std::numeric_limits<double>::infinity());
  if (text == "-Infinity") return Value::Real(-std::numeric_limits<double>::infinity());
  std::string copy(text);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) {
    return Error::InvalidArgument("cannot parse '" + copy.substr(0, 64) + "' as float8");
  }
  return Value::Real(v);
}

}  // namespace

ValueType ValueTypeForOid(uint32_t oid) {
  switch (oid) {
    case kBoolOid:
      return ValueType::kBool;
    case kInt2Oid:
      return ValueType::kInt16;
    case kInt4Oid:
      return ValueType::kInt32;
    case kInt8Oid:
      return ValueType::kInt64;
    case kFloat4Oid:
    case kFloat8Oid:
      return ValueType::kFloat64;
    case kNumericOid:
      return ValueType::kNumeric;
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
      return ValueType::kText;
    case kDateOid:
      return ValueType::kDate;
    case kTimestampOid:
      return ValueType::kTimestamp;
    case kTimestampTzOid:
      return ValueType::kTimestampTz;
    default:
      return ValueType::kText;
  }
}

Result<Value> ParseTextValue(ValueType type, std::string_view text) {
  switch (type) {
    case ValueType::kBool:
      if (text == "t") return Value::Integer(1);
      if (text == "f") return Value::Integer(0);
      return Error::InvalidArgument("cannot parse '" + std::string(text.substr(0, 64)) +
                                    "' as bool");
    case ValueType::kInt16:
      return ParseInteger<int16_t>(text, "int2");
    case ValueType::kInt32:
      return ParseInteger<int32_t>(text, "int4");
    case ValueType::kInt64:
      return ParseInteger<int64_t>(text, "int8");
    case ValueType::kFloat64:
      return ParseFloat(text);
    case ValueType::kNumeric:
    case ValueType::kText:
      return Value::Text(std::string(text));
    case ValueType::kDate:
      return ParseDate(text);
    case ValueType::kTimestamp:
      return ParseTimestamp(text, false);
    case ValueType::kTimestampTz:
      return ParseTimestamp(text, true);
  }
  return Value::Text(std::string(text));
}

}  // namespace migsbyu::cdc
