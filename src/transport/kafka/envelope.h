// The Debezium envelope: how a ChangeEvent travels through Kafka, and how Debezium's own
// PostgreSQL connector events (JSON converter) come back as ChangeEvents.
//
// Format (owned here; docs/KAFKA.md shows full examples). One message per change:
//   topic  <prefix>.<schema>.<table>
//   key    the primary key columns: {"schema": <struct ...Key>, "payload": {"id": 7}}, or just
//          the payload object when schemas are disabled; null for a truncate.
//   value  {"schema": <struct ...Envelope>, "payload": P} or just P when schemas are disabled,
//          P = {"before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"}:
//     before/after  rows as objects column → value (null when absent);
//     source        {version, connector: "postgresql", name: <prefix>, ts_ms, ts_us, ts_ns
//                   (commit time), snapshot: "true" | "last" | "false", db, sequence, schema,
//                   table, txId, lsn, xmin} as Debezium documents it, where sequence is the
//                   JSON string ["<last committed LSN>", "<lsn>"] (decimal LSNs; the first is
//                   the commit LSN of the transaction before this one, null when unknown), plus
//                   two MigsbyU fields: commit_lsn and end_lsn (decimal) of this transaction
//                   (end_lsn null when the sink did not know it yet: the connector learns it
//                   only at the commit; a decoder then takes commit_lsn), and who made the
//                   change (common/actor.h): changed_by (the user, or null) and origin
//                   ("portal", "simulator", "cli", "snapshot", "database"). An event without
//                   origin (a real Debezium connector's) decodes as changed_by null, origin
//                   "database";
//     transaction   {id: "<txId>:<commit_lsn>", total_order: position + 1,
//                   data_collection_order: 1-based index among this table's changes in the tx};
//     op            "r" | "c" | "u" | "d" | "t"; ts_ms/ts_us/ts_ns: when the sink encoded it.
//   a tombstone   (optional, default on) after each delete: same key, null value.
// Column values follow decimal.handling.mode and time.precision.mode (see EnvelopeOptions).
// With schemas enabled each column's field schema carries Debezium's
// column.propagate.source.type parameters (__debezium.source.column.type/length/scale), so our
// own envelopes decode back to exactly the types they were encoded from.
//
// Ordering identity of a decoded event, used to de-duplicate redeliveries:
//   ours:                 (source.commit_lsn, transaction.total_order - 1) = (commit_lsn, position)
//   Debezium, streaming:  (sequence[0] = last committed LSN, or lsn when null;
//                          transaction.total_order - 1 when transaction metadata is present,
//                          else source.lsn) — Debezium's own ordering key;
//   Debezium, snapshot:   (source.lsn, the Kafka offset) — see DecodedChange::position_from_offset.
//
// Threading: pure functions over values; safe from any thread (each thread caches the schema
// parts of the tables it encoded, so encoding costs little more than the payload).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "events/change_event.h"

namespace migsbyu::kafka {

// Bounds checked before anything is parsed or allocated for a message (a hostile one goes to
// the dead letters, not into memory): a key or value of at most kMaxMessageBytes, JSON nested at
// most kMaxJsonDepth deep, decimals of at most kMaxDecimalDigits digits and a scale of 0 to
// kMaxDecimalDigits (PostgreSQL's numeric limits), table, schema and column names that are
// plain identifiers (common/identifier.h).
inline constexpr size_t kMaxMessageBytes = 16 << 20;
inline constexpr int kMaxJsonDepth = 64;
inline constexpr int kMaxDecimalDigits = 1000;
inline constexpr size_t kMaxDecimalBase64 = 560;  // 418 bytes: 1000 digits and a sign

// decimal.handling.mode: "string" (our default: exact text "3.75"), "double" (a JSON number),
// "precise" (Debezium's default: base64 of the big-endian two's-complement unscaled value,
// schema org.apache.kafka.connect.data.Decimal with the scale in its parameters; numeric
// without a declared scale becomes io.debezium.data.VariableScaleDecimal {scale, value}).
enum class DecimalHandling { kString, kDouble, kPrecise };

// time.precision.mode: "iso_string" (our default: dates "2024-01-31", timestamps
// "2024-01-31T10:00:00.25", schema names io.debezium.time.IsoDate / IsoTimestamp),
// "adaptive" (Debezium's default: date → int32 days io.debezium.time.Date, timestamp → int64 µs
// io.debezium.time.MicroTimestamp, or ms io.debezium.time.Timestamp for precision ≤ 3),
// "connect" (date → int32 org.apache.kafka.connect.data.Date, timestamp → int64 ms
// org.apache.kafka.connect.data.Timestamp). timestamptz is always an ISO string with zone "Z"
// (io.debezium.time.ZonedTimestamp).
enum class TimePrecision { kIsoString, kAdaptive, kConnect };

Result<DecimalHandling> ParseDecimalHandling(std::string_view name);
Result<TimePrecision> ParseTimePrecision(std::string_view name);

struct EnvelopeOptions {
  std::string topic_prefix = "migsbyu";  // Debezium's topic.prefix; also source.name
  std::string database = "postgres";     // source.db
  bool schemas_enable = true;            // the JSON converter's schemas.enable (key and value)
  DecimalHandling decimal_handling = DecimalHandling::kString;
  TimePrecision time_precision = TimePrecision::kIsoString;
  bool tombstones_on_delete = true;  // tombstones.on.delete
};

// "<prefix>.<schema>.<table>".
std::string TopicName(const EnvelopeOptions& options, const events::TableSchema& table);
// The table a topic named so is for: what follows its last '.' ("students" of
// "migsbyu.public.students"), the whole name when it has none.
std::string TableOfTopic(std::string_view topic);

// What an envelope carries beyond the change itself; the sink knows it.
struct EnvelopeContext {
  Lsn end_lsn;                         // of the transaction; zero when not known yet
  std::optional<Lsn> last_commit_lsn;  // commit LSN of the previous transaction, if known
  bool snapshot = false;               // part of the initial snapshot
  bool last_snapshot_record = false;   // source.snapshot = "last"
  uint64_t data_collection_order = 1;  // 1-based among this table's changes in the transaction
  int64_t processed_at_us = 0;         // payload ts_ms/ts_us/ts_ns
};

// The key message, or nullopt when the change has no key (a truncate, or a table without a
// primary key). Values come from `after`, or `before` for a delete.
Result<std::optional<std::string>> EncodeKey(const events::ChangeEvent& change,
                                             const EnvelopeOptions& options);

// The value message. Errors (InvalidArgument) name the table and column of a value that the
// chosen modes cannot represent (e.g. a numeric with more decimals than its declared scale).
Result<std::string> EncodeValue(const events::ChangeEvent& change, const EnvelopeContext& context,
                                const EnvelopeOptions& options);

// The id our envelopes give a transaction (payload.transaction.id): "<txId>:<commit_lsn>".
std::string TransactionId(uint32_t xid, Lsn commit_lsn);

// Debezium's transaction metadata topic (provide.transaction.metadata): "<prefix>.transaction".
std::string TransactionTopic(const EnvelopeOptions& options);

struct DataCollectionCount {
  std::string data_collection;  // "<schema>.<table>"
  uint64_t event_count = 0;
};

// A transaction metadata record as Debezium writes it, (key, value): key {"id"}; value
// {"status": "BEGIN" | "END", "id", "event_count": null | total, "data_collections": null |
// [{"data_collection", "event_count"}], "ts_ms"}, with Debezium's schemas when schemas_enable.
// BEGIN when `end` is nullopt, END with its per-table counts otherwise. DecodeEnvelope skips
// such records (they are not row changes).
std::pair<std::string, std::string> EncodeTransactionRecord(
    const std::string& id, const std::optional<std::vector<DataCollectionCount>>& end,
    int64_t ts_us, const EnvelopeOptions& options);

struct DecodedChange {
  events::ChangeEvent change;  // with a freshly built TableSchema (types from the schema part
                               // when present, else inferred from the JSON values)
  events::TransactionInfo tx;  // xid, commit_lsn, end_lsn (= commit_lsn for Debezium's events),
                               // commit time, snapshot
  // True for a Debezium snapshot event without transaction metadata: no field orders it, so
  // the caller sets change.position to the message's Kafka offset (stable across redelivery).
  bool position_from_offset = false;
  // payload.transaction.id (empty without a transaction block): what the transaction metadata
  // records name, and "<schema>.<table>", the data_collection they count this change under.
  std::string transaction_id;
  std::string data_collection;
};

// A transaction metadata record (EncodeTransactionRecord's, or Debezium's) decoded.
struct TransactionRecord {
  bool end = false;  // END (with counts) or BEGIN
  std::string id;
  uint64_t event_count = 0;                      // END only
  std::vector<DataCollectionCount> collections;  // END only
};

// Decodes a message of the transaction metadata topic, schemas on or off. Corruption names what
// is malformed (not JSON, no status or id, an END without its counts).
Result<TransactionRecord> DecodeTransactionRecord(const std::string* key, const std::string* value);

// Decodes one message. `key` and `value` are null for Kafka null. A tombstone (null value) and
// a record that is not a row change (Debezium's transaction BEGIN/END metadata, an op "m"
// logical decoding message) give nullopt. Errors (Corruption) name what is malformed: bad JSON,
// missing source, unknown op, a value that does not match its declared type.
Result<std::optional<DecodedChange>> DecodeEnvelope(const std::string* key,
                                                    const std::string* value);

}  // namespace migsbyu::kafka
