#include "transport/kafka/envelope.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/actor.h"
#include "common/civil_date.h"
#include "common/decimal.h"
#include "common/identifier.h"
#include "common/iso8601.h"

namespace migsbyu::kafka {

using events::ChangeEvent;
using events::Column;
using events::Operation;
using events::TableSchema;
using events::Value;
using events::ValueType;
using json = nlohmann::ordered_json;

namespace {

constexpr char kConnectorVersion[] = "migsbyu-0.1.0";
// Debezium's unavailable.value.placeholder default: an unchanged TOASTed value.
constexpr char kUnavailable[] = "__debezium_unavailable_value";
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

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

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

// ------------------------------------------------------------------------------ encoding

std::string Where(const TableSchema& t, const Column& c) {
  return t.schema + "." + t.name + "." + c.name;
}

// Timestamp precision from typmod: -1 (unspecified) means 6.
int TimestampPrecision(const Column& c) { return c.type_modifier < 0 ? 6 : c.type_modifier; }

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

Result<json> EncodeRow(const TableSchema& t, const events::Row& row, const EnvelopeOptions& o,
                       bool key_only) {
  json out = json::object();
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    if (key_only && !c.key) continue;
    const Value& v = i < row.size() ? row[i] : Value::Null();
    MIGSBYU_ASSIGN(out[c.name], EncodeColumnValue(t, c, v, o));
  }
  return out;
}

json RowSchema(const TableSchema& t, const EnvelopeOptions& o, bool key_only,
               const std::string& name, const char* field) {
  json fields = json::array();
  for (const Column& c : t.columns) {
    if (key_only && !c.key) continue;
    fields.push_back(FieldSchema(c, !c.key, o));
  }
  json s = {{"type", "struct"}, {"fields", fields}, {"optional", !key_only}, {"name", name}};
  if (field) s["field"] = field;
  return s;
}

std::string Prefix(const EnvelopeOptions& o, const TableSchema& t) {
  return o.topic_prefix + "." + t.schema + "." + t.name;
}

json SimpleField(const char* type, const char* field, bool optional) {
  return {{"type", type}, {"optional", optional}, {"field", field}};
}

json ValueSchema(const TableSchema& t, const EnvelopeOptions& o) {
  const std::string prefix = Prefix(o, t);
  json source_fields = json::array({SimpleField("string", "version", false),
                                    SimpleField("string", "connector", false),
                                    SimpleField("string", "name", false),
                                    SimpleField("int64", "ts_ms", false),
                                    {{"type", "string"},
                                     {"optional", true},
                                     {"name", "io.debezium.data.Enum"},
                                     {"version", 1},
                                     {"parameters", {{"allowed", "true,last,false,incremental"}}},
                                     {"default", "false"},
                                     {"field", "snapshot"}},
                                    SimpleField("string", "db", false),
                                    SimpleField("string", "sequence", true),
                                    SimpleField("int64", "ts_us", true),
                                    SimpleField("int64", "ts_ns", true),
                                    SimpleField("string", "schema", false),
                                    SimpleField("string", "table", false),
                                    SimpleField("int64", "txId", true),
                                    SimpleField("int64", "lsn", true),
                                    SimpleField("int64", "xmin", true),
                                    SimpleField("int64", "commit_lsn", true),
                                    SimpleField("int64", "end_lsn", true),
                                    SimpleField("string", "changed_by", true),
                                    SimpleField("string", "origin", true)});
  json tx_fields =
      json::array({SimpleField("string", "id", false), SimpleField("int64", "total_order", false),
                   SimpleField("int64", "data_collection_order", false)});
  json fields = json::array({RowSchema(t, o, false, prefix + ".Value", "before"),
                             RowSchema(t, o, false, prefix + ".Value", "after"),
                             {{"type", "struct"},
                              {"fields", source_fields},
                              {"optional", false},
                              {"name", "io.debezium.connector.postgresql.Source"},
                              {"field", "source"}},
                             {{"type", "struct"},
                              {"fields", tx_fields},
                              {"optional", true},
                              {"name", "event.block"},
                              {"version", 1},
                              {"field", "transaction"}},
                             SimpleField("string", "op", false),
                             SimpleField("int64", "ts_ms", true),
                             SimpleField("int64", "ts_us", true),
                             SimpleField("int64", "ts_ns", true)});
  return {{"type", "struct"},
          {"fields", fields},
          {"optional", false},
          {"name", prefix + ".Envelope"},
          {"version", 1}};
}

// The schema parts depend only on the table and the options, so each thread keeps the dumped
// text of the last few tables' schemas: building them costs ten times the payload.
struct SchemaTexts {
  TableSchema table;
  std::string prefix;
  DecimalHandling decimal;
  TimePrecision time;
  std::string key;    // the key schema, dumped
  std::string value;  // the envelope schema, dumped
};

const SchemaTexts& CachedSchemas(const TableSchema& t, const EnvelopeOptions& o) {
  constexpr size_t kMaxTables = 64;
  thread_local std::vector<SchemaTexts> cache;
  for (const auto& e : cache) {
    if (e.decimal == o.decimal_handling && e.time == o.time_precision &&
        e.prefix == o.topic_prefix && e.table.name == t.name && e.table.schema == t.schema &&
        e.table.columns == t.columns) {
      return e;
    }
  }
  if (cache.size() >= kMaxTables) cache.erase(cache.begin());
  cache.push_back({t, o.topic_prefix, o.decimal_handling, o.time_precision,
                   RowSchema(t, o, true, Prefix(o, t) + ".Key", nullptr).dump(),
                   ValueSchema(t, o).dump()});
  return cache.back();
}

std::string WithSchema(const std::string& schema_text, const json& payload) {
  std::string out = "{\"schema\":";
  out += schema_text;
  out += ",\"payload\":";
  out += payload.dump();
  out += '}';
  return out;
}

}  // namespace

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

std::string TopicName(const EnvelopeOptions& options, const TableSchema& table) {
  return Prefix(options, table);
}

Result<std::optional<std::string>> EncodeKey(const ChangeEvent& change,
                                             const EnvelopeOptions& options) {
  const TableSchema& t = *change.table;
  const events::Row* row = change.after    ? &*change.after
                           : change.before ? &*change.before
                                           : nullptr;
  bool has_key = std::any_of(t.columns.begin(), t.columns.end(), [](auto& c) { return c.key; });
  if (!row || !has_key || change.op == Operation::kTruncate) return std::optional<std::string>();
  MIGSBYU_ASSIGN(json payload, EncodeRow(t, *row, options, true));
  if (!options.schemas_enable) return std::optional<std::string>(payload.dump());
  return std::optional<std::string>(WithSchema(CachedSchemas(t, options).key, payload));
}

Result<std::string> EncodeValue(const ChangeEvent& change, const EnvelopeContext& context,
                                const EnvelopeOptions& options) {
  const TableSchema& t = *change.table;
  json payload;
  if (change.before) {
    MIGSBYU_ASSIGN(payload["before"], EncodeRow(t, *change.before, options, false));
  } else {
    payload["before"] = nullptr;
  }
  if (change.after) {
    MIGSBYU_ASSIGN(payload["after"], EncodeRow(t, *change.after, options, false));
  } else {
    payload["after"] = nullptr;
  }
  json last_commit = context.last_commit_lsn
                         ? json(std::to_string(context.last_commit_lsn->value()))
                         : json(nullptr);
  json sequence = json::array({last_commit, std::to_string(change.lsn.value())});
  payload["source"] = {
      {"version", kConnectorVersion},
      {"connector", "postgresql"},
      {"name", options.topic_prefix},
      {"ts_ms", FloorDiv(change.commit_time_us, 1000)},
      {"snapshot", context.snapshot ? (context.last_snapshot_record ? "last" : "true") : "false"},
      {"db", options.database},
      {"sequence", sequence.dump()},
      {"ts_us", change.commit_time_us},
      {"ts_ns", change.commit_time_us * 1000},
      {"schema", t.schema},
      {"table", t.name},
      {"txId", change.xid},
      {"lsn", change.lsn.value()},
      {"xmin", nullptr},
      {"commit_lsn", change.commit_lsn.value()},
      {"end_lsn", context.end_lsn.IsZero() ? json(nullptr) : json(context.end_lsn.value())},
      {"changed_by", change.actor.user ? json(*change.actor.user) : json(nullptr)},
      {"origin", change.actor.origin},
  };
  payload["transaction"] = {{"id", TransactionId(change.xid, change.commit_lsn)},
                            {"total_order", change.position + 1},
                            {"data_collection_order", context.data_collection_order}};
  payload["op"] = std::string(1, static_cast<char>(change.op));
  payload["ts_ms"] = FloorDiv(context.processed_at_us, 1000);
  payload["ts_us"] = context.processed_at_us;
  payload["ts_ns"] = context.processed_at_us * 1000;
  if (!options.schemas_enable) return payload.dump();
  return WithSchema(CachedSchemas(t, options).value, payload);
}

std::string TableOfTopic(std::string_view topic) {
  const size_t dot = topic.find_last_of('.');
  return std::string(dot == std::string_view::npos ? topic : topic.substr(dot + 1));
}

std::string TransactionId(uint32_t xid, Lsn commit_lsn) {
  return std::to_string(xid) + ":" + std::to_string(commit_lsn.value());
}

std::string TransactionTopic(const EnvelopeOptions& options) {
  return options.topic_prefix + ".transaction";
}

std::pair<std::string, std::string> EncodeTransactionRecord(
    const std::string& id, const std::optional<std::vector<DataCollectionCount>>& end,
    int64_t ts_us, const EnvelopeOptions& options) {
  json key = {{"id", id}};
  json value = {{"status", end ? "END" : "BEGIN"}, {"id", id}};
  if (end) {
    uint64_t total = 0;
    json collections = json::array();
    for (const auto& c : *end) {
      total += c.event_count;
      collections.push_back(
          {{"data_collection", c.data_collection}, {"event_count", c.event_count}});
    }
    value["event_count"] = total;
    value["data_collections"] = std::move(collections);
  } else {
    value["event_count"] = nullptr;
    value["data_collections"] = nullptr;
  }
  value["ts_ms"] = FloorDiv(ts_us, 1000);
  if (!options.schemas_enable) return {key.dump(), value.dump()};
  // Debezium's schemas for these records (io.debezium.connector.common.TransactionMetadata*).
  static const std::string key_schema =
      json{{"type", "struct"},
           {"fields", json::array({SimpleField("string", "id", false)})},
           {"optional", false},
           {"name", "io.debezium.connector.common.TransactionMetadataKey"}}
          .dump();
  static const std::string value_schema =
      json{{"type", "struct"},
           {"fields",
            json::array({SimpleField("string", "status", false),
                         SimpleField("string", "id", false),
                         SimpleField("int64", "event_count", true),
                         {{"type", "array"},
                          {"items",
                           {{"type", "struct"},
                            {"fields", json::array({SimpleField("string", "data_collection", false),
                                                    SimpleField("int64", "event_count", false)})},
                            {"optional", false}}},
                          {"optional", true},
                          {"field", "data_collections"}},
                         SimpleField("int64", "ts_ms", false)})},
           {"optional", false},
           {"name", "io.debezium.connector.common.TransactionMetadataValue"}}
          .dump();
  return {WithSchema(key_schema, key), WithSchema(value_schema, value)};
}

// ---------------------------------------------------------------------------------- decoding

namespace {

// How one column's values are written, from its field schema (or inferred).
struct FieldCodec {
  ValueType type = ValueType::kText;
  int64_t time_unit_us = 1;    // int64 timestamps: 1 (µs), 1000 (ms); -1000 for ns
  bool decimal_bytes = false;  // org.apache.kafka.connect.data.Decimal
  int decimal_scale = 0;
};

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

Result<Lsn> LsnFromJson(const json& j, const char* what) {
  if (j.is_number_unsigned() || j.is_number_integer()) return Lsn(j.get<uint64_t>());
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return Lsn(v);
    if (auto lsn = Lsn::Parse(s)) return *lsn;
  }
  return Error::Corruption(std::string("kafka envelope: ") + what + " = " + j.dump() +
                           " is not an LSN");
}

// source.changed_by and source.origin (ours); an event without an origin (Debezium's own) was
// made outside MigsbyU.
Result<Actor> ActorOf(const json& source, const std::string& where_table) {
  auto origin = source.find("origin");
  if (origin == source.end() || origin->is_null()) return Actor::Database();
  auto bad = [&](const std::string& what) {
    return Error::Corruption("kafka envelope: source of " + where_table + ": " + what);
  };
  if (!origin->is_string()) return bad("origin is not a string");
  Actor actor;
  actor.origin = origin->get<std::string>();
  auto user = source.find("changed_by");
  if (user != source.end() && !user->is_null()) {
    if (!user->is_string()) return bad("changed_by is not a string");
    actor.user = user->get<std::string>();
  }
  if (Status checked = CheckActor(actor); !checked.ok()) return bad(checked.error().message());
  return actor;
}

// Calls on_depth(i, depth) at each bracket of `text` from `begin` on that lies outside strings
// (escapes honoured), with the nesting depth after it; stops and returns i when on_depth says
// so, npos at the end.
template <typename F>
size_t ScanBrackets(std::string_view text, size_t begin, F on_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = begin; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[' || c == '}' || c == ']') {
      depth += c == '{' || c == '[' ? 1 : -1;
      if (on_depth(i, depth)) return i;
    }
  }
  return std::string_view::npos;
}

// Whether objects and arrays in `text` nest deeper than `limit` (the scan stops there): the
// parser and a JSON value's destruction recurse, so deeper input is refused before parsing.
bool NestsDeeperThan(std::string_view text, int limit) {
  return ScanBrackets(text, 0, [limit](size_t, int depth) { return depth > limit; }) !=
         std::string_view::npos;
}

// Refuses text too large or too deep to parse safely (see kMaxMessageBytes, kMaxJsonDepth).
Status CheckParsable(std::string_view text, const char* what) {
  if (text.size() > kMaxMessageBytes) {
    return Error::Corruption(std::string("kafka envelope: ") + what + " of " +
                             std::to_string(text.size()) + " bytes (at most " +
                             std::to_string(kMaxMessageBytes) + ")");
  }
  if (NestsDeeperThan(text, kMaxJsonDepth)) {
    return Error::Corruption(std::string("kafka envelope: ") + what + " nests deeper than " +
                             std::to_string(kMaxJsonDepth) + " levels");
  }
  return OkStatus();
}

Result<json> ParseJson(const std::string& text, const char* what) {
  MIGSBYU_TRY(CheckParsable(text, what));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return Error::Corruption(std::string("kafka envelope: ") + what +
                             " is not JSON: " + text.substr(0, 80));
  }
  return j;
}

// {"schema", "payload"} → (schema or null, payload); anything else is a schemaless payload.
std::pair<json, json> SplitSchema(json j) {
  if (j.is_object() && j.contains("payload") && j.contains("schema") && j.size() == 2) {
    return {std::move(j["schema"]), std::move(j["payload"])};
  }
  return {json(nullptr), std::move(j)};
}

const json* FieldOf(const json& struct_schema, const char* name) {
  if (!struct_schema.is_object() || !struct_schema.contains("fields")) return nullptr;
  for (const json& f : struct_schema["fields"]) {
    if (Str(f, "field") == name) return &f;
  }
  return nullptr;
}

// The columns a value schema declares for its before/after rows, with their codecs.
struct RowColumns {
  bool present = false;  // the schema has a before or after struct
  std::vector<Column> columns;
  std::vector<FieldCodec> codecs;
};

RowColumns RowColumnsOf(const json& schema) {
  RowColumns out;
  const json* row_schema = FieldOf(schema, "after");
  if (!row_schema) row_schema = FieldOf(schema, "before");
  if (!row_schema || !row_schema->contains("fields")) return out;
  out.present = true;
  for (const json& f : (*row_schema)["fields"]) {
    auto [c, codec] = ColumnFromFieldSchema(f);
    out.columns.push_back(std::move(c));
    out.codecs.push_back(codec);
  }
  return out;
}

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  return i;
}

// Where the JSON object or array that opens at t[begin] ends (one past its closing bracket),
// honouring strings and escapes; npos when it does not close.
size_t CompositeEnd(std::string_view t, size_t begin) {
  size_t close = ScanBrackets(t, begin, [](size_t, int depth) { return depth == 0; });
  return close == std::string_view::npos ? close : close + 1;
}

// The texts of S and P in a value written as {"schema":S,"payload":P}, in that order, as Kafka
// Connect's JSON converter and our sink write it; false for any other shape (the caller then
// parses the whole value). Locating them costs a scan, not a parse.
bool SplitSchemaText(std::string_view t, std::string_view* schema, std::string_view* payload) {
  constexpr std::string_view kSchema = "\"schema\"", kPayload = "\"payload\"";
  size_t i = SkipSpace(t, 0);
  if (i >= t.size() || t[i] != '{') return false;
  i = SkipSpace(t, i + 1);
  if (t.substr(i, kSchema.size()) != kSchema) return false;
  i = SkipSpace(t, i + kSchema.size());
  if (i >= t.size() || t[i] != ':') return false;
  i = SkipSpace(t, i + 1);
  if (i >= t.size() || t[i] != '{') return false;
  size_t end = CompositeEnd(t, i);
  if (end == std::string_view::npos) return false;
  *schema = t.substr(i, end - i);
  i = SkipSpace(t, end);
  if (i >= t.size() || t[i] != ',') return false;
  i = SkipSpace(t, i + 1);
  if (t.substr(i, kPayload.size()) != kPayload) return false;
  i = SkipSpace(t, i + kPayload.size());
  if (i >= t.size() || t[i] != ':') return false;
  i = SkipSpace(t, i + 1);
  size_t last = t.find_last_not_of(" \n\r\t");
  if (last == std::string_view::npos || last <= i || t[last] != '}') return false;
  *payload = t.substr(i, last - i);
  return true;
}

// The row columns of a value schema text, parsed once per thread and schema: a topic's messages
// repeat the same ~4 KB schema, which would otherwise be most of the decoding work. nullptr when
// the text does not parse.
const RowColumns* CachedRowColumns(std::string_view schema_text) {
  constexpr size_t kMaxSchemas = 64;
  thread_local std::unordered_map<std::string, RowColumns> cache;
  if (auto it = cache.find(std::string(schema_text)); it != cache.end()) return &it->second;
  json schema = json::parse(schema_text, nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) return nullptr;
  if (cache.size() >= kMaxSchemas) cache.clear();
  return &cache.emplace(std::string(schema_text), RowColumnsOf(schema)).first->second;
}

}  // namespace

Result<std::optional<DecodedChange>> DecodeEnvelope(const std::string* key,
                                                    const std::string* value) {
  if (!value) return std::optional<DecodedChange>();
  MIGSBYU_TRY(CheckParsable(*value, "value"));
  if (key) MIGSBYU_TRY(CheckParsable(*key, "key"));
  json payload;
  const RowColumns* row_columns = nullptr;
  RowColumns parsed_columns;
  std::string_view schema_text, payload_text;
  if (SplitSchemaText(*value, &schema_text, &payload_text)) {
    row_columns = CachedRowColumns(schema_text);
    if (row_columns) {
      payload = json::parse(payload_text, nullptr, false);
      if (payload.is_discarded()) row_columns = nullptr;
    }
  }
  if (!row_columns) {
    MIGSBYU_ASSIGN(json whole, ParseJson(*value, "value"));
    if (whole.is_null()) return std::optional<DecodedChange>();
    auto [schema, rest] = SplitSchema(std::move(whole));
    payload = std::move(rest);
    parsed_columns = RowColumnsOf(schema);
    row_columns = &parsed_columns;
  }
  // Not row changes: Debezium's transaction metadata (BEGIN/END) and logical messages (op m).
  if (payload.is_object() && !payload.contains("op") && payload.contains("status")) {
    return std::optional<DecodedChange>();
  }
  if (payload.is_object() && payload.value("op", json()) == "m")
    return std::optional<DecodedChange>();
  if (!payload.is_object() || !payload.contains("source") || !payload["source"].is_object() ||
      !payload.contains("op") || !payload["op"].is_string()) {
    return Error::Corruption("kafka envelope: value has no source or op: " + value->substr(0, 120));
  }
  const json& source = payload["source"];
  const std::string op = payload["op"].get<std::string>();
  DecodedChange out;
  ChangeEvent& ev = out.change;
  if (op.size() != 1 || std::string_view("rcudt").find(op[0]) == std::string_view::npos) {
    return Error::Corruption("kafka envelope: unknown op '" + op + "' in " + Str(source, "schema") +
                             "." + Str(source, "table"));
  }
  ev.op = static_cast<Operation>(op[0]);
  auto table = std::make_shared<TableSchema>();
  table->schema = Str(source, "schema");
  table->name = Str(source, "table");
  // Names become the lake's file and column names: only plain identifiers pass.
  if (!IsPlainIdentifier(table->name) ||
      (!table->schema.empty() && !IsPlainIdentifier(table->schema))) {
    return Error::Corruption("kafka envelope: table name '" +
                             (table->schema + "." + table->name).substr(0, 120) +
                             "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  }
  const std::string where_table = table->schema + "." + table->name;

  // Columns: from the row schema when present, else from the row objects themselves.
  std::vector<FieldCodec> codecs;
  if (row_columns->present) {
    table->columns = row_columns->columns;
    codecs = row_columns->codecs;
  } else {
    for (const char* part : {"after", "before"}) {
      if (!payload.contains(part) || !payload[part].is_object()) continue;
      for (const auto& [name, v] : payload[part].items()) {
        int i = table->ColumnIndex(name);
        if (i < 0) {
          table->columns.push_back(Column{name});
          codecs.emplace_back();
          i = static_cast<int>(codecs.size()) - 1;
        }
        if (!v.is_null() && codecs[i].type == ValueType::kText && !v.is_string()) {
          codecs[i] = InferCodec(v);
        }
      }
    }
    for (size_t i = 0; i < codecs.size(); ++i) {
      table->columns[i].type = codecs[i].type;
      table->columns[i].type_oid = DefaultOid(codecs[i].type);
    }
  }
  for (const auto& c : table->columns) {
    if (!IsPlainIdentifier(c.name)) {
      return Error::Corruption("kafka envelope: column name '" + c.name.substr(0, 120) + "' of " +
                               where_table + " is not an identifier");
    }
  }
  // Key columns: from the key message.
  if (key) {
    MIGSBYU_ASSIGN(json key_json, ParseJson(*key, "key"));
    auto [key_schema, key_payload] = SplitSchema(std::move(key_json));
    if (key_payload.is_object()) {
      for (const auto& [name, v] : key_payload.items()) {
        if (int i = table->ColumnIndex(name); i >= 0) table->columns[i].key = true;
      }
    }
  }
  for (const char* part : {"before", "after"}) {
    if (!payload.contains(part) || payload[part].is_null()) continue;
    const json& obj = payload[part];
    if (!obj.is_object()) {
      return Error::Corruption(std::string("kafka envelope: ") + part + " of " + where_table +
                               " is not an object");
    }
    events::Row row(table->columns.size());
    for (size_t i = 0; i < table->columns.size(); ++i) {
      auto it = obj.find(table->columns[i].name);
      if (it == obj.end()) continue;
      MIGSBYU_ASSIGN(row[i],
                     DecodeColumnValue(*it, codecs[i], where_table + "." + table->columns[i].name));
    }
    (std::string_view(part) == "before" ? ev.before : ev.after) = std::move(row);
  }
  ev.table = table;

  // Identity and transaction.
  if (source.contains("txId") && source["txId"].is_number()) {
    ev.xid = static_cast<uint32_t>(source["txId"].get<int64_t>());
  }
  if (source.contains("ts_us") && source["ts_us"].is_number()) {
    ev.commit_time_us = source["ts_us"].get<int64_t>();
  } else if (source.contains("ts_ms") && source["ts_ms"].is_number()) {
    ev.commit_time_us = source["ts_ms"].get<int64_t>() * 1000;
  }
  if (source.contains("lsn") && !source["lsn"].is_null()) {
    MIGSBYU_ASSIGN(ev.lsn, LsnFromJson(source["lsn"], "source.lsn"));
  }
  std::optional<Lsn> last_commit;
  if (std::string seq = Str(source, "sequence"); !seq.empty()) {
    MIGSBYU_TRY(CheckParsable(seq, "source.sequence"));
    json s = json::parse(seq, nullptr, false);
    if (s.is_array() && !s.empty() && !s[0].is_null()) {
      MIGSBYU_ASSIGN(last_commit, LsnFromJson(s[0], "source.sequence[0]"));
    }
  }
  const json* tx = payload.contains("transaction") && payload["transaction"].is_object()
                       ? &payload["transaction"]
                       : nullptr;
  std::string snapshot = source.contains("snapshot") && source["snapshot"].is_boolean()
                             ? (source["snapshot"].get<bool>() ? "true" : "false")
                             : Str(source, "snapshot");
  out.tx.snapshot = ev.op == Operation::kRead || (!snapshot.empty() && snapshot != "false");
  if (source.contains("commit_lsn") && !source["commit_lsn"].is_null()) {
    MIGSBYU_ASSIGN(ev.commit_lsn, LsnFromJson(source["commit_lsn"], "source.commit_lsn"));
  } else if (!out.tx.snapshot && last_commit) {
    ev.commit_lsn = *last_commit;
  } else {
    ev.commit_lsn = ev.lsn;
  }
  if (tx && tx->contains("total_order") && (*tx)["total_order"].is_number_integer()) {
    ev.position = (*tx)["total_order"].get<uint64_t>() - 1;
  } else if (out.tx.snapshot) {
    out.position_from_offset = true;
  } else {
    ev.position = ev.lsn.value();
  }
  out.tx.xid = ev.xid;
  out.tx.commit_lsn = ev.commit_lsn;
  out.tx.end_lsn = ev.commit_lsn;
  if (source.contains("end_lsn") && !source["end_lsn"].is_null()) {
    MIGSBYU_ASSIGN(out.tx.end_lsn, LsnFromJson(source["end_lsn"], "source.end_lsn"));
  }
  out.tx.commit_time_us = ev.commit_time_us;
  if (tx && tx->contains("id") && (*tx)["id"].is_string()) {
    out.transaction_id = (*tx)["id"].get<std::string>();
  }
  out.data_collection = where_table;
  MIGSBYU_ASSIGN(ev.actor, ActorOf(source, where_table));
  return std::optional<DecodedChange>(std::move(out));
}

Result<TransactionRecord> DecodeTransactionRecord(const std::string* key,
                                                  const std::string* value) {
  (void)key;  // the id is also in the value
  if (!value) return Error::Corruption("kafka transaction record: null value");
  MIGSBYU_TRY(CheckParsable(*value, "value"));
  MIGSBYU_ASSIGN(json whole, ParseJson(*value, "value"));
  auto [schema, payload] = SplitSchema(std::move(whole));
  if (!payload.is_object() || !payload.contains("status") || !payload["status"].is_string() ||
      !payload.contains("id") || !payload["id"].is_string()) {
    return Error::Corruption("kafka transaction record: no status or id: " + value->substr(0, 120));
  }
  TransactionRecord r;
  r.id = payload["id"].get<std::string>();
  const std::string status = payload["status"].get<std::string>();
  if (status == "BEGIN") return r;
  if (status != "END") {
    return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                             ": unknown status '" + status.substr(0, 32) + "'");
  }
  r.end = true;
  const json& collections = payload.value("data_collections", json());
  if (!collections.is_array()) {
    return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                             ": END without data_collections");
  }
  for (const auto& c : collections) {
    if (!c.is_object() || !c.contains("data_collection") || !c["data_collection"].is_string() ||
        !c.contains("event_count") || !c["event_count"].is_number_unsigned()) {
      return Error::Corruption("kafka transaction record " + r.id.substr(0, 64) +
                               ": malformed data_collections entry");
    }
    r.collections.push_back(
        {c["data_collection"].get<std::string>(), c["event_count"].get<uint64_t>()});
    r.event_count += r.collections.back().event_count;
  }
  return r;
}

}  // namespace migsbyu::kafka
