// pg::ReplicationConnection: RAII over a replication-mode PGconn (replication=database) speaking
// the streaming replication protocol's commands and its CopyBoth sub-protocol.
//
// The session runs with TimeZone=UTC and DateStyle=ISO, so every timestamptz and date the server
// prints (pgoutput text values) is in one exact, parseable form.
//
// Lifecycle: Open → IdentifySystem / CreateLogicalSlot / DropSlot (commands) → StartLogical →
// ReadMessage and SendStatus until the stream ends. A snapshot exported by CreateLogicalSlot
// stays valid until the next command on this connection.
//
// Threading: used by one thread at a time (REQUIRES: external synchronization). Move-only.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/lsn.h"
#include "common/result.h"
#include "pg/connection.h"
#include "pg/handle.h"

namespace migsbyu::pg {

struct SystemIdentity {
  std::string system_id;
  uint32_t timeline = 0;
  Lsn wal_flush;  // the server's current WAL flush position
  std::string database;
};

struct CreatedSlot {
  std::string slot_name;
  Lsn consistent_point;
  std::string snapshot_name;  // empty unless exported
};

// One message of the CopyBoth stream, its payload decoded from the wire header.
struct ReplicationMessage {
  enum class Kind { kXLogData, kKeepalive };
  Kind kind = Kind::kXLogData;
  Lsn wal_start;                 // XLogData: the WAL position of this message's data
  Lsn wal_end;                   // the server's WAL end at sending time
  int64_t send_time_us = 0;      // µs since the Unix epoch
  bool reply_requested = false;  // keepalive only
  std::string data;              // XLogData payload (the pgoutput message)
};

// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
inline constexpr int64_t kPostgresEpochOffsetUs = 946684800LL * 1000000LL;

class ReplicationConnection {
 public:
  // Opens a logical replication connection to `conninfo` (URL or key=value).
  // kUnavailable when the server cannot be reached or refuses replication.
  static Result<ReplicationConnection> Open(const std::string& conninfo);

  ReplicationConnection(ReplicationConnection&&) noexcept = default;
  ReplicationConnection& operator=(ReplicationConnection&&) noexcept = default;

  Result<SystemIdentity> IdentifySystem();

  // CREATE_REPLICATION_SLOT `name` LOGICAL pgoutput, exporting a snapshot when asked.
  // kAlreadyExists when the slot exists.
  Result<CreatedSlot> CreateLogicalSlot(const std::string& name, bool export_snapshot);

  // DROP_REPLICATION_SLOT `name` WAIT. kNotFound when absent.
  Status DropSlot(const std::string& name);

  // START_REPLICATION SLOT `slot` LOGICAL `start` (options...). Option values are quoted here;
  // names are fixed by the caller. On success the connection is in CopyBoth mode.
  Status StartLogical(const std::string& slot, Lsn start,
                      const std::vector<std::pair<std::string, std::string>>& options);

  // Waits up to `timeout` for the next message. nullopt on timeout; kUnavailable when the
  // connection is lost or the server ended the stream; kCorruption for a malformed header.
  Result<std::optional<ReplicationMessage>> ReadMessage(std::chrono::milliseconds timeout);

  // Sends a Standby Status Update: written, flushed and applied positions all as `flushed`
  // (what the client holds durably), requesting no reply.
  Status SendStatus(Lsn flushed);

  // The socket, for callers that poll several sources. -1 when closed.
  int socket() const { return c_ ? PQsocket(c_.get()) : -1; }
  int ServerVersion() const { return c_ ? PQserverVersion(c_.get()) : 0; }

 private:
  explicit ReplicationConnection(ConnHandle c) : c_(std::move(c)) {}
  // Runs a replication command expecting tuples or command-ok.
  Result<PgResult> Command(const std::string& command);
  Status Flush();

  ConnHandle c_;
  bool streaming_ = false;
};

}  // namespace migsbyu::pg
