#include "cdc/value_codec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/iso8601.h"

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

bool EndsWithBc(std::string_view* s) {
  if (s->size() > 3 && s->substr(s->size() - 3) == " BC") {
    s->remove_suffix(3);
    return true;
  }
  return false;
}

// PostgreSQL's date and timestamp output under DateStyle ISO: ISO-8601 (common/iso8601.h) with a
// space before the time, a zone only on timestamptz, and " BC" after the years before 1 AD.
Result<IsoDateTime> ParseDateTimeText(std::string_view text, const char* what, bool time,
                                      bool zone) {
  std::string_view s = text;
  const bool bc = EndsWithBc(&s);
  auto parsed = ParseIsoDateTime(s, bc);
  if (!parsed.ok()) {
    return Error::InvalidArgument(Bad(ValueType::kTimestamp, text, what).message() + " (" +
                                  parsed.error().message() + ")");
  }
  if (parsed->has_time != time || parsed->has_offset != zone) {
    return Bad(ValueType::kTimestamp, text, what);
  }
  return parsed;
}

Result<Value> ParseDate(std::string_view text) {
  if (text == "infinity") return Value::Integer(std::numeric_limits<int64_t>::max());
  if (text == "-infinity") return Value::Integer(std::numeric_limits<int64_t>::min());
  MIGSBYU_ASSIGN(IsoDateTime date, ParseDateTimeText(text, "date", false, false));
  return Value::Integer(DaysSinceEpoch(date));
}

Result<Value> ParseTimestamp(std::string_view text, bool with_zone) {
  const char* what = with_zone ? "timestamptz" : "timestamp";
  if (text == "infinity") return Value::Integer(std::numeric_limits<int64_t>::max());
  if (text == "-infinity") return Value::Integer(std::numeric_limits<int64_t>::min());
  MIGSBYU_ASSIGN(IsoDateTime t, ParseDateTimeText(text, what, true, with_zone));
  auto micros = MicrosSinceEpoch(t);
  if (!micros) return Bad(ValueType::kTimestamp, text, what);
  return Value::Integer(*micros);
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
