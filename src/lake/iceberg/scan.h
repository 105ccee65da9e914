// The DuckDB query that reads one snapshot of an Iceberg table from its ScanPlan, without an
// Iceberg extension: the lake's views are built on it.
//
// Data files are read with read_parquet's `schema` parameter, which selects columns by Parquet
// field id, so a renamed column is found under its old name in older files, a widened one is
// cast, and a column added later reads NULL from files written before it (Iceberg's column
// projection). Position deletes are applied by an anti-join on (file, row position): data rows
// carry their file (`filename`) and 0-based row number (`file_row_number`), delete rows their
// (file_path, pos). A delete file applies only to data files whose data sequence number is at or
// below its own (the spec's rule), so data files are grouped by the set of delete files that
// apply to them and each group is anti-joined with its set; the groups are UNION ALL-ed.
//
// Every path and name is a quoted SQL literal or identifier (duck::QuoteString /
// QuoteIdentifier); internal columns are named __iceberg_<field id>, so no table column name can
// collide with `filename` or `file_row_number`.
//
// Threading: pure functions; thread-safe.
#pragma once

#include <string>

#include "common/result.h"
#include "lake/iceberg/schema.h"
#include "lake/iceberg/table.h"

namespace migsbyu::iceberg {

// A SELECT giving the rows of `plan` with the columns of `schema` (its field names, DuckDB types,
// in order). An empty plan gives a typed query with no rows. kInvalidArgument when the plan holds
// equality delete files (this library writes none and the query does not apply them).
Result<std::string> ScanQuery(const ScanPlan& plan, const Schema& schema);
// The same with the plan's own schema (the snapshot's).
Result<std::string> ScanQuery(const ScanPlan& plan);

}  // namespace migsbyu::iceberg
