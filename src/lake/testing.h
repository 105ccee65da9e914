// Helpers for the lake's tests (the test-only library migsbyu_lake_testing): the contract's
// tables described as the connector describes a captured table, and query results as text for
// comparisons. Not for production code. Thread-compatible: each call stands alone.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/change_event.h"
#include "lake/duck.h"
#include "lake/iceberg/schema.h"

namespace migsbyu::lake {
class LakeWriter;
}

namespace migsbyu::lake::testing {

// The schema of the contract's table `table` (students, professors, courses, takes, teaches) as
// the connector would capture it: the catalog's columns and types, the primary key marked (`id`,
// or every column of takes and teaches) and PostgreSQL type OIDs set, so that the Kafka envelope
// encodes it as it encodes a captured table. REQUIRES: `table` is one of the contract's.
std::shared_ptr<const events::TableSchema> ContractSchema(const std::string& table);

// The change at `position` of the transaction `info`, stamped as the connector stamps it (its
// commit LSN, xid and commit time; its own LSN just before the commit's, in order).
events::ChangeEvent ChangeIn(const events::TransactionInfo& info, size_t position,
                             std::shared_ptr<const events::TableSchema> table, events::Operation op,
                             std::optional<events::Row> before, std::optional<events::Row> after);

// The rows of `sql` over the latest commit of the lake in `dir`: one string per row, columns
// joined by '|', NULL as "NULL". A lake that cannot be opened or a failing query is a test
// failure (a gtest EXPECT naming the SQL) and gives no rows.
std::vector<std::string> QueryLines(const std::string& dir, const std::string& sql);

// QueryLines joined: each row followed by '\n'.
std::string QueryText(const std::string& dir, const std::string& sql);

// The rows of the SELECT `relation` on `conn` as text, in the form tests/lake/read_iceberg.mjs
// prints icebird's values (integers in decimal, decimals at their scale, dates as days since
// 1970-01-01, timestamps as µs since the epoch, booleans true/false, "NULL"): one vector per row,
// the columns of `schema` in its order, rows sorted. A failing query is a test failure.
std::vector<std::vector<std::string>> IcebergTextRows(duck::Connection& conn,
                                                      const std::string& relation,
                                                      const iceberg::Schema& schema);

// A table outside the contract (departments: id text primary key, name text), captured as the
// connector would: the lake gives it a change log only.
std::shared_ptr<const events::TableSchema> DepartmentsSchema();

// Drives `writer` through a mixed workload, one transaction published per step (commit LSNs
// 1000, 2000, ...; commit times one second apart): inserts into all five contract tables and
// departments, updates (two of one student in one transaction), deletes, a student deleted and
// re-inserted, enrollments dropped and re-made, a professor assigned after enrollments and one
// removed, a forced compaction (closes folded) in the middle, then further updates of one
// student. `after_step(step)` runs after each step's publish (steps numbered from 1). Failures
// are gtest failures.
void RunMixedWorkload(LakeWriter& writer, const std::function<void(int step)>& after_step);

}  // namespace migsbyu::lake::testing
