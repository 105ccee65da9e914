// The Kafka Connect value codec under the Debezium envelope (envelope.h): how one column's
// values and field schemas are written under decimal.handling.mode and time.precision.mode,
// with Debezium's column.propagate.source.type parameters, and how they are read back. Shared by
// the envelope's encoder (envelope_encoder.cc) and decoder (envelope_decoder.cc); internal to
// transport/kafka.
//
// Threading: pure functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/result.h"
#include "events/change_event.h"
#include "transport/kafka/envelope.h"

namespace migsbyu::kafka::connect {

using json = nlohmann::ordered_json;

// Debezium's unavailable.value.placeholder default: an unchanged TOASTed value.
inline constexpr char kUnavailable[] = "__debezium_unavailable_value";

// a / b rounded toward negative infinity (µs → ms of times before 1970 included).
inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// The OID of PostgreSQL's type for a value type (text for text, int8 for int64, ...).
uint32_t DefaultOid(events::ValueType t);

// The field schema of column `c` of a row struct: its Kafka Connect type, logical name and
// Debezium's source-type parameters, as the options' modes write it.
json FieldSchema(const events::Column& c, bool optional, const EnvelopeOptions& o);

// Column `c`'s value `v` of table `t` as the options' modes write it. InvalidArgument (naming
// the table and column) for a value the modes cannot represent.
Result<json> EncodeColumnValue(const events::TableSchema& t, const events::Column& c,
                               const events::Value& v, const EnvelopeOptions& o);

// How one column's values are written, from its field schema (or inferred).
struct FieldCodec {
  events::ValueType type = events::ValueType::kText;
  int64_t time_unit_us = 1;    // int64 timestamps: 1 (µs), 1000 (ms); -1000 for ns
  bool decimal_bytes = false;  // org.apache.kafka.connect.data.Decimal
  int decimal_scale = 0;
};

// j[key] when it is a string, else "".
std::string Str(const json& j, const char* key);

// Column and codec from a Kafka Connect field schema; the source-type parameters refine the
// type, and hostile declarations (a length or scale beyond a numeric's) are ignored.
std::pair<events::Column, FieldCodec> ColumnFromFieldSchema(const json& f);

// The codec of a schemaless value: bool, int64, float64, VariableScaleDecimal or text.
FieldCodec InferCodec(const json& v);

// One value read back with its codec. Corruption names `where` (schema.table.column) and what
// was expected; decimals are bounded (kMaxDecimalDigits) before anything is allocated for them.
Result<events::Value> DecodeColumnValue(const json& v, const FieldCodec& codec,
                                        const std::string& where);

}  // namespace migsbyu::kafka::connect
