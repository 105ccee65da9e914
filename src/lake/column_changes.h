// How a captured table's columns changed between two relation messages, as Iceberg schema
// changes can follow them (the Iceberg publisher applies them, docs/LAKE.md "Schema evolution").
//
// PostgreSQL's pgoutput relation message lists a table's live columns in attnum order, each with
// its name, type and modifier, and carries no column identity: a rename shows as one name gone
// and another in its place. So a rename is inferred by position: walking both lists in order, a
// column of the old list whose name the new list lacks, facing at the same place a column whose
// name the old list lacks, of the same type (or one it widens to), with the columns after them
// lining up again (or both lists ending), is that column renamed. Otherwise a name gone is a
// drop and a new name an add (PostgreSQL appends added columns at the end); a column kept whose
// type changed is a widening when Iceberg allows the promotion (int → long, float → double,
// decimal(P,S) → decimal(P',S), P' > P) and is left unchanged otherwise (reported as kRetype,
// which Iceberg cannot express). One ambiguity remains and is resolved as a rename: dropping a
// column and adding another of the same type at the same place between two changes of the table
// (in practice: drop the last column, add one of its type) looks exactly like a rename on the wire.
//
// Threading: pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "lake/iceberg/schema.h"

namespace migsbyu::lake {

struct RelationColumn {
  std::string name;
  iceberg::Type type;
  bool operator==(const RelationColumn&) const = default;
};

struct ColumnChange {
  enum class Kind { kAdd, kDrop, kRename, kWiden, kRetype };
  Kind kind = Kind::kAdd;
  std::string name;      // the column (its old name for a rename)
  std::string new_name;  // kRename
  iceberg::Type type;    // kAdd, kWiden, kRetype, kRename (the new type: a rename may widen too)
  bool operator==(const ColumnChange&) const = default;
};

// The changes from `before` to `after` (both in relation-message order), renames first in the
// order found, then drops, widenings and retypes, then adds in `after`'s order.
std::vector<ColumnChange> DiffColumns(const std::vector<RelationColumn>& before,
                                      const std::vector<RelationColumn>& after);

}  // namespace migsbyu::lake
