// Helpers for the lake's tests (the test-only library migsbyu_lake_testing): the contract's
// tables described as the connector describes a captured table, and query results as text for
// comparisons. Not for production code. Thread-compatible: each call stands alone.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/change_event.h"

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

}  // namespace migsbyu::lake::testing
