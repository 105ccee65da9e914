// The lake tables the analytics read side knows, described once: the three SCD Type 2
// dimensions and the five operational tables whose change logs it replays. Every query, route
// and OpenAPI enumeration is driven from these descriptions, not written per table.
//
// Threading: immutable constants.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migsbyu::analytics {

struct DimensionTable {
  std::string entity;                     // "students": the route's {entity}
  std::string view;                       // "students_dim"
  std::string key_column;                 // "student_key": the surrogate key
  std::vector<std::string> name_columns;  // searched by the q filter, with id
};

struct OperationalTable {
  std::string name;                      // "takes": the route's {table}
  std::string changes_view;              // "takes_changes"
  std::vector<std::string> key_columns;  // its primary key
};

const std::vector<DimensionTable>& Dimensions();
const std::vector<OperationalTable>& OperationalTables();

// nullptr when unknown.
const DimensionTable* FindDimension(std::string_view entity);
const DimensionTable* FindDimensionByView(std::string_view view);
const OperationalTable* FindOperationalTable(std::string_view name);

// The columns every dimension version carries besides its surrogate key and attributes (the SCD
// bookkeeping, and who made the version: changed_by, origin).
const std::vector<std::string>& ScdColumns();

// Change-log column names (docs/LAKE.md): the value of `column` before / after the change.
std::string BeforeColumn(std::string_view column);
std::string AfterColumn(std::string_view column);
// The operational column an after-image column holds, or "" if `name` is not one.
std::string ColumnOfAfter(std::string_view name);

}  // namespace migsbyu::analytics
