#include "lake/iceberg/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/iceberg/json_fields.h"

namespace migsbyu::iceberg {
namespace {

using nlohmann::json;

// Field ids above this are reserved for metadata columns (spec "Reserved Field IDs").
constexpr int64_t kMaxFieldId = 2147483447;

struct Named {
  TypeId id;
  const char* iceberg;
  const char* duck;
};
constexpr Named kNames[] = {
    {TypeId::kBoolean, "boolean", "BOOLEAN"},
    {TypeId::kInt, "int", "INTEGER"},
    {TypeId::kLong, "long", "BIGINT"},
    {TypeId::kFloat, "float", "FLOAT"},
    {TypeId::kDouble, "double", "DOUBLE"},
    {TypeId::kDate, "date", "DATE"},
    {TypeId::kTimestamp, "timestamp", "TIMESTAMP"},
    {TypeId::kTimestampTz, "timestamptz", "TIMESTAMPTZ"},
    {TypeId::kString, "string", "VARCHAR"},
    {TypeId::kBinary, "binary", "BLOB"},
    {TypeId::kUuid, "uuid", "UUID"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view s, int* out) {
  s = Trim(s);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "decimal(P,S)" / "DECIMAL(P,S)" (prefix compared by the caller): the two numbers.
Result<Type> ParseDecimalArgs(std::string_view args, std::string_view whole) {
  args = Trim(args);
  if (args.size() < 2 || args.front() != '(' || args.back() != ')') {
    return Error::InvalidArgument("bad decimal type '" + std::string(whole) + "'");
  }
  args = args.substr(1, args.size() - 2);
  size_t comma = args.find(',');
  int p = 0, s = 0;
  if (comma == std::string_view::npos || !ParseInt(args.substr(0, comma), &p) ||
      !ParseInt(args.substr(comma + 1), &s)) {
    return Error::InvalidArgument("bad decimal type '" + std::string(whole) + "'");
  }
  if (p < 1 || p > 38 || s < 0 || s > p) {
    return Error::InvalidArgument("decimal precision must be 1..38 and scale 0..precision: '" +
                                  std::string(whole) + "'");
  }
  return Type::Decimal(p, s);
}

// UTF-8 to UTF-16 code units, replacing malformed bytes (names are validated UTF-8 by JSON).
std::u16string Utf16(std::string_view s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0xFFFD;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (n == 1) {
      cp = c < 0x80 ? c : 0xFFFD;
    } else if (i + n <= s.size()) {
      cp = c & (0x7F >> n);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

Result<Field> FieldFromJson(const json& j, const std::string& origin) {
  using namespace json_fields;
  Field f;
  MIGSBYU_ASSIGN(f.id, Int(j, "id", origin));
  MIGSBYU_ASSIGN(f.name, String(j, "name", origin));
  MIGSBYU_ASSIGN(f.required, Bool(j, "required", origin));
  MIGSBYU_ASSIGN(const json* type, Required(j, "type", origin));
  if (!type->is_string()) {
    return Error::Corruption(origin + ": field '" + f.name + "' has a nested type (unsupported)");
  }
  auto parsed = ParseTypeName(type->get<std::string>());
  if (!parsed.ok())
    return Error::Corruption(origin + ": field '" + f.name + "': " + parsed.error().message());
  f.type = *parsed;
  if (const json* doc = Optional(j, "doc"); doc && doc->is_string())
    f.doc = doc->get<std::string>();
  return f;
}

}  // namespace

std::string TypeName(const Type& type) {
  if (type.id == TypeId::kDecimal) {
    return "decimal(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
  }
  for (const auto& n : kNames) {
    if (n.id == type.id) return n.iceberg;
  }
  return "string";
}

Result<Type> ParseTypeName(std::string_view name) {
  std::string_view t = Trim(name);
  for (const auto& n : kNames) {
    if (t == n.iceberg) return Type::Of(n.id);
  }
  if (t.substr(0, 7) == "decimal") return ParseDecimalArgs(t.substr(7), name);
  return Error::InvalidArgument("unsupported Iceberg type '" + std::string(name) + "'");
}

std::string DuckTypeOf(const Type& type) {
  if (type.id == TypeId::kDecimal) {
    return "DECIMAL(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
  }
  for (const auto& n : kNames) {
    if (n.id == type.id) return n.duck;
  }
  return "VARCHAR";
}

Result<Type> TypeFromDuck(std::string_view duck_type) {
  std::string t = Lower(Trim(duck_type));
  if (t == "smallint" || t == "tinyint" || t == "integer" || t == "int" || t == "usmallint" ||
      t == "utinyint") {
    return Type::Of(TypeId::kInt);
  }
  if (t == "bigint" || t == "ubigint" || t == "uinteger") return Type::Of(TypeId::kLong);
  if (t == "timestamp with time zone") return Type::Of(TypeId::kTimestampTz);
  if (t == "real" || t == "float4") return Type::Of(TypeId::kFloat);
  if (t == "text" || t == "string") return Type::Of(TypeId::kString);
  for (const auto& n : kNames) {
    if (t == Lower(n.duck)) return Type::Of(n.id);
  }
  if (t.rfind("decimal", 0) == 0) return ParseDecimalArgs(std::string_view(t).substr(7), duck_type);
  return Error::InvalidArgument("DuckDB type '" + std::string(duck_type) +
                                "' has no Iceberg type in the lake");
}

bool CanPromote(const Type& from, const Type& to) {
  if (from == to) return true;
  if (from.id == TypeId::kInt && to.id == TypeId::kLong) return true;
  if (from.id == TypeId::kFloat && to.id == TypeId::kDouble) return true;
  return from.id == TypeId::kDecimal && to.id == TypeId::kDecimal && from.scale == to.scale &&
         to.precision > from.precision;
}

const Field* Schema::Find(std::string_view name) const {
  std::string wanted = Lower(name);
  for (const auto& f : fields) {
    if (Lower(f.name) == wanted) return &f;
  }
  return nullptr;
}

const Field* Schema::FindId(int32_t id) const {
  for (const auto& f : fields) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

int32_t Schema::HighestFieldId() const {
  int32_t highest = 0;
  for (const auto& f : fields) highest = std::max(highest, f.id);
  return highest;
}

bool Schema::SameColumns(const Schema& other) const {
  return fields == other.fields && identifier_field_ids == other.identifier_field_ids;
}

std::string ParquetColumnName(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  std::u16string units = Utf16(name);
  for (size_t i = 0; i < units.size(); ++i) {
    char16_t u = units[i];
    bool letter = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    bool digit = u >= '0' && u <= '9';
    if (letter || u == '_' || (digit && i > 0)) {
      out.push_back(static_cast<char>(u));
    } else if (digit) {
      out += '_';
      out.push_back(static_cast<char>(u));
    } else {
      std::string hex;
      for (unsigned v = u; v; v >>= 4) hex.insert(hex.begin(), kHex[v & 0xF]);
      out += "_x" + (hex.empty() ? std::string("0") : hex);
    }
  }
  return out;
}

Status ValidateSchema(const Schema& schema) {
  if (schema.fields.empty()) return Error::InvalidArgument("a schema needs at least one column");
  std::set<int32_t> ids;
  std::set<std::string> names, column_names;
  for (const auto& f : schema.fields) {
    std::string what = "column '" + f.name + "' (id " + std::to_string(f.id) + ")";
    if (f.name.empty()) return Error::InvalidArgument("a column has an empty name");
    if (f.id < 1 || f.id > kMaxFieldId) return Error::InvalidArgument(what + ": id out of range");
    if (!ids.insert(f.id).second) return Error::InvalidArgument(what + ": duplicate id");
    if (!names.insert(Lower(f.name)).second) {
      return Error::InvalidArgument(what + ": duplicate name (names are compared ignoring case)");
    }
    if (!column_names.insert(Lower(ParquetColumnName(f.name))).second) {
      return Error::InvalidArgument(what + ": its Parquet column name '" +
                                    ParquetColumnName(f.name) + "' collides with another's");
    }
    if (f.type.id == TypeId::kDecimal && (f.type.precision < 1 || f.type.precision > 38 ||
                                          f.type.scale < 0 || f.type.scale > f.type.precision)) {
      return Error::InvalidArgument(what + ": bad decimal precision or scale");
    }
  }
  for (int32_t id : schema.identifier_field_ids) {
    const Field* f = schema.FindId(id);
    if (!f)
      return Error::InvalidArgument("identifier field " + std::to_string(id) + " is no column");
    if (!f->required || f->type.id == TypeId::kFloat || f->type.id == TypeId::kDouble) {
      return Error::InvalidArgument("identifier column '" + f->name +
                                    "' must be required and not floating point");
    }
  }
  return OkStatus();
}

json SchemaToJson(const Schema& schema) {
  json fields = json::array();
  for (const auto& f : schema.fields) {
    json jf = {
        {"id", f.id}, {"name", f.name}, {"required", f.required}, {"type", TypeName(f.type)}};
    if (!f.doc.empty()) jf["doc"] = f.doc;
    fields.push_back(std::move(jf));
  }
  json j = {{"type", "struct"}, {"schema-id", schema.schema_id}, {"fields", std::move(fields)}};
  if (!schema.identifier_field_ids.empty()) j["identifier-field-ids"] = schema.identifier_field_ids;
  return j;
}

std::string SchemaToJsonText(const Schema& schema) { return SchemaToJson(schema).dump(); }

Result<Schema> SchemaFromJson(const json& j, const std::string& origin) {
  using namespace json_fields;
  Schema s;
  MIGSBYU_ASSIGN(std::string type, String(j, "type", origin));
  if (type != "struct") return Error::Corruption(origin + ": a schema's type must be \"struct\"");
  // schema-id is optional in v1; a v2 table always has it (Metadata checks).
  MIGSBYU_ASSIGN(auto id, OptionalInt(j, "schema-id", origin));
  s.schema_id = id.value_or(0);
  MIGSBYU_ASSIGN(s.fields, Each<Field>(j, "fields", origin, FieldFromJson));
  if (const json* ids = Optional(j, "identifier-field-ids")) {
    MIGSBYU_TRY(ExpectArray(*ids, "identifier-field-ids", origin));
    for (const auto& v : *ids) {
      if (!v.is_number_integer()) {
        return Error::Corruption(origin + ": identifier-field-ids holds a non-integer");
      }
      s.identifier_field_ids.push_back(v.get<int32_t>());
    }
  }
  if (auto valid = ValidateSchema(s); !valid.ok()) {
    return Error::Corruption(origin + ": schema " + std::to_string(s.schema_id) + ": " +
                             valid.error().message());
  }
  return s;
}

SchemaChange SchemaChange::AddColumn(std::string name, Type type, std::string doc) {
  SchemaChange c;
  c.kind = Kind::kAddColumn;
  c.name = std::move(name);
  c.type = type;
  c.doc = std::move(doc);
  return c;
}

SchemaChange SchemaChange::DropColumn(std::string name) {
  SchemaChange c;
  c.kind = Kind::kDropColumn;
  c.name = std::move(name);
  return c;
}

SchemaChange SchemaChange::RenameColumn(std::string name, std::string new_name) {
  SchemaChange c;
  c.kind = Kind::kRenameColumn;
  c.name = std::move(name);
  c.new_name = std::move(new_name);
  return c;
}

SchemaChange SchemaChange::WidenColumn(std::string name, Type type) {
  SchemaChange c;
  c.kind = Kind::kWidenColumn;
  c.name = std::move(name);
  c.type = type;
  return c;
}

Result<Schema> EvolveSchema(const Schema& base, const std::vector<SchemaChange>& changes,
                            int32_t* last_column_id, int32_t new_schema_id) {
  Schema next = base;
  next.schema_id = new_schema_id;
  int32_t last = *last_column_id;
  for (const auto& c : changes) {
    const Field* found = next.Find(c.name);
    auto index = [&] { return static_cast<size_t>(found - next.fields.data()); };
    switch (c.kind) {
      case SchemaChange::Kind::kAddColumn: {
        if (found) return Error::InvalidArgument("cannot add column '" + c.name + "': it exists");
        if (last >= kMaxFieldId)
          return Error::InvalidArgument("no field id left for '" + c.name + "'");
        next.fields.push_back(Field{++last, c.name, c.type, false, c.doc});
        break;
      }
      case SchemaChange::Kind::kDropColumn: {
        if (!found)
          return Error::InvalidArgument("cannot drop column '" + c.name + "': no such column");
        if (std::count(next.identifier_field_ids.begin(), next.identifier_field_ids.end(),
                       found->id)) {
          return Error::InvalidArgument("cannot drop identifier column '" + c.name + "'");
        }
        if (next.fields.size() == 1) {
          return Error::InvalidArgument("cannot drop column '" + c.name + "': it is the last one");
        }
        next.fields.erase(next.fields.begin() + static_cast<std::ptrdiff_t>(index()));
        break;
      }
      case SchemaChange::Kind::kRenameColumn: {
        if (!found)
          return Error::InvalidArgument("cannot rename column '" + c.name + "': no such column");
        const Field* clash = next.Find(c.new_name);
        if (clash && clash != found) {
          return Error::InvalidArgument("cannot rename column '" + c.name + "' to '" + c.new_name +
                                        "': that name exists");
        }
        next.fields[index()].name = c.new_name;
        break;
      }
      case SchemaChange::Kind::kWidenColumn: {
        if (!found)
          return Error::InvalidArgument("cannot widen column '" + c.name + "': no such column");
        if (!CanPromote(found->type, c.type)) {
          return Error::InvalidArgument("cannot change column '" + c.name + "' from " +
                                        TypeName(found->type) + " to " + TypeName(c.type));
        }
        next.fields[index()].type = c.type;
        break;
      }
    }
  }
  MIGSBYU_TRY(ValidateSchema(next));
  *last_column_id = last;
  return next;
}

}  // namespace migsbyu::iceberg
