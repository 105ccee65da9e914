// cdc snapshot: the initial copy of the captured tables, read inside the snapshot a new
// replication slot exported, so that the copy plus the slot's stream from its consistent point
// contain every change exactly once.
//
// Also the catalog lookups the connector shares with the snapshot: the captured tables of a
// publication, a table's schema as pgoutput describes it, and a table's primary key.
//
// Threading: one thread, on a normal (non-replication) pg::Connection that nothing else uses
// meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "events/change_event.h"
#include "pg/connection.h"
#include "transport/sink.h"

namespace migsbyu::cdc {

struct TableName {
  std::string schema;
  std::string name;
};

// "students" → public.students; "s.t" → s.t.
TableName ParseTableName(const std::string& text);

// The tables a publication captures, in a stable order. kNotFound if the publication is absent.
Result<std::vector<TableName>> PublicationTables(pg::Connection& conn,
                                                 const std::string& publication);

// The table's live, non-generated columns in attribute order (as a pgoutput Relation lists
// them), typed, with the primary key columns flagged. kNotFound if the table is absent.
Result<std::shared_ptr<const events::TableSchema>> LoadTableSchema(pg::Connection& conn,
                                                                   const TableName& table);

// The primary key column names of relation `relation_id` (empty if it has none).
Result<std::vector<std::string>> PrimaryKeyColumns(pg::Connection& conn, uint32_t relation_id);

struct SnapshotProgress {
  uint32_t tables_done = 0;
  uint32_t tables_total = 0;
  uint64_t rows = 0;
};

// The server's clock (clock_timestamp()), µs since the Unix epoch.
Result<int64_t> ServerClockUs(pg::Connection& conn);

// Copies `tables` as of exported snapshot `snapshot_name` into `sink` as one pseudo-transaction
// (snapshot = true, commit_lsn = end_lsn = `consistent_point`, commit_time_us = `instant_us`,
// snapshot_tables = the tables' names, Operation::kRead events), then flushes the sink.
// `instant_us` comes from the server's clock read just before the slot was created, so every
// transaction the slot streams commits after it by the same clock and no version ends before it
// starts. (Not the snapshot transaction's own now(): that transaction begins after the slot's
// consistent point, and a transaction committing in between is streamed with an earlier time.)
// Rows stream through COPY one at a time (bounded memory). `progress` is called after each table
// and every 10,000 rows. kCancelled when `stop` is requested.
// REQUIRES: the replication connection that exported the snapshot runs no other command until
// this returns. Leaves `conn` outside any transaction (or broken). A ROLLBACK after a failure
// that fails too is logged, and the first failure returned; a COMMIT that fails once the sink has
// flushed the copy is logged and the snapshot reported done: its transaction only read, and the
// copy is complete and durable, so failing would make the caller take a second one.
Status CopySnapshot(pg::Connection& conn, const std::string& snapshot_name,
                    const std::vector<TableName>& tables, Lsn consistent_point, int64_t instant_us,
                    transport::Sink& sink,
                    const std::function<void(const SnapshotProgress&)>& progress,
                    std::stop_token stop);

// Splits one line of COPY text format into fields, unescaping them; nullopt fields are \N.
// kCorruption naming the table when an escape is malformed.
Status ParseCopyLine(std::string_view line, std::vector<std::optional<std::string>>* fields);

}  // namespace migsbyu::cdc
