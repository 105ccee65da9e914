#include "transport/kafka/connect_codec.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "common/civil_date.h"
#include "common/decimal.h"
#include "common/iso8601.h"

namespace migsbyu::kafka {

Result<DecimalHandling> ParseDecimalHandling(std::string_view name) {
  if (name == "string") return DecimalHandling::kString;
  if (name == "double") return DecimalHandling::kDouble;
  if (name == "precise") return DecimalHandling::kPrecise;
  return Error::InvalidArgument("decimal.handling.mode '" + std::string(name) +
                                "': expected string, double or precise");
}

Result<TimePrecision> ParseTimePrecision(std::string_view name) {
  if (name == "iso_string" || name == "isostring") return TimePrecision::kIsoString;
  if (name == "adaptive" || name == "adaptive_time_microseconds") return TimePrecision::kAdaptive;
  if (name == "connect") return TimePrecision::kConnect;
  return Error::InvalidArgument("time.precision.mode '" + std::string(name) +
                                "': expected iso_string, adaptive or connect");
}

namespace connect {

using events::Column;
using events::TableSchema;
using events::Value;
using events::ValueType;

namespace {

constexpr char kSourceType[] = "__debezium.source.column.type";
constexpr char kSourceLength[] = "__debezium.source.column.length";
constexpr char kSourceScale[] = "__debezium.source.column.scale";

// ------------------------------------------------------------------------------ base64

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(n >> s) & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (rest == 2) n |= uint8_t(in[i + 1]) << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += rest == 2 ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (!p || c == '\0') return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ decimals

// Unscaled decimal digits → big-endian two's-complement bytes (minimal length).
std::string DigitsToTwosComplement(std::string digits, bool negative) {
  std::string bytes;  // little-endian magnitude
  while (!(digits.empty() || digits == "0")) {
    std::string quotient;
    int rem = 0;
    for (char c : digits) {
      rem = rem * 10 + (c - '0');
      if (!quotient.empty() || rem / 256) quotient += char('0' + rem / 256);
      rem %= 256;
    }
    bytes += char(rem);
    digits = quotient;
  }
  if (bytes.empty()) bytes += '\0';
  if (uint8_t(bytes.back()) & 0x80) bytes += '\0';
  if (negative) {
    int carry = 1;
    for (char& b : bytes) {
      int v = (uint8_t(~uint8_t(b))) + carry;
      b = char(v & 0xff);
      carry = v >> 8;
    }
  }
  std::reverse(bytes.begin(), bytes.end());
  return bytes;
}

// Big-endian two's-complement bytes → decimal text with `scale` fraction digits; nullopt for a
// scale or a length (417 bytes hold any 1000-digit value) beyond a numeric's, which would make the
// conversion's quadratic work hostile input's to choose.
std::optional<std::string> TwosComplementToDecimal(std::string bytes, int64_t scale) {
  if (scale < 0 || scale > kMaxDecimalDigits || bytes.size() > 417) return std::nullopt;
  bool negative = !bytes.empty() && (uint8_t(bytes[0]) & 0x80);
  if (negative) {
    int carry = 1;
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      int v = uint8_t(~uint8_t(*it)) + carry;
      *it = char(v & 0xff);
      carry = v >> 8;
    }
  }
  std::vector<int> dec{0};  // little-endian decimal digits
  for (char b : bytes) {
    int carry = uint8_t(b);
    for (int& d : dec) {
      int v = d * 256 + carry;
      d = v % 10;
      carry = v / 10;
    }
    while (carry) {
      dec.push_back(carry % 10);
      carry /= 10;
    }
  }
  while (dec.size() < size_t(scale) + 1) dec.push_back(0);
  while (dec.size() > size_t(scale) + 1 && dec.back() == 0) dec.pop_back();
  std::string out;
  for (size_t i = dec.size(); i-- > 0;) {
    out += char('0' + dec[i]);
    if (i == size_t(scale) && scale > 0) out += '.';
  }
  bool zero = std::all_of(dec.begin(), dec.end(), [](int d) { return d == 0; });
  return negative && !zero ? "-" + out : out;
}

// numeric(p, s) from pg_attribute.atttypmod; nullopt for unconstrained numeric.
std::optional<std::pair<int, int>> NumericPrecisionScale(int32_t typmod) {
  if (typmod < 4) return std::nullopt;
  return std::pair<int, int>{((typmod - 4) >> 16) & 0xffff, (typmod - 4) & 0x7ff};
}

// ------------------------------------------------------------------------------ time

// ISO 8601 text of a date/timestamp value: events::ValueToText with 'T' and 'Z'.
std::string IsoText(ValueType type, const Value& v) {
  std::string text = events::ValueToText(type, v);
  if (type == ValueType::kTimestamp || type == ValueType::kTimestampTz) {
    if (auto sp = text.find(' '); sp != std::string::npos) text[sp] = 'T';
  }
  if (type == ValueType::kTimestampTz && text.ends_with("+00")) {
    text.resize(text.size() - 3);
    text += 'Z';
  }
  return text;
}

// ------------------------------------------------------------------------------ type names

// PostgreSQL type name as Debezium's column.propagate.source.type prints it.
std::string SourceTypeName(const Column& c) {
  switch (c.type_oid) {
    case 1043:
      return "VARCHAR";
    case 1042:
      return "BPCHAR";
    case 25:
      return "TEXT";
    default:
      break;
  }
  switch (c.type) {
    case ValueType::kBool:
      return "BOOL";
    case ValueType::kInt16:
      return "INT2";
    case ValueType::kInt32:
      return "INT4";
    case ValueType::kInt64:
      return "INT8";
    case ValueType::kFloat64:
      return "FLOAT8";
    case ValueType::kNumeric:
      return "NUMERIC";
    case ValueType::kText:
      return "TEXT";
    case ValueType::kDate:
      return "DATE";
    case ValueType::kTimestamp:
      return "TIMESTAMP";
    case ValueType::kTimestampTz:
      return "TIMESTAMPTZ";
  }
  return "TEXT";
}

struct SourceType {
  ValueType type;
  uint32_t oid;
};

std::optional<SourceType> FromSourceTypeName(std::string_view name) {
  static const std::pair<std::string_view, SourceType> kTypes[] = {
      {"BOOL", {ValueType::kBool, 16}},
      {"INT2", {ValueType::kInt16, 21}},
      {"INT4", {ValueType::kInt32, 23}},
      {"INT8", {ValueType::kInt64, 20}},
      {"FLOAT8", {ValueType::kFloat64, 701}},
      {"NUMERIC", {ValueType::kNumeric, 1700}},
      {"TEXT", {ValueType::kText, 25}},
      {"VARCHAR", {ValueType::kText, 1043}},
      {"BPCHAR", {ValueType::kText, 1042}},
      {"DATE", {ValueType::kDate, 1082}},
      {"TIMESTAMP", {ValueType::kTimestamp, 1114}},
      {"TIMESTAMPTZ", {ValueType::kTimestampTz, 1184}},
      {"SERIAL", {ValueType::kInt32, 23}},
      {"BIGSERIAL", {ValueType::kInt64, 20}},
  };
  for (const auto& [n, t] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string Where(const TableSchema& t, const Column& c) {
  return t.schema + "." + t.name + "." + c.name;
}

// Timestamp precision from typmod: -1 (unspecified) means 6.
int TimestampPrecision(const Column& c) { return c.type_modifier < 0 ? 6 : c.type_modifier; }

}  // namespace

uint32_t DefaultOid(ValueType t) {
  switch (t) {
    case ValueType::kBool:
      return 16;
    case ValueType::kInt16:
      return 21;
    case ValueType::kInt32:
      return 23;
    case ValueType::kInt64:
      return 20;
    case ValueType::kFloat64:
      return 701;
    case ValueType::kNumeric:
      return 1700;
    case ValueType::kText:
      return 25;
    case ValueType::kDate:
      return 1082;
    case ValueType::kTimestamp:
      return 1114;
    case ValueType::kTimestampTz:
      return 1184;
  }
  return 25;
}

json FieldSchema(const Column& c, bool optional, const EnvelopeOptions& o) {
  json f;
  auto set_type = [&](const char* type, const char* name = nullptr) {
    f["type"] = type;
    f["optional"] = optional;
    if (name) {
      f["name"] = name;
      f["version"] = 1;
    }
  };
  json params = {{kSourceType, SourceTypeName(c)}};
  switch (c.type) {
    case ValueType::kBool:
      set_type("boolean");
      break;
    case ValueType::kInt16:
      set_type("int16");
      break;
    case ValueType::kInt32:
      set_type("int32");
      break;
    case ValueType::kInt64:
      set_type("int64");
      break;
    case ValueType::kFloat64:
      set_type("double");
      break;
    case ValueType::kText:
      set_type("string");
      break;
    case ValueType::kNumeric: {
      auto ps = NumericPrecisionScale(c.type_modifier);
      if (ps) {
        params[kSourceLength] = std::to_string(ps->first);
        params[kSourceScale] = std::to_string(ps->second);
      }
      if (o.decimal_handling == DecimalHandling::kString) {
        set_type("string");
      } else if (o.decimal_handling == DecimalHandling::kDouble) {
        set_type("double");
      } else if (ps) {
        set_type("bytes", "org.apache.kafka.connect.data.Decimal");
        params["scale"] = std::to_string(ps->second);
        params["connect.decimal.precision"] = std::to_string(ps->first);
      } else {
        f["type"] = "struct";
        f["fields"] = json::array({{{"type", "int32"}, {"optional", false}, {"field", "scale"}},
                                   {{"type", "bytes"}, {"optional", false}, {"field", "value"}}});
        f["optional"] = optional;
        f["name"] = "io.debezium.data.VariableScaleDecimal";
        f["version"] = 1;
        f["doc"] = "Variable scaled decimal";
      }
      break;
    }
    case ValueType::kDate:
      if (o.time_precision == TimePrecision::kIsoString)
        set_type("string", "io.debezium.time.IsoDate");
      else if (o.time_precision == TimePrecision::kAdaptive)
        set_type("int32", "io.debezium.time.Date");
      else
        set_type("int32", "org.apache.kafka.connect.data.Date");
      break;
    case ValueType::kTimestamp:
      if (c.type_modifier >= 0) params[kSourceLength] = std::to_string(c.type_modifier);
      if (o.time_precision == TimePrecision::kIsoString) {
        set_type("string", "io.debezium.time.IsoTimestamp");
      } else if (o.time_precision == TimePrecision::kAdaptive) {
        if (TimestampPrecision(c) <= 3)
          set_type("int64", "io.debezium.time.Timestamp");
        else
          set_type("int64", "io.debezium.time.MicroTimestamp");
      } else {
        set_type("int64", "org.apache.kafka.connect.data.Timestamp");
      }
      break;
    case ValueType::kTimestampTz:
      if (c.type_modifier >= 0) params[kSourceLength] = std::to_string(c.type_modifier);
      set_type("string", "io.debezium.time.ZonedTimestamp");
      break;
  }
  f["parameters"] = params;
  f["field"] = c.name;
  return f;
}

Result<json> EncodeColumnValue(const TableSchema& t, const Column& c, const Value& v,
                               const EnvelopeOptions& o) {
  if (v.state == Value::State::kNull) return json(nullptr);
  if (v.state == Value::State::kUnchangedToast) return json(kUnavailable);
  switch (c.type) {
    case ValueType::kBool:
      return json(v.integer != 0);
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64:
      return json(v.integer);
    case ValueType::kFloat64:
      return json(v.real);
    case ValueType::kText:
      return json(v.text);
    case ValueType::kNumeric: {
      if (o.decimal_handling == DecimalHandling::kString) return json(v.text);
      // Bounded by the column's numeric(p, s), or by PostgreSQL's largest declared numeric.
      auto ps = NumericPrecisionScale(c.type_modifier);
      DecimalBounds bounds;
      if (ps) bounds = {ps->first, ps->second};
      auto parts = ParseDecimal(v.text, bounds);
      if (!parts.ok()) {
        return parts.error().WithContext("kafka envelope: numeric " + Where(t, c));
      }
      if (o.decimal_handling == DecimalHandling::kDouble) {
        return json(std::strtod(v.text.c_str(), nullptr));
      }
      int scale = ps ? ps->second : parts->scale;
      std::string digits = parts->digits + std::string(scale - parts->scale, '0');
      std::string b64 = Base64Encode(DigitsToTwosComplement(digits, parts->negative));
      if (ps) return json(b64);
      return json{{"scale", scale}, {"value", b64}};
    }
    case ValueType::kDate:
      if (o.time_precision == TimePrecision::kIsoString) return json(IsoText(c.type, v));
      return json(v.integer);
    case ValueType::kTimestamp:
      if (o.time_precision == TimePrecision::kIsoString) return json(IsoText(c.type, v));
      if (o.time_precision == TimePrecision::kAdaptive && TimestampPrecision(c) > 3) {
        return json(v.integer);
      }
      return json(FloorDiv(v.integer, 1000));
    case ValueType::kTimestampTz:
      return json(IsoText(c.type, v));
  }
  return json(nullptr);
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Column and codec from a Kafka Connect field schema.
std::pair<Column, FieldCodec> ColumnFromFieldSchema(const json& f) {
  Column c;
  FieldCodec codec;
  c.name = Str(f, "field");
  const std::string type = Str(f, "type");
  const std::string name = Str(f, "name");
  json params =
      f.contains("parameters") && f["parameters"].is_object() ? f["parameters"] : json::object();
  if (type == "boolean")
    codec.type = ValueType::kBool;
  else if (type == "int8" || type == "int16")
    codec.type = ValueType::kInt16;
  else if (type == "int32") {
    codec.type = (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date")
                     ? ValueType::kDate
                     : ValueType::kInt32;
  } else if (type == "int64") {
    codec.type = ValueType::kInt64;
    if (name == "io.debezium.time.MicroTimestamp") {
      codec.type = ValueType::kTimestamp;
    } else if (name == "io.debezium.time.Timestamp" ||
               name == "org.apache.kafka.connect.data.Timestamp") {
      codec.type = ValueType::kTimestamp;
      codec.time_unit_us = 1000;
    } else if (name == "io.debezium.time.NanoTimestamp") {
      codec.type = ValueType::kTimestamp;
      codec.time_unit_us = -1000;
    }
  } else if (type == "float" || type == "double") {
    codec.type = ValueType::kFloat64;
  } else if (type == "bytes" && name == "org.apache.kafka.connect.data.Decimal") {
    codec.type = ValueType::kNumeric;
    codec.decimal_bytes = true;
    codec.decimal_scale = std::atoi(Str(params, "scale").c_str());
  } else if (type == "struct" && name == "io.debezium.data.VariableScaleDecimal") {
    codec.type = ValueType::kNumeric;
  } else if (type == "string") {
    if (name == "io.debezium.time.ZonedTimestamp")
      codec.type = ValueType::kTimestampTz;
    else if (name == "io.debezium.time.IsoDate")
      codec.type = ValueType::kDate;
    else if (name == "io.debezium.time.IsoTimestamp")
      codec.type = ValueType::kTimestamp;
    else
      codec.type = ValueType::kText;
  }
  c.type = codec.type;
  c.type_oid = DefaultOid(c.type);
  // column.propagate.source.type refines the type (string-encoded numerics, varchar, ...).
  if (auto st = FromSourceTypeName(Str(params, kSourceType))) {
    bool compatible =
        st->type == c.type || (c.type == ValueType::kText && st->type == ValueType::kNumeric);
    if (compatible) {
      c.type = codec.type = st->type;
      c.type_oid = st->oid;
    }
  }
  std::string length = Str(params, kSourceLength), scale = Str(params, kSourceScale);
  const int declared_length = std::atoi(length.c_str()), declared_scale = std::atoi(scale.c_str());
  if (c.type == ValueType::kNumeric && !length.empty() && declared_length > 0 &&
      declared_length <= kMaxDecimalDigits && declared_scale >= 0 &&
      declared_scale <= declared_length) {
    // Otherwise (a hostile or absent declaration) the column is an unconstrained numeric.
    c.type_modifier = ((declared_length << 16) | declared_scale) + 4;
  } else if ((c.type == ValueType::kTimestamp || c.type == ValueType::kTimestampTz) &&
             !length.empty()) {
    c.type_modifier = std::atoi(length.c_str());
  }
  return {c, codec};
}

FieldCodec InferCodec(const json& v) {
  FieldCodec codec;
  if (v.is_boolean())
    codec.type = ValueType::kBool;
  else if (v.is_number_integer())
    codec.type = ValueType::kInt64;
  else if (v.is_number_float())
    codec.type = ValueType::kFloat64;
  else if (v.is_object() && v.contains("scale") && v.contains("value"))
    codec.type = ValueType::kNumeric;
  return codec;
}

Result<Value> DecodeColumnValue(const json& v, const FieldCodec& codec, const std::string& where) {
  auto bad = [&](const char* expected) {
    return Error::Corruption("kafka envelope: " + where + " = " + v.dump().substr(0, 120) +
                             " is not " + expected);
  };
  // Decimal bytes and scales are bounded before anything is allocated for them: PostgreSQL's
  // numeric has at most 1000 digits of precision and a scale of at most 1000.
  auto decimal_bytes = [&](const std::string& b64, int64_t scale) -> Result<std::string> {
    if (scale < 0 || scale > kMaxDecimalDigits) return bad("a decimal with a scale of 0 to 1000");
    if (b64.size() > kMaxDecimalBase64) return bad("a decimal of at most 1000 digits");
    auto bytes = Base64Decode(b64);
    if (!bytes) return bad("base64 decimal bytes");
    auto text = TwosComplementToDecimal(*bytes, scale);
    if (!text) return bad("a decimal of at most 1000 digits");
    return *std::move(text);
  };
  if (v.is_null()) return Value::Null();
  if (v.is_string() && v.get_ref<const std::string&>() == kUnavailable)
    return Value::UnchangedToast();
  switch (codec.type) {
    case ValueType::kBool:
      if (!v.is_boolean()) return bad("a boolean");
      return Value::Integer(v.get<bool>() ? 1 : 0);
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64:
      if (!v.is_number_integer()) return bad("an integer");
      return Value::Integer(v.get<int64_t>());
    case ValueType::kFloat64:
      if (!v.is_number()) return bad("a number");
      return Value::Real(v.get<double>());
    case ValueType::kText:
      if (v.is_string()) return Value::Text(v.get<std::string>());
      return Value::Text(v.dump());
    case ValueType::kNumeric: {
      if (v.is_object()) {
        if (!v.contains("scale") || !v["scale"].is_number_integer() || !v.contains("value") ||
            !v["value"].is_string()) {
          return bad("a VariableScaleDecimal {scale, value}");
        }
        MIGSBYU_ASSIGN(std::string text,
                       decimal_bytes(v["value"].get<std::string>(), v["scale"].get<int64_t>()));
        return Value::Text(std::move(text));
      }
      if (!v.is_string()) {
        if (v.is_number()) return Value::Text(v.dump());
        return bad("a decimal");
      }
      const std::string& s = v.get_ref<const std::string&>();
      if (codec.decimal_bytes) {
        MIGSBYU_ASSIGN(std::string text, decimal_bytes(s, codec.decimal_scale));
        return Value::Text(std::move(text));
      }
      if (s.size() > kMaxDecimalDigits + 2) return bad("a decimal of at most 1000 digits");
      if (s == "NaN" || s == "Infinity" || s == "-Infinity") return Value::Text(s);
      if (!ParseDecimal(s).ok()) return bad("a decimal");
      return Value::Text(s);
    }
    case ValueType::kDate: {
      if (v.is_number_integer()) return Value::Integer(v.get<int64_t>());
      if (!v.is_string()) return bad("a date");
      auto d = ParseIsoDateTime(v.get_ref<const std::string&>());
      if (!d.ok() || d->has_time) return bad("an ISO date");
      return Value::Integer(DaysSinceEpoch(*d));
    }
    case ValueType::kTimestamp:
    case ValueType::kTimestampTz: {
      if (v.is_number_integer()) {
        int64_t n = v.get<int64_t>();
        if (codec.time_unit_us < 0) return Value::Integer(FloorDiv(n, -codec.time_unit_us));
        return Value::Integer(n * codec.time_unit_us);
      }
      if (!v.is_string()) return bad("a timestamp");
      auto ts = ParseIsoDateTime(v.get_ref<const std::string&>());
      std::optional<int64_t> micros;
      if (ts.ok() && ts->has_time) micros = MicrosSinceEpoch(*ts);
      if (!micros) return bad("an ISO timestamp");
      return Value::Integer(*micros);
    }
  }
  return bad("decodable");
}

}  // namespace connect
}  // namespace migsbyu::kafka
