#include "lake/catalog.h"

#include <map>
#include <memory>
#include <mutex>

namespace migsbyu::lake {

const std::vector<KnownTable>& KnownTables() {
  static const std::vector<KnownTable> kTables = {
      {"students",
       "student",
       {{"id", "VARCHAR"},
        {"first_name", "VARCHAR"},
        {"last_name", "VARCHAR"},
        {"gender", "VARCHAR"},
        {"address", "VARCHAR"},
        {"date_of_birth", "DATE"},
        {"major", "VARCHAR"},
        {"year_of_study", "INTEGER"},
        {"gpa", "DECIMAL(3,2)"},
        {"enrollment_status", "VARCHAR"}}},
      {"professors",
       "professor",
       {{"id", "VARCHAR"},
        {"title", "VARCHAR"},
        {"first_name", "VARCHAR"},
        {"last_name", "VARCHAR"},
        {"gender", "VARCHAR"},
        {"address", "VARCHAR"},
        {"department", "VARCHAR"},
        {"date_of_birth", "DATE"},
        {"annual_salary", "INTEGER"}}},
      {"courses",
       "course",
       {{"id", "VARCHAR"}, {"name", "VARCHAR"}, {"units", "INTEGER"}, {"department", "VARCHAR"}}},
      {"takes", "", {{"student_id", "VARCHAR"}, {"course_id", "VARCHAR"}, {"semester", "VARCHAR"}}},
      {"teaches",
       "",
       {{"professor_id", "VARCHAR"}, {"course_id", "VARCHAR"}, {"semester", "VARCHAR"}}},
  };
  return kTables;
}

const KnownTable* FindKnownTable(const std::string& name) {
  for (const auto& t : KnownTables()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const KnownTable* FindEntity(const std::string& entity) {
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty() && t.entity == entity) return &t;
  }
  return nullptr;
}

namespace {

bool PlainIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const KnownTable* CapturedDimension(const std::string& table) {
  if (const KnownTable* known = FindKnownTable(table)) {
    return known->entity.empty() ? nullptr : known;
  }
  if (!PlainIdentifier(table) || FindEntity(table)) return nullptr;
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<KnownTable>> interned;
  std::lock_guard lock(mu);
  auto& slot = interned[table];
  if (!slot) {
    slot = std::make_unique<KnownTable>();
    slot->name = table;
    slot->entity = table;
    slot->generic = true;
  }
  return slot.get();
}

const KnownTable* DimensionOfDataset(const std::string& dataset) {
  constexpr std::string_view kSuffix = "_dim";
  if (!dataset.ends_with(kSuffix)) return nullptr;
  const KnownTable* t = CapturedDimension(dataset.substr(0, dataset.size() - kSuffix.size()));
  return t && t->DimName() == dataset ? t : nullptr;
}

std::optional<std::pair<int, int>> DecimalOf(const events::Column& column) {
  if (column.type != events::ValueType::kNumeric) return std::nullopt;
  // atttypmod of numeric(p,s) is ((p << 16) | s) + 4; -1 when unconstrained.
  if (column.type_modifier < 4) return std::nullopt;
  int precision = ((column.type_modifier - 4) >> 16) & 0xffff;
  int scale = (column.type_modifier - 4) & 0xffff;
  if (precision < 1 || precision > 38 || scale > precision) return std::nullopt;
  return std::pair{precision, scale};
}

std::string DuckTypeOf(const events::Column& column) {
  using events::ValueType;
  switch (column.type) {
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kInt16:
      return "SMALLINT";
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kFloat64:
      return "DOUBLE";
    case ValueType::kNumeric: {
      auto decimal = DecimalOf(column);
      if (!decimal) return "VARCHAR";
      return "DECIMAL(" + std::to_string(decimal->first) + "," + std::to_string(decimal->second) +
             ")";
    }
    case ValueType::kText:
      return "VARCHAR";
    case ValueType::kDate:
      return "DATE";
    case ValueType::kTimestamp:
      return "TIMESTAMP";
    case ValueType::kTimestampTz:
      return "TIMESTAMPTZ";
  }
  return "VARCHAR";
}

events::Column ColumnFromDuckType(const std::string& name, const std::string& duck_type) {
  using events::ValueType;
  events::Column c;
  c.name = name;
  if (duck_type == "BOOLEAN") {
    c.type = ValueType::kBool;
  } else if (duck_type == "SMALLINT") {
    c.type = ValueType::kInt16;
  } else if (duck_type == "INTEGER") {
    c.type = ValueType::kInt32;
  } else if (duck_type == "BIGINT") {
    c.type = ValueType::kInt64;
  } else if (duck_type == "DOUBLE") {
    c.type = ValueType::kFloat64;
  } else if (duck_type.rfind("DECIMAL(", 0) == 0) {
    c.type = ValueType::kNumeric;
    int precision = 0, scale = 0;
    if (sscanf(duck_type.c_str(), "DECIMAL(%d,%d)", &precision, &scale) == 2) {
      c.type_modifier = ((precision << 16) | scale) + 4;
    }
  } else if (duck_type == "DATE") {
    c.type = ValueType::kDate;
  } else if (duck_type == "TIMESTAMP") {
    c.type = ValueType::kTimestamp;
  } else if (duck_type == "TIMESTAMP WITH TIME ZONE" || duck_type == "TIMESTAMPTZ") {
    c.type = ValueType::kTimestampTz;
  } else {
    c.type = ValueType::kText;
  }
  return c;
}

const std::vector<std::pair<std::string, std::string>>& ActorColumns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"changed_by", "VARCHAR"}, {"origin", "VARCHAR"}};
  return columns;
}

std::string ChangesDataset(const std::string& table) { return table + "_changes"; }
std::string ClosesDataset(const KnownTable& table) { return table.DimName() + "_closes"; }

const std::vector<std::pair<std::string, std::string>>& FactColumns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"student_key", "BIGINT"},
      {"professor_key", "BIGINT"},
      {"course_key", "BIGINT"},
      {"semester", "VARCHAR"},
      {"course_enrollment_count", "INTEGER"},
      {"event_time", "TIMESTAMPTZ"},
      {"source_lsn", "UBIGINT"},
      {"source_position", "UBIGINT"},
      {"student_id", "VARCHAR"},
      {"professor_id", "VARCHAR"},
      {"course_id", "VARCHAR"}};
  return columns;
}

}  // namespace migsbyu::lake
