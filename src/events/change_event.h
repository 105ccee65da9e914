// ChangeEvent: the one type that cdc produces and every sink (file, Kafka, lake) consumes.
//
// A change is one row-level operation of one committed transaction, in commit order. Values are
// typed (Value) and keep PostgreSQL's exactness: numeric stays a decimal string, timestamps are
// microseconds since the Unix epoch, dates days since the Unix epoch. Columns describe the table
// as it was when the change was made, so a column added mid-stream shows in later events only.
//
// Ordering: events of one transaction share commit_lsn and xid and are numbered by `position`
// (0, 1, 2, ...). Transactions reach a sink in commit order, so (commit_lsn, position) is a total
// order of all changes and a unique identity for each: the key of exactly-once delivery.
// Snapshot rows (Operation::kRead) are delivered as one pseudo-transaction whose commit_lsn is
// the replication slot's consistent point, before any streamed transaction.
//
// Who made a change travels with each change (`actor`, common/actor.h), not with its
// transaction: the connector gives every change the actor of the last 'migsbyu.actor' message
// before it in its transaction (none: origin "database"; snapshot rows: origin "snapshot"), and
// the Kafka source reads it from each message's envelope, which a transaction spread over several
// topics reaches in pieces.
//
// Threading: immutable once built; a TableSchema is shared (shared_ptr<const>) between events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/actor.h"
#include "common/lsn.h"

namespace migsbyu::events {

enum class Operation : char {
  kRead = 'r',    // a row of the initial snapshot
  kInsert = 'c',  // Debezium's letters: c(reate), u(pdate), d(elete), t(runcate), r(ead)
  kUpdate = 'u',
  kDelete = 'd',
  kTruncate = 't',
};

// The types MigsbyU decodes; anything else travels as kText with its PostgreSQL text form.
enum class ValueType : uint8_t {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kFloat64,
  kNumeric,  // exact decimal, text form
  kText,
  kDate,         // days since 1970-01-01
  kTimestamp,    // µs since 1970-01-01 00:00:00, no zone
  kTimestampTz,  // µs since 1970-01-01 00:00:00 UTC
};

struct Column {
  std::string name;
  ValueType type = ValueType::kText;
  uint32_t type_oid = 0;       // PostgreSQL's type OID
  int32_t type_modifier = -1;  // e.g. numeric(3,2) precision and scale, as pg_attribute.atttypmod
  bool key = false;            // part of the replica identity key (the primary key)
  bool operator==(const Column&) const = default;
};

struct TableSchema {
  uint32_t relation_id = 0;  // PostgreSQL's table OID
  std::string schema;        // "public"
  std::string name;          // "students"
  std::vector<Column> columns;

  // Index of a column by name, or -1.
  int ColumnIndex(const std::string& column) const;
};

// One typed value. For kNull and kUnchangedToast the other fields are unused.
struct Value {
  enum class State : uint8_t { kNull, kPresent, kUnchangedToast };
  State state = State::kNull;
  int64_t integer = 0;  // kBool (0/1), kInt*, kDate, kTimestamp, kTimestampTz
  double real = 0;      // kFloat64
  std::string text;     // kNumeric, kText

  static Value Null() { return {}; }
  static Value UnchangedToast() { return {State::kUnchangedToast, 0, 0, {}}; }
  static Value Integer(int64_t v) { return {State::kPresent, v, 0, {}}; }
  static Value Real(double v) { return {State::kPresent, 0, v, {}}; }
  static Value Text(std::string v) { return {State::kPresent, 0, 0, std::move(v)}; }

  bool is_null() const { return state == State::kNull; }
  bool operator==(const Value&) const = default;
};

// Values parallel to TableSchema::columns.
using Row = std::vector<Value>;

struct TransactionInfo {
  uint32_t xid = 0;
  Lsn commit_lsn;              // the LSN of the commit record
  Lsn end_lsn;                 // the LSN just past the commit: what to acknowledge
  int64_t commit_time_us = 0;  // commit timestamp, µs since the Unix epoch
  bool snapshot = false;       // the initial snapshot's pseudo-transaction
  // Snapshot only: the tables it copies (names without schema), also those with no row, so a
  // sink that reconciles knows which tables the snapshot speaks for. Empty when unknown.
  std::vector<std::string> snapshot_tables;
  // An incremental snapshot's chunk (docs/CDC.md "Incremental snapshots"): its kRead rows are
  // the table's rows as of this transaction's position in the stream, each to be reconciled with
  // the sink's current version of its key (identical: nothing; different: a new version).
  bool snapshot_chunk = false;
  // Set on the last chunk of a table's pass: keys of `chunk_table` the sink holds as current
  // whose last change commits before `pass_start` (so that no chunk read them and the stream
  // did not change them during the pass) were deleted meanwhile and are closed at this
  // transaction's commit time.
  bool pass_end = false;
  Lsn pass_start;
  // The chunk's table (for a chunk with no row, and for the deletes at a pass's end).
  std::shared_ptr<const TableSchema> chunk_table;
  // Incremental snapshot progress (cdc-owned text) that a sink which records positions stores
  // atomically with this transaction and returns as Sink::SnapshotProgress(); nullopt: unchanged,
  // empty: no snapshot in progress.
  std::optional<std::string> snapshot_progress;
};

struct ChangeEvent {
  Operation op = Operation::kInsert;
  std::shared_ptr<const TableSchema> table;
  std::optional<Row> before;  // update and delete (REPLICA IDENTITY FULL gives all columns)
  std::optional<Row> after;   // read, insert and update
  Lsn commit_lsn;             // of the transaction
  Lsn lsn;                    // of this change's WAL record (snapshot rows: the consistent point)
  uint64_t position = 0;      // 0-based index within the transaction
  uint32_t xid = 0;
  int64_t commit_time_us = 0;
  // Who made it: changed_by (actor.user) and origin. An empty origin means not recorded: a
  // change read back from a lake change log written before the lake stored actors.
  Actor actor;
  // The Kafka partition of its table's topic it was read from, or -1 (not read from Kafka). A
  // topic's partitions are ordered each on its own, not with each other: a sink that drops
  // redeliveries by (commit_lsn, position) keeps one mark per partition (docs/LAKE.md "Kafka").
  int32_t source_partition = -1;
};

// Text form of a value as PostgreSQL would print it ("2024-01-31", "3.75", "t").
std::string ValueToText(ValueType type, const Value& value);

// The identity of a row's key: the text of `schema`'s key columns (\N for a null), each
// followed by \x1f, so that two rows have the same KeyText exactly when their keys are equal.
std::string KeyText(const TableSchema& schema, const Row& row);

}  // namespace migsbyu::events
