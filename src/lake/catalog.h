// Catalog: what the lake knows about the captured tables and how their values become DuckDB /
// Parquet types. The five portal tables are known in advance (their columns give the typed empty
// views a reader sees before the first change). Any other captured table gets a change log and,
// keyed by its primary key, an SCD Type 2 dimension `<table>_dim` with surrogate key
// `<table>_key` (CapturedDimension; docs/LAKE.md "Dimensions of any captured table").
//
// Threading: immutable data and pure functions; thread-safe (CapturedDimension interns under a
// lock).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "events/change_event.h"

namespace migsbyu::lake {

struct KnownColumn {
  std::string name;
  std::string duck_type;  // "VARCHAR", "DATE", "INTEGER", "DECIMAL(3,2)"
};

// A captured table the contract knows. `entity` is set for the three dimension tables
// ("student" → students_dim with student_key), empty for takes and teaches. A dimension of a
// table outside the contract (`generic`) has entity = name and no known columns: its columns and
// primary key are those its changes carry.
struct KnownTable {
  std::string name;
  std::string entity;
  std::vector<KnownColumn> columns;
  bool generic = false;

  std::string DimName() const { return name + "_dim"; }
  std::string KeyColumn() const { return entity + "_key"; }
};

// The five portal tables, in the order of the operational schema.
const std::vector<KnownTable>& KnownTables();
// The known table called `name`, or nullptr.
const KnownTable* FindKnownTable(const std::string& name);
// The known dimension table whose key column is `entity`_key, or nullptr.
const KnownTable* FindEntity(const std::string& entity);

// The dimension of captured table `table`: the known entity table, or for a table outside the
// contract a generic description (interned: the same pointer for the same name, valid for the
// life of the process). nullptr for takes and teaches, for a name that is not a plain identifier
// ([a-z_][a-z0-9_]*, at most 63 characters) and for a name equal to a known entity ("student"),
// whose surrogate keys would share a counter.
const KnownTable* CapturedDimension(const std::string& table);
// The dimension whose dataset is `dataset` ("students_dim", "rooms_dim"), or nullptr.
const KnownTable* DimensionOfDataset(const std::string& dataset);

// DuckDB type for a captured column: numeric with a precision ≤ 38 becomes DECIMAL(p,s), an
// unconstrained numeric VARCHAR (exact text); see docs/LAKE.md.
std::string DuckTypeOf(const events::Column& column);
// The (precision, scale) of a column DuckTypeOf makes a DECIMAL, or nullopt.
std::optional<std::pair<int, int>> DecimalOf(const events::Column& column);

// The inverse, for reading a change log back: the ValueType and type modifier of a DuckDB type
// name as QueryResult::ColumnTypeName prints it. Unknown types read as text.
events::Column ColumnFromDuckType(const std::string& name, const std::string& duck_type);

// Who made each change (common/actor.h): the columns every change log row and dimension version
// carries, (name, DuckDB type) in file order: changed_by (the user, NULL when none) and origin.
// Files written before the lake recorded actors lack them; the lake's views show NULL there.
const std::vector<std::pair<std::string, std::string>>& ActorColumns();

// Dataset names.
std::string ChangesDataset(const std::string& table);  // "students_changes"
std::string ClosesDataset(const KnownTable& table);    // "students_dim_closes"
inline constexpr const char* kFactDataset = "course_enrollment_fact";

// The fact's columns (name, DuckDB type), in file order: what the writer writes and what the
// empty view of a lake with no fact file yet shows.
const std::vector<std::pair<std::string, std::string>>& FactColumns();

}  // namespace migsbyu::lake
