// cdc::Connector: change data capture from PostgreSQL into one transport::Sink.
//
// The connector owns two connections to the server: a replication-mode connection streaming the
// pgoutput logical decoding of a replication slot, and a normal one for setup (publication, slot
// lookup, primary keys) and the initial snapshot. It
//   1. creates the publication (FOR TABLE the include list) and the slot when they are absent;
//   2. on a new slot, reads every captured table inside the snapshot the slot exported (COPY,
//      streamed row by row) and hands the rows to the sink as one pseudo-transaction
//      (TransactionInfo::snapshot, Operation::kRead, commit_lsn = end_lsn = the slot's
//      consistent point), then streams from that point: no gap, no duplicate;
//   3. decodes pgoutput (protocol 1, or 2 with streaming of in-progress transactions spooled to
//      a temporary file per transaction) and hands each committed transaction to the sink in
//      commit order: Begin, Apply for each change, Commit;
//   4. confirms to the server only the LSN the sink's Flush() returned, so a crash loses
//      nothing; it skips transactions whose end_lsn ≤ the sink's ResumeLsn(), so a replay
//      duplicates nothing;
//   5. reconnects with capped exponential backoff when the server or the connection goes away.
// Never captured: the tables of the private schema (common/private_schema.h: sign-in's users,
// sessions and tokens). Naming one in `tables` is kInvalidArgument; a publication made by hand
// that publishes them (FOR ALL TABLES, say) is used, with a warning, but their rows are left out
// of the snapshot and dropped from the stream, so none reaches the sink.
// A snapshot interrupted by a crash is redone: a slot whose sink recorded nothing durable
// (ResumeLsn() empty) is dropped and created again with a fresh snapshot.
// Slot continuity (slot.h): at every start and every slot_check_interval the slot is compared
// with the sink's position; a slot that is missing, invalidated or ahead of the sink stops the
// connector with an error (or, with SlotLossPolicy::kResnapshot, is recreated and followed by a
// snapshot, which a sink holding data reconciles).
//
// Sink calls: TransactionInfo in Begin carries xid, commit_lsn and commit_time_us; end_lsn is
// known only from the commit message, so it is set in Commit (and zero in Begin for transactions
// that were not streamed). A transaction with no change of a captured table (one that carried
// only logical decoding messages) is not handed to the sink at all. The sink is called only from
// the thread running Run().
//
// Who changed what: the connector asks pgoutput for logical decoding messages (`messages`, on
// servers ≥ 14, with protocol 1 and 2, streamed transactions included) and gives each change the
// actor of the last transactional 'migsbyu.actor' message before it in its transaction
// (common/actor.h); a change with none has origin "database", a snapshot row origin "snapshot".
// The actor never outlives its transaction.
//
// Threading: Run() blocks its calling thread until the stop token is triggered (then it returns
// OkStatus at the next message boundary, after a last flush and status update when no
// transaction is open; a transaction left half-delivered is not flushed, and the sink receives
// it whole on the next start) or a non-retryable error occurs (bad options).
// GetMetrics() is thread-safe and may be called from any thread at any time. Backpressure: the
// connector reads the next message only after the sink accepted the previous one; memory is
// bounded by one decoded change plus the socket buffers, whatever the transaction size.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "cdc/incremental.h"
#include "cdc/slot.h"
#include "common/lsn.h"
#include "common/result.h"
#include "transport/dead_letter.h"
#include "transport/sink.h"

namespace migsbyu::cdc {

struct ConnectorOptions {
  // libpq URL or key=value string of the captured database.
  std::string database_url;
  std::string slot_name = "migsbyu";
  std::string publication_name = "migsbyu";
  // Captured tables, "table" (schema public) or "schema.table", each with a primary key. At
  // every start the publication is made to match (docs/CDC.md "The capture set"): created when
  // absent, a table no longer listed dropped from it, a new one added and copied by an
  // incremental snapshot while the stream goes on.
  std::vector<std::string> tables = {"students", "professors", "courses", "takes", "teaches"};
  // pgoutput protocol: 1, or 2 (PostgreSQL ≥ 14) which allows streaming.
  int protocol_version = 2;
  // With protocol 2: let the server stream large in-progress transactions (spooled to disk
  // here until they commit) instead of buffering them itself.
  bool streaming = true;
  // Take the initial snapshot when the slot is created (otherwise only changes from then on).
  bool snapshot = true;
  // How often a Standby Status Update (with a sink Flush) is sent at the latest.
  std::chrono::milliseconds status_interval{1000};
  // Reconnect backoff: starts at the first value, doubles, capped at the second.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  // Folder for the spool files of streamed in-progress transactions (default: TMPDIR or /tmp).
  std::string spool_dir;
  // When the slot cannot deliver what follows the sink's position (slot.h): stop with an error
  // (the default), or recreate the slot and take a reconciling snapshot.
  SlotLossPolicy on_slot_loss = SlotLossPolicy::kStop;
  // How often the slot's health (wal_status, retained WAL, safe WAL size) is read while
  // streaming, and the safe WAL size below which the metrics warn.
  std::chrono::milliseconds slot_check_interval{10000};
  int64_t slot_warn_safe_bytes = int64_t{1} << 30;
  // For a sink that records positions: how often an idle slot's position is recorded (a lake
  // commit without changes) so that it can be acknowledged.
  std::chrono::milliseconds idle_position_interval{10000};
  // Where a change the sink refuses as unstorable (ErrorCode::kValidation from Apply) goes, so
  // that capture goes on without it (transport/dead_letter.h); null (--on-error=stop): such a
  // refusal stops the transaction and is retried like any sink error. Must outlive Run().
  transport::DeadLetterSink* dead_letters = nullptr;
  // Rows per chunk of an incremental snapshot (incremental.h), read in one statement and held
  // in memory until the chunk's high watermark is streamed.
  size_t snapshot_chunk_rows = 8192;
};

enum class ConnectorState : uint8_t {
  kStarting,      // connecting, creating publication or slot
  kSnapshotting,  // copying the captured tables
  kStreaming,     // reading the slot
  kReconnecting,  // waiting out a backoff after an error
  kStopped,
};

std::string_view ConnectorStateName(ConnectorState state);

struct Metrics {
  ConnectorState state = ConnectorState::kStarting;
  // Server WAL position (from the stream) minus the last flushed LSN; 0 when caught up.
  uint64_t lag_bytes = 0;
  // Age of the commit time of the transaction most recently handed to the sink when the stream
  // is behind; 0 when caught up.
  double lag_seconds = 0;
  double events_per_second = 0;  // over the last few seconds
  uint64_t events_total = 0;     // changes handed to the sink since start (snapshot included)
  uint64_t transactions_total = 0;
  Lsn last_flushed_lsn;  // confirmed to the server
  Lsn server_wal_end;    // the server's position as last reported
  int64_t last_commit_time_us = 0;
  // Snapshot progress: tables copied of total, and rows so far.
  uint32_t snapshot_tables_done = 0;
  uint32_t snapshot_tables_total = 0;
  uint64_t snapshot_rows = 0;
  uint64_t reconnects = 0;
  // Slot health, as last read (slot.h): wal_status (empty before the first read), WAL bytes the
  // slot retains, the safe WAL size (unset when the server does not limit it), and whether
  // retention puts the slot at risk (wal_status 'unreserved' or the safe size below
  // ConnectorOptions::slot_warn_safe_bytes).
  std::string slot_wal_status;
  uint64_t slot_retained_bytes = 0;
  std::optional<int64_t> slot_safe_wal_size;
  bool slot_retention_warning = false;
  // Reconciling snapshots taken after a slot loss (--on-slot-loss=resnapshot).
  uint64_t slot_resnapshots = 0;
  // Incremental snapshot (incremental.h): whether one is in progress, the table being read and
  // the text of the last key its chunks read ("" before the first), tables still to read (the
  // current one included), and chunks and rows handed to the sink since it was requested.
  bool incremental_active = false;
  std::string incremental_table;
  std::string incremental_last_key;
  uint32_t incremental_tables_left = 0;
  uint64_t incremental_chunks = 0;
  uint64_t incremental_rows = 0;
  uint64_t dead_letters = 0;  // changes set aside as unstorable since start
  std::string last_error;     // empty when none since the last successful (re)connection
};

class Connector {
 public:
  // `sink` must outlive the connector. REQUIRES: options.database_url non-empty.
  Connector(ConnectorOptions options, transport::Sink* sink);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Captures until `stop` is requested; returns OkStatus then. Call it once per Connector.
  // Retryable failures (lost connection, server restart, sink error, a corrupt message) are
  // logged, counted and retried with backoff; an invalid option, a publication that cannot
  // be created, or (with SlotLossPolicy::kStop) a slot that cannot deliver what follows the
  // sink's position returns its error.
  Status Run(std::stop_token stop);

  // A consistent copy of the current figures. Thread-safe.
  Metrics GetMetrics() const;

 private:
  class Session;
  friend class Session;

  ConnectorOptions options_;
  transport::Sink* sink_;
  // Where the incremental snapshot stands (what the sink stored, then advanced by each chunk
  // delivered); only Run()'s thread touches it.
  IncrementalProgress incremental_;
  mutable std::mutex metrics_mutex_;
  Metrics metrics_;
};

}  // namespace migsbyu::cdc
