// cdc::Decoder: the pgoutput logical replication protocol (versions 1 and 2) to typed messages.
//
// Each XLogData payload of a pgoutput stream is one message. Decode() parses it completely,
// bounds-checking every field: a truncated or malformed message, an unknown message type, a
// change for a relation never described, or a value that does not parse as its column's type is
// Error::Corruption naming the message's LSN; the decoder never crashes and never skips.
//
// The decoder keeps the relation cache: a Relation message (at start, or mid-stream after a
// schema change) replaces that table's schema, and later changes decode with the new one; the
// events already made keep theirs (shared_ptr<const TableSchema>). Values come as text ('t'),
// NULL ('n') or unchanged TOAST ('u'); text is typed by the column's type OID (value_codec.h).
// An update's unchanged-TOAST value is filled from the old row when the old row carries it
// (REPLICA IDENTITY FULL), so `after` is complete.
//
// Streaming (protocol 2): between Stream Start and Stream Stop every data message carries the
// (sub)transaction id first; Decode tracks that state. Messages spooled during a stream are
// replayed later with DecodeStreamed(), which always expects the id.
//
// Key columns: with REPLICA IDENTITY FULL pgoutput flags every column as key. When a
// KeyResolver is set, the decoder asks it for the primary key of such a table and flags only
// those columns.
//
// Threading: one thread (REQUIRES: external synchronization). Not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "events/change_event.h"

namespace migsbyu::cdc {

struct BeginMessage {
  Lsn final_lsn;  // the commit record's LSN
  int64_t commit_time_us = 0;
  uint32_t xid = 0;
};
struct CommitMessage {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us = 0;
};
struct OriginMessage {
  Lsn origin_lsn;
  std::string name;
};
struct RelationMessage {
  std::shared_ptr<const events::TableSchema> table;
  char replica_identity = 'd';  // d(efault), n(othing), f(ull), i(ndex)
};
struct TypeMessage {
  uint32_t type_oid = 0;
  std::string schema;
  std::string name;
};
// Insert, update or delete of one row.
struct RowMessage {
  events::Operation op = events::Operation::kInsert;
  std::shared_ptr<const events::TableSchema> table;
  std::optional<events::Row> before;
  std::optional<events::Row> after;
};
struct TruncateMessage {
  std::vector<std::shared_ptr<const events::TableSchema>> tables;
  bool cascade = false;
  bool restart_identity = false;
};
struct LogicalMessage {
  bool transactional = false;
  Lsn lsn;
  std::string prefix;
  std::string content;
};
struct StreamStartMessage {
  uint32_t xid = 0;
  bool first_segment = false;
};
struct StreamStopMessage {};
struct StreamCommitMessage {
  uint32_t xid = 0;
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us = 0;
};
struct StreamAbortMessage {
  uint32_t xid = 0;     // the top-level transaction
  uint32_t subxid = 0;  // equal to xid when the whole transaction aborted
};

using PgOutputMessage =
    std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                 RowMessage, TruncateMessage, LogicalMessage, StreamStartMessage, StreamStopMessage,
                 StreamCommitMessage, StreamAbortMessage>;

struct DecodedMessage {
  PgOutputMessage message;
  // The (sub)transaction id a streamed data message carried; 0 outside streams.
  uint32_t xid = 0;
};

// Primary key column names of a table, for REPLICA IDENTITY FULL relations.
using KeyResolver = std::function<Result<std::vector<std::string>>(
    uint32_t relation_id, const std::string& schema, const std::string& table)>;

class Decoder {
 public:
  Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  void SetKeyResolver(KeyResolver resolver) { key_resolver_ = std::move(resolver); }

  // Decodes one pgoutput message whose WAL position is `lsn` (named in errors).
  Result<DecodedMessage> Decode(std::string_view data, Lsn lsn);

  // Decodes a data message that was received inside a stream (it starts with its xid).
  Result<DecodedMessage> DecodeStreamed(std::string_view data, Lsn lsn);

  // The (sub)transaction id of a data message received inside a stream, for spooling it
  // without decoding. kCorruption when the message is not a streamable data message.
  static Result<uint32_t> StreamedXid(std::string_view data, Lsn lsn);

  // True between Stream Start and Stream Stop.
  bool in_stream() const { return in_stream_; }

  // Forgets relations and stream state (a new replication session resends them).
  void Reset();

  // The current schema of a relation, or null.
  std::shared_ptr<const events::TableSchema> FindRelation(uint32_t relation_id) const;

 private:
  Result<DecodedMessage> DecodeImpl(std::string_view data, Lsn lsn, bool streamed);

  std::unordered_map<uint32_t, std::shared_ptr<const events::TableSchema>> relations_;
  KeyResolver key_resolver_;
  bool in_stream_ = false;
};

}  // namespace migsbyu::cdc
