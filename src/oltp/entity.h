// Entity descriptions: one table description per kind of record the portal keeps.
//
// A description names the table, its columns with their types and validation rules, the key
// columns, the JSON names (the column names), which columns text search looks in, and the
// relations that refer to it. Everything generic reads it: the repository builds its SQL from it
// (identifiers only ever come from here, never from a request), validation checks request bodies
// against it, the portal registers routes and writes the OpenAPI schemas from it. Adding a column
// is one line here plus a migration.
//
// Threading: the descriptions are immutable statics, safe to read from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace migsbyu::oltp {

enum class FieldType {
  kText,
  kInteger,   // PostgreSQL integer (32 bits), a JSON integer
  kDecimal2,  // numeric(p,2), a JSON number rounded to two decimals
  kDate,      // date, a JSON string YYYY-MM-DD
};

struct Field {
  std::string name;  // column name and JSON name
  FieldType type = FieldType::kText;
  std::string description;
  bool key = false;         // part of the primary key
  bool searchable = false;  // listed in text search (?q=)
  // Personal data: shown masked (kMaskedValue) to users without the pii grant, on every read
  // path (API, analytics, history, as-of, the console, downloads).
  bool pii = false;
  // Text rules (characters, not bytes).
  int64_t min_length = 1;
  int64_t max_length = 200;
  std::vector<std::string> one_of;  // permitted values, if not empty
  std::string pattern;              // ECMAScript regex the whole value must match, if not empty
  // Number rules (inclusive).
  std::optional<double> minimum;
  std::optional<double> maximum;
  nlohmann::json example;
};

struct Entity;

// A column of a relation that refers to another entity's key.
struct ForeignKey {
  std::string column;  // "student_id"
  std::string table;   // "students"
  std::string name;    // "student_name": the JSON name of the referent's name (?expand=names)
};

struct Entity {
  std::string table;   // "students", "takes"
  std::string path;    // URL collection: "students", "enrollments"
  std::string noun;    // "student", "enrollment": messages
  std::string plural;  // "students", "enrollments"
  std::string title;   // "Student": schema names and the prototype's messages
  std::vector<Field> fields;
  std::vector<ForeignKey> foreign_keys;
  // The columns whose values, joined by a space, name a record for people ("first_name",
  // "last_name"); empty for relations.
  std::vector<std::string> name_fields;

  // True for the link tables (takes, teaches) whose every column is part of the key.
  bool IsRelation() const { return !foreign_keys.empty(); }
  const Field* Find(std::string_view name) const;
  std::vector<const Field*> KeyFields() const;
  std::vector<const Field*> ValueFields() const;  // the fields that are not keys
};

const Entity& Students();
const Entity& Professors();
const Entity& Courses();
const Entity& Enrollments();  // table takes
const Entity& Assignments();  // table teaches

// What a masked personal value reads as.
inline constexpr std::string_view kMaskedValue = "***";

// The names of the columns that hold personal data in any entity ("address", "date_of_birth"),
// sorted: the lake and the analytics views carry them under the same names (and as before_<c>,
// after_<c> in the change logs).
const std::vector<std::string>& PiiColumnNames();

// The five, entities before relations.
const std::vector<const Entity*>& AllEntities();
const Entity* FindEntityByTable(std::string_view table);

// A relation column that refers to some entity: e.g. {Enrollments(), student_id} for Students().
struct Reference {
  const Entity* relation;
  const Field* column;
};
std::vector<Reference> ReferencesTo(const Entity& entity);

}  // namespace migsbyu::oltp
