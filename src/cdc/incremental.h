// cdc incremental snapshots: re-reading captured tables in primary-key chunks while the stream
// goes on, with the watermark algorithm of Netflix's DBLog (as Debezium implements it); the
// connector drives it (connector.h), this header owns its formats and the chunk query.
//
// For each chunk the connector, between two messages of the stream and on its normal
// connection,
//   1. emits a low watermark, `pg_logical_emit_message(true, 'migsbyu.watermark', 'low:<id>')`,
//      in a transaction of its own;
//   2. reads the chunk: `SELECT cols FROM t WHERE (pk) > (last key) ORDER BY pk LIMIT n`, in a
//      statement of its own (READ COMMITTED: it sees everything committed before it began);
//   3. emits the high watermark 'high:<id>'.
// Then it streams on: every change of the chunk's table that the stream delivers between the two
// watermarks removes its keys (before and after) from the chunk, since that change is newer than
// or as new as what the SELECT may have read and reaches the sink itself. At the high
// watermark's commit the rows left are handed to the sink as one transaction at that position
// (TransactionInfo::snapshot_chunk, Operation::kRead, origin 'snapshot'), which reconciles them
// with its current versions. Nothing is locked and capture never pauses.
//
// Requests: `RequestIncrementalSnapshot` emits a transactional 'migsbyu.snapshot-request'
// message `{"tables":["public.students", ...]}`; the connector reading the slot queues the tables
// when the message's transaction commits, so the CLI and the portal need no channel to the
// process that captures.
//
// Progress (ProgressToJson) travels with each chunk's transaction (and with the request's), and
// a sink that records positions (the lake) stores it in the same commit, so a restart resumes at
// the next chunk.
//
// Threading: plain functions; ReadChunk uses the caller's connection only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdc/snapshot.h"
#include "common/lsn.h"
#include "common/result.h"
#include "events/change_event.h"
#include "pg/connection.h"

namespace migsbyu::cdc {

inline constexpr std::string_view kWatermarkPrefix = "migsbyu.watermark";
inline constexpr std::string_view kSnapshotRequestPrefix = "migsbyu.snapshot-request";

// Where an incremental snapshot stands. JSON:
//   {"tables":["public.students","public.courses"],"last_key":["S000123"],"pass_start":123,
//    "chunks":4,"rows":32768,"requested_us":...}
// tables: still to read, the first being read; last_key: the text of the primary key columns of
// the last row the current table's chunks read (absent: the table's first chunk is next);
// pass_start: the commit LSN of the current table's first low watermark (0 before it), from
// which the stream's changes count as seen by the pass; chunks and rows: done so far.
struct IncrementalProgress {
  std::vector<std::string> tables;
  std::optional<std::vector<std::string>> last_key;
  Lsn pass_start;
  uint64_t chunks = 0;
  uint64_t rows = 0;
  int64_t requested_us = 0;

  bool active() const { return !tables.empty(); }
};

std::string ProgressToJson(const IncrementalProgress& progress);
// Empty text is no snapshot in progress; kCorruption when the text is not a progress.
Result<IncrementalProgress> ProgressFromJson(std::string_view text);

// The request message's payload for `tables` ("table" or "schema.table"), and back.
std::string SnapshotRequestPayload(const std::vector<std::string>& tables);
// kInvalidArgument when the payload is not a request (the message is then ignored).
Result<std::vector<std::string>> ParseSnapshotRequest(std::string_view payload);

// Checks that each table exists with a primary key and, when `publication` is given, that the
// publication captures it (outside the private schema), then emits the request message in a
// transaction of its own. kInvalidArgument naming a table that does not qualify (nothing is
// emitted then). Without `publication` an uncaptured table is refused later, by the connector
// that reads the request (logged, not answered).
Status RequestIncrementalSnapshot(pg::Connection& conn, const std::vector<std::string>& tables,
                                  const std::optional<std::string>& publication = std::nullopt);

// One chunk as read by ReadChunk.
struct Chunk {
  std::shared_ptr<const events::TableSchema> schema;
  std::vector<events::Row> rows;  // in primary key order
  // The text of the last row's primary key columns (nullopt when the chunk is empty).
  std::optional<std::vector<std::string>> last_key;
  bool last = false;  // fewer rows than asked: the table is read to its end
};

// Reads up to `limit` rows of `table` whose primary key follows `after` (nullopt: from the
// start), in primary key order. The statement is parameterized, identifiers quoted.
// REQUIRES: the session runs with TimeZone UTC, DateStyle ISO, extra_float_digits 3.
Result<Chunk> ReadChunk(pg::Connection& conn, const TableName& table,
                        const std::optional<std::vector<std::string>>& after, size_t limit);

}  // namespace migsbyu::cdc
