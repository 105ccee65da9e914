// Iceberg schemas: the types the lake stores, fields identified by id, and schema evolution.
//
// A column is known by its field id, never by its name: data files carry the ids (Parquet field
// ids), so a rename changes only the schema and a dropped column's id is never reused. New ids
// come from the table's last-column-id. The JSON form is the spec's (Appendix C):
//   {"type":"struct","schema-id":1,"fields":[{"id":1,"name":"id","required":false,"type":"long"},
//    {"id":2,"name":"gpa","required":false,"type":"decimal(3,2)"}]}
// Only flat schemas are supported (no struct, list or map columns): the lake stores none.
//
// Types and their DuckDB counterparts (what the lake's files hold; DuckTypeOf/TypeFromDuck):
//   boolean BOOLEAN · int INTEGER (SMALLINT widens to it) · long BIGINT (UBIGINT is stored as
//   long: a value >= 2^63 fails the write) · float FLOAT · double DOUBLE · decimal(p,s)
//   DECIMAL(p,s), p <= 38 · date DATE · timestamp TIMESTAMP (µs) · timestamptz TIMESTAMPTZ (µs,
//   UTC) · string VARCHAR · binary BLOB · uuid UUID.
//
// Threading: plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migsbyu::iceberg {

enum class TypeId : uint8_t {
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kDecimal,
  kDate,
  kTimestamp,
  kTimestampTz,
  kString,
  kBinary,
  kUuid,
};

struct Type {
  TypeId id = TypeId::kString;
  int precision = 0;  // decimal only: 1..38
  int scale = 0;      // decimal only: 0..precision

  static Type Of(TypeId id) { return Type{id, 0, 0}; }
  static Type Decimal(int precision, int scale) { return Type{TypeId::kDecimal, precision, scale}; }
  bool operator==(const Type&) const = default;
};

// The spec's JSON name: "long", "decimal(9,2)", "timestamptz".
std::string TypeName(const Type& type);
// Parses a JSON type name (whitespace inside "decimal( 9 , 2 )" allowed); kInvalidArgument for
// a type this library does not support (nested, time, fixed, v3 types) or a bad decimal.
Result<Type> ParseTypeName(std::string_view name);
// DuckDB's name for the type ("DECIMAL(9,2)", "TIMESTAMPTZ").
std::string DuckTypeOf(const Type& type);
// The Iceberg type for a DuckDB type name as QueryResult::ColumnTypeName prints it;
// kInvalidArgument for one the lake cannot store as Iceberg (HUGEINT, INTERVAL, LIST, ...).
Result<Type> TypeFromDuck(std::string_view duck_type);
// Whether a column of type `from` may become `to` (v2 promotions: int -> long, float -> double,
// decimal(P,S) -> decimal(P',S) with P' > P).
bool CanPromote(const Type& from, const Type& to);

struct Field {
  int32_t id = 0;
  std::string name;
  Type type;
  bool required = false;
  std::string doc;  // empty: none
  bool operator==(const Field&) const = default;
};

struct Schema {
  int32_t schema_id = 0;
  std::vector<Field> fields;
  std::vector<int32_t> identifier_field_ids;

  // The field called `name` (names are unique ignoring ASCII case, as DuckDB sees them), or null.
  const Field* Find(std::string_view name) const;
  const Field* FindId(int32_t id) const;
  int32_t HighestFieldId() const;
  // Same fields and identifier fields, in the same order; the schema id aside.
  bool SameColumns(const Schema& other) const;
  bool operator==(const Schema&) const = default;
};

// Checks what every schema of a table must satisfy: at least one field; ids in 1..2147483447
// and unique; names non-empty, unique ignoring ASCII case, and unique once made Parquet column
// names (ParquetColumnName); decimals within 1..38; identifier fields existing, required and not
// floating point. kInvalidArgument naming the field otherwise.
Status ValidateSchema(const Schema& schema);

// The name a field's column has in a Parquet data file: the Iceberg name made a valid Avro name
// (a letter or '_' first, then letters, digits and '_'; any other UTF-16 unit u becomes _x<HEX u>,
// a leading digit d becomes _d), the rule Iceberg's reference writer and icebird apply. Readers
// find columns by field id; the name matters to readers that go by name (icebird).
std::string ParquetColumnName(std::string_view name);

nlohmann::json SchemaToJson(const Schema& schema);
std::string SchemaToJsonText(const Schema& schema);
// kCorruption naming `origin` when `json` is not a valid flat schema.
Result<Schema> SchemaFromJson(const nlohmann::json& json, const std::string& origin);

// One change of a table's columns. Names are those of the schema the change applies to (after
// the changes before it in the same list).
struct SchemaChange {
  enum class Kind : uint8_t { kAddColumn, kDropColumn, kRenameColumn, kWidenColumn };
  Kind kind = Kind::kAddColumn;
  std::string name;
  std::string new_name;  // kRenameColumn
  Type type;             // kAddColumn, kWidenColumn
  std::string doc;       // kAddColumn

  static SchemaChange AddColumn(std::string name, Type type, std::string doc = {});
  static SchemaChange DropColumn(std::string name);
  static SchemaChange RenameColumn(std::string name, std::string new_name);
  static SchemaChange WidenColumn(std::string name, Type type);
};

// Applies `changes` in order to `base`. Existing fields keep their ids (a rename changes only the
// name; a widened column keeps its id and data); an added column is optional (v2 has no
// defaults: older rows read NULL) and takes id *last_column_id + 1, advancing *last_column_id.
// The result carries `new_schema_id`. kInvalidArgument naming the column for a change that does
// not apply: adding an existing name, dropping or renaming a missing column, renaming onto an
// existing name, dropping an identifier field or the last column, a widening CanPromote refuses.
Result<Schema> EvolveSchema(const Schema& base, const std::vector<SchemaChange>& changes,
                            int32_t* last_column_id, int32_t new_schema_id);

}  // namespace migsbyu::iceberg
