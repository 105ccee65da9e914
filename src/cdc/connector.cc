#include "cdc/connector.h"

#include <algorithm>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_map>

#include "cdc/decoder.h"
#include "cdc/incremental.h"
#include "cdc/snapshot.h"
#include "cdc/spool.h"
#include "common/log.h"
#include "common/private_schema.h"
#include "pg/connection.h"
#include "pg/replication.h"

namespace migsbyu::cdc {

std::string_view ConnectorStateName(ConnectorState state) {
  switch (state) {
    case ConnectorState::kStarting:
      return "starting";
    case ConnectorState::kSnapshotting:
      return "snapshotting";
    case ConnectorState::kStreaming:
      return "streaming";
    case ConnectorState::kReconnecting:
      return "reconnecting";
    case ConnectorState::kStopped:
      return "stopped";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

// A change as JSON text for a dead letter: {"op", "table", "before", "after"}, values as text.
std::string ChangeAsJson(const events::ChangeEvent& e) {
  nlohmann::json j = {{"op", std::string(1, static_cast<char>(e.op))},
                      {"table", e.table->schema + "." + e.table->name}};
  for (const auto& [name, row] : {std::pair{"before", &e.before}, std::pair{"after", &e.after}}) {
    if (!*row) {
      j[name] = nullptr;
      continue;
    }
    nlohmann::json values = nlohmann::json::object();
    for (size_t i = 0; i < (*row)->size() && i < e.table->columns.size(); ++i) {
      const auto& v = (**row)[i];
      values[e.table->columns[i].name] =
          v.is_null() ? nlohmann::json(nullptr)
                      : nlohmann::json(events::ValueToText(e.table->columns[i].type, v));
    }
    j[name] = std::move(values);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

// One connection attempt: setup, optional snapshot, then the stream until an error or stop.
// State that must survive a reconnect (what the sink already holds) lives in the Connector.
class Connector::Session {
 public:
  Session(Connector* owner, Lsn* delivered, std::stop_token stop)
      : owner_(owner),
        options_(owner->options_),
        sink_(*owner->sink_),
        delivered_(*delivered),
        stop_(std::move(stop)) {}

  // Returns when stopped (OkStatus) or on the first error. `made_progress` tells the caller
  // whether the stream got going (to reset the backoff); fatal() whether the error must end
  // Run() instead of a retry.
  Status Run(bool* made_progress) {
    SetState(ConnectorState::kStarting);
    MIGSBYU_ASSIGN(conn_, pg::Connection::Open(options_.database_url));
    MIGSBYU_TRY(SyncPublication());
    MIGSBYU_ASSIGN(SlotInfo slot_info, ReadSlot(*conn_, options_.slot_name));
    if (slot_info.exists && !slot_info.ours) {
      return Error::InvalidArgument("slot " + options_.slot_name +
                                    " belongs to another database or plugin");
    }
    bool slot_exists = slot_info.exists;
    ReportSlot(slot_info);
    SlotCheck check =
        CheckSlotContinuity(options_.slot_name, slot_info, delivered_, sink_.RecordsPositions());
    bool resnapshot = false;
    if (check.verdict != SlotVerdict::kUsable) {
      if (options_.on_slot_loss == SlotLossPolicy::kStop) {
        fatal_ = true;
        return Error::Conflict("cdc: " + check.message);
      }
      MIGSBYU_LOG_WARN(
          "cdc: {} Recreating the slot and taking a reconciling snapshot "
          "(--on-slot-loss=resnapshot).",
          check.message);
      resnapshot = true;
    }
    MIGSBYU_ASSIGN(repl_, pg::ReplicationConnection::Open(options_.database_url));
    if (resnapshot && slot_exists) {
      MIGSBYU_TRY(repl_->DropSlot(options_.slot_name));
      slot_exists = false;
    }
    if (slot_exists && options_.snapshot && delivered_.IsZero()) {
      // The sink holds nothing durable: a snapshot was interrupted (or the sink is new).
      MIGSBYU_LOG_WARN(
          "cdc: slot {} exists but the sink holds nothing; recreating it for a snapshot",
          options_.slot_name);
      MIGSBYU_TRY(repl_->DropSlot(options_.slot_name));
      slot_exists = false;
    }
    if (!slot_exists) {
      // The snapshot's instant, from the server's clock before the slot exists (snapshot.h).
      MIGSBYU_ASSIGN(snapshot_instant_us_, ServerClockUs(*conn_));
      MIGSBYU_ASSIGN(auto slot,
                     repl_->CreateLogicalSlot(options_.slot_name, options_.snapshot || resnapshot));
      MIGSBYU_LOG_INFO("cdc: created slot {} at {}", options_.slot_name,
                       slot.consistent_point.ToString());
      if (options_.snapshot || resnapshot) {
        MIGSBYU_TRY(Snapshot(slot));
        if (stop_.stop_requested()) return OkStatus();
        if (resnapshot) {
          std::lock_guard lock(owner_->metrics_mutex_);
          owner_->metrics_.slot_resnapshots++;
        }
      }
    }
    std::vector<std::pair<std::string, std::string>> start_options = {
        {"proto_version", std::to_string(options_.protocol_version)},
        {"publication_names", pg::QuoteIdentifier(options_.publication_name)}};
    if (options_.protocol_version >= 2 && options_.streaming && repl_->ServerVersion() >= 140000) {
      start_options.push_back({"streaming", "on"});
    }
    // Transactional logical decoding messages carry who made each transaction (common/actor.h).
    if (repl_->ServerVersion() >= 140000) start_options.push_back({"messages", "true"});
    MIGSBYU_TRY(repl_->StartLogical(options_.slot_name, Lsn(0), start_options));
    decoder_.SetKeyResolver([this](uint32_t relid, const std::string&, const std::string&) {
      return PrimaryKeyColumns(*conn_, relid);
    });
    SetState(ConnectorState::kStreaming);
    *made_progress = true;
    {
      std::lock_guard lock(owner_->metrics_mutex_);
      owner_->metrics_.last_error.clear();
    }
    return Stream();
  }

  bool fatal() const { return fatal_; }

 private:
  // Makes the publication capture exactly options_.tables (docs/CDC.md "The capture set"):
  // created when absent; a table left out of the options is dropped from it at once; a table
  // added joins it at once and is copied by an incremental snapshot (incremental.h). Tables that
  // are absent or have no primary key are refused before anything changes.
  Status SyncPublication() {
    std::vector<TableName> wanted;
    for (const auto& text : options_.tables) wanted.push_back(ParseTableName(text));
    for (const auto& t : wanted) {
      MIGSBYU_ASSIGN(
          auto r,
          conn_->ExecParams("SELECT c.oid, EXISTS (SELECT 1 FROM pg_index i "
                            "WHERE i.indrelid = c.oid AND i.indisprimary) "
                            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                            {t.schema, t.name}));
      const std::string name = t.schema + "." + t.name;
      if (r.rows() == 0) {
        return Error::InvalidArgument("cdc: captured table " + name + " does not exist");
      }
      if (r.Get(0, 1) != "t") {
        return Error::InvalidArgument(
            "cdc: captured table " + name +
            " has no primary key: the lake keys its versions and exactly-once delivery by it; "
            "add one (ALTER TABLE ... ADD PRIMARY KEY) or leave the table out of --table");
      }
    }
    auto quoted = [](const TableName& t) {
      return pg::QuoteIdentifier(t.schema) + "." + pg::QuoteIdentifier(t.name);
    };
    auto list = [&](const std::vector<TableName>& tables) {
      std::string out;
      for (const auto& t : tables) out += (out.empty() ? "" : ", ") + quoted(t);
      return out;
    };
    const std::string publication = pg::QuoteIdentifier(options_.publication_name);
    auto current = PublicationTables(*conn_, options_.publication_name);
    if (!current.ok()) {
      if (current.error().code() != ErrorCode::kNotFound) return current.error();
      auto created =
          conn_->Exec("CREATE PUBLICATION " + publication + " FOR TABLE " + list(wanted));
      if (!created.ok() && conn_->last_server_error().sqlstate != "42710") {  // raced: exists
        return Error::InvalidArgument("cannot create publication " + options_.publication_name +
                                      ": " + created.error().message());
      }
      MIGSBYU_LOG_INFO("cdc: created publication {}", options_.publication_name);
      return OkStatus();
    }
    WarnPrivate(*current);
    MIGSBYU_ASSIGN(auto all,
                   conn_->ExecParams("SELECT puballtables FROM pg_publication WHERE pubname = $1",
                                     {options_.publication_name}));
    if (all.rows() == 1 && all.Get(0, 0) == "t") {
      // PostgreSQL cannot add or drop a table of a FOR ALL TABLES publication: the operator who
      // made it chose every table, so it is used as it is.
      MIGSBYU_LOG_WARN(
          "cdc: publication {} is FOR ALL TABLES, so it is not altered: every table it publishes "
          "is captured (the private schema's excepted), whatever --table says",
          options_.publication_name);
      return OkStatus();
    }
    auto contains = [](const std::vector<TableName>& tables, const TableName& t) {
      return std::any_of(tables.begin(), tables.end(), [&](const TableName& u) {
        return u.schema == t.schema && u.name == t.name;
      });
    };
    std::vector<TableName> removed, added;
    for (const auto& t : *current) {
      if (!contains(wanted, t)) removed.push_back(t);
    }
    for (const auto& t : wanted) {
      if (!contains(*current, t)) added.push_back(t);
    }
    if (!removed.empty()) {
      auto altered =
          conn_->Exec("ALTER PUBLICATION " + publication + " DROP TABLE " + list(removed));
      if (!altered.ok()) {
        return Error::InvalidArgument("cannot alter publication " + options_.publication_name +
                                      ": " + altered.error().message());
      }
      MIGSBYU_LOG_INFO("cdc: no longer capturing {} (the lake keeps their history)", list(removed));
    }
    if (added.empty()) return OkStatus();
    // A sink that holds nothing takes a snapshot anyway; one that holds data gets the added
    // tables by an incremental snapshot while the stream goes on, so the other tables' history
    // is streamed rather than summarized. The request reaches the WAL before the tables join the
    // publication: a crash in between loses neither (a repeated request is queued once).
    if (!delivered_.IsZero()) {
      std::vector<std::string> names;
      for (const auto& t : added) names.push_back(t.schema + "." + t.name);
      MIGSBYU_TRY(
          conn_->ExecParams("SELECT pg_logical_emit_message(true, $1, $2)",
                            {std::string(kSnapshotRequestPrefix), SnapshotRequestPayload(names)}));
    }
    auto altered = conn_->Exec("ALTER PUBLICATION " + publication + " ADD TABLE " + list(added));
    if (!altered.ok()) {
      return Error::InvalidArgument("cannot alter publication " + options_.publication_name + ": " +
                                    altered.error().message());
    }
    MIGSBYU_LOG_INFO("cdc: capturing {} from now on, copied by an incremental snapshot",
                     list(added));
    return OkStatus();
  }

  // A publication made by hand (FOR ALL TABLES, or naming them) may publish the private schema's
  // tables; their rows are dropped in the snapshot and in the stream (On(RowMessage&)) all the
  // same, and the operator is told once per connection.
  void WarnPrivate(const std::vector<TableName>& tables) {
    for (const auto& t : tables) {
      if (!IsPrivateSchema(t.schema)) continue;
      MIGSBYU_LOG_WARN(
          "cdc: publication {} publishes {}.{}; tables of the private schema are "
          "never captured, so its changes are dropped",
          options_.publication_name, t.schema, t.name);
    }
  }

  // Publishes the slot's health in the metrics, warning once when retention becomes a risk.
  void ReportSlot(const SlotInfo& info) {
    bool risk = SlotRetentionAtRisk(info, options_.slot_warn_safe_bytes);
    std::lock_guard lock(owner_->metrics_mutex_);
    auto& m = owner_->metrics_;
    if (risk && !m.slot_retention_warning) {
      MIGSBYU_LOG_WARN(
          "cdc: slot {} is at risk of invalidation: wal_status '{}', {} WAL bytes "
          "retained, safe WAL size {}",
          options_.slot_name, info.wal_status, info.retained_bytes,
          info.safe_wal_size ? std::to_string(*info.safe_wal_size) : "unlimited");
    }
    m.slot_wal_status = info.exists ? info.wal_status : "missing";
    m.slot_retained_bytes = info.retained_bytes;
    m.slot_safe_wal_size = info.safe_wal_size;
    m.slot_retention_warning = risk;
  }

  // While streaming: the slot's health, and its loss (a DBA dropping it is refused while it is
  // active, but an invalidation terminates the stream).
  Status CheckSlot() {
    MIGSBYU_ASSIGN(SlotInfo info, ReadSlot(*conn_, options_.slot_name));
    ReportSlot(info);
    SlotCheck check = CheckSlotContinuity(options_.slot_name, info, delivered_, false);
    if (check.verdict == SlotVerdict::kUsable) return OkStatus();
    if (options_.on_slot_loss == SlotLossPolicy::kStop) fatal_ = true;
    // With resnapshot, the next session recreates the slot.
    return Error::Conflict("cdc: " + check.message);
  }

  Status Snapshot(const pg::CreatedSlot& slot) {
    SetState(ConnectorState::kSnapshotting);
    MIGSBYU_ASSIGN(auto published, PublicationTables(*conn_, options_.publication_name));
    std::vector<TableName> tables;
    for (auto& t : published) {
      if (IsPrivateSchema(t.schema)) continue;  // WarnPrivate said so at setup
      tables.push_back(std::move(t));
    }
    Status st = CopySnapshot(
        *conn_, slot.snapshot_name, tables, slot.consistent_point, snapshot_instant_us_, sink_,
        [this](const SnapshotProgress& p) {
          std::lock_guard lock(owner_->metrics_mutex_);
          owner_->metrics_.snapshot_tables_done = p.tables_done;
          owner_->metrics_.snapshot_tables_total = p.tables_total;
          owner_->metrics_.snapshot_rows = p.rows;
          owner_->metrics_.events_total = events_total_base_ + p.rows;
        },
        stop_);
    if (!st.ok()) {
      if (st.error().code() == ErrorCode::kCancelled) return OkStatus();
      return st;
    }
    delivered_ = slot.consistent_point;
    flushed_ = slot.consistent_point;
    std::lock_guard lock(owner_->metrics_mutex_);
    owner_->metrics_.transactions_total++;
    owner_->metrics_.last_flushed_lsn = flushed_;
    return OkStatus();
  }

  Status Stream() {
    auto last_status = Clock::now();
    auto last_rate = Clock::now();
    auto last_slot_check = Clock::now();
    uint64_t rate_base = events_total();
    MIGSBYU_ASSIGN(flushed_, sink_.Flush());
    ReportIncremental();
    while (!stop_.stop_requested()) {
      // One chunk of an incremental snapshot at a time, started between transactions.
      if (!chunk_ && !in_tx_ && owner_->incremental_.active()) MIGSBYU_TRY(StartChunk());
      auto wait = options_.status_interval - (Clock::now() - last_status);
      auto timeout = std::max(std::chrono::milliseconds(1),
                              std::chrono::duration_cast<std::chrono::milliseconds>(wait));
      timeout = std::min(timeout, std::chrono::milliseconds(200));  // notice stop promptly
      MIGSBYU_ASSIGN(auto message, repl_->ReadMessage(timeout));
      bool reply = false;
      if (message) {
        server_wal_end_ = std::max(server_wal_end_, message->wal_end);
        if (message->kind == pg::ReplicationMessage::Kind::kKeepalive) {
          keepalive_wal_end_ = std::max(keepalive_wal_end_, message->wal_end);
          reply = message->reply_requested;
        } else {
          last_send_time_us_ = message->send_time_us;
          MIGSBYU_TRY(HandleData(*message));
        }
      }
      auto now = Clock::now();
      if (reply || now - last_status >= options_.status_interval) {
        MIGSBYU_TRY(SendStatus());
        last_status = now;
        if (now - last_slot_check >= options_.slot_check_interval) {
          MIGSBYU_TRY(CheckSlot());
          last_slot_check = now;
        }
        if (now - last_rate >= std::chrono::seconds(1)) {
          double seconds = std::chrono::duration<double>(now - last_rate).count();
          uint64_t total = events_total();
          std::lock_guard lock(owner_->metrics_mutex_);
          owner_->metrics_.events_per_second = static_cast<double>(total - rate_base) / seconds;
          rate_base = total;
          last_rate = now;
        }
      }
    }
    // Stopping: make what the sink holds durable and say so, best effort.
    if (!in_tx_) (void)SendStatus();
    return OkStatus();
  }

  Status SendStatus() {
    MIGSBYU_ASSIGN(Lsn flushed, sink_.Flush());
    flushed_ = std::max(flushed_, flushed);
    bool idle = !in_tx_ && spools_.empty() && flushed_ >= delivered_ && flushed_ >= received_end_;
    if (idle && keepalive_wal_end_ > flushed_ && sink_.RecordsPositions()) {
      // What is acknowledged must stay within what the sink can resume from (slot.h), so the
      // idle position is recorded by the sink first, now and then rather than at every status.
      auto now = Clock::now();
      if (now - last_position_record_ >= options_.idle_position_interval) {
        last_position_record_ = now;
        MIGSBYU_TRY(sink_.RecordPosition(keepalive_wal_end_));
        MIGSBYU_ASSIGN(flushed, sink_.Flush());
        flushed_ = std::max(flushed_, flushed);
        delivered_ = std::max(delivered_, flushed_);
      }
    }
    Lsn ack = flushed_;
    if (idle && !sink_.RecordsPositions()) ack = std::max(ack, keepalive_wal_end_);
    MIGSBYU_TRY(repl_->SendStatus(ack));
    std::lock_guard lock(owner_->metrics_mutex_);
    auto& m = owner_->metrics_;
    m.last_flushed_lsn = ack;
    m.server_wal_end = server_wal_end_;
    m.lag_bytes = server_wal_end_ > ack ? server_wal_end_.value() - ack.value() : 0;
    if (idle && keepalive_wal_end_ >= server_wal_end_) m.lag_seconds = 0;
    return OkStatus();
  }

  Status HandleData(const pg::ReplicationMessage& msg) {
    const std::string& data = msg.data;
    if (decoder_.in_stream() && !data.empty() && data[0] != 'E') {
      MIGSBYU_ASSIGN(uint32_t subxid, Decoder::StreamedXid(data, msg.wal_start));
      auto it = spools_.find(stream_xid_);
      if (it == spools_.end()) {
        return Error::Corruption("streamed message at LSN " + msg.wal_start.ToString() +
                                 " without a stream");
      }
      return it->second->Append(subxid, msg.wal_start, data);
    }
    MIGSBYU_ASSIGN(DecodedMessage decoded, decoder_.Decode(data, msg.wal_start));
    return std::visit([&](auto& m) { return On(m, msg.wal_start); }, decoded.message);
  }

  Status On(BeginMessage& m, Lsn lsn) {
    if (in_tx_) return Error::Corruption("Begin inside a transaction at LSN " + lsn.ToString());
    events::TransactionInfo tx;
    tx.xid = m.xid;
    tx.commit_lsn = m.final_lsn;
    tx.commit_time_us = m.commit_time_us;
    return BeginTransaction(tx);
  }

  Status On(CommitMessage& m, Lsn lsn) {
    if (!in_tx_) return Error::Corruption("Commit outside a transaction at LSN " + lsn.ToString());
    tx_.end_lsn = m.end_lsn;
    return CommitTransaction();
  }

  Status On(RowMessage& m, Lsn lsn) {
    if (!in_tx_) return Error::Corruption("change outside a transaction at LSN " + lsn.ToString());
    if (skip_ || IsPrivateSchema(m.table->schema)) return OkStatus();
    events::ChangeEvent e;
    e.op = m.op;
    e.table = std::move(m.table);
    e.before = std::move(m.before);
    e.after = std::move(m.after);
    return Apply(std::move(e), lsn);
  }

  Status On(TruncateMessage& m, Lsn lsn) {
    if (!in_tx_)
      return Error::Corruption("Truncate outside a transaction at LSN " + lsn.ToString());
    if (skip_) return OkStatus();
    for (auto& table : m.tables) {
      if (IsPrivateSchema(table->schema)) continue;
      events::ChangeEvent e;
      e.op = events::Operation::kTruncate;
      e.table = table;
      MIGSBYU_TRY(Apply(std::move(e), lsn));
    }
    return OkStatus();
  }

  Status On(StreamStartMessage& m, Lsn) {
    stream_xid_ = m.xid;
    if (!spools_.count(m.xid)) {
      MIGSBYU_ASSIGN(auto spool, TransactionSpool::Create(options_.spool_dir, m.xid));
      spools_.emplace(m.xid, std::move(spool));
    }
    return OkStatus();
  }

  Status On(StreamAbortMessage& m, Lsn) {
    auto it = spools_.find(m.xid);
    if (it == spools_.end()) return OkStatus();  // nothing of it was spooled
    if (m.subxid == m.xid) {
      spools_.erase(it);
    } else {
      it->second->AbortSubtransaction(m.subxid);
    }
    return OkStatus();
  }

  Status On(StreamCommitMessage& m, Lsn lsn) {
    if (in_tx_)
      return Error::Corruption("Stream Commit inside a transaction at LSN " + lsn.ToString());
    auto it = spools_.find(m.xid);
    std::unique_ptr<TransactionSpool> spool;
    if (it != spools_.end()) {
      spool = std::move(it->second);
      spools_.erase(it);
    }
    events::TransactionInfo tx;
    tx.xid = m.xid;
    tx.commit_lsn = m.commit_lsn;
    tx.end_lsn = m.end_lsn;
    tx.commit_time_us = m.commit_time_us;
    MIGSBYU_TRY(BeginTransaction(tx));
    if (spool) {
      // Relation messages replay even when the transaction is skipped: later ones rely on them.
      MIGSBYU_TRY(spool->Replay([&](Lsn record_lsn, std::string_view data) -> Status {
        MIGSBYU_ASSIGN(DecodedMessage d, decoder_.DecodeStreamed(data, record_lsn));
        if (auto* row = std::get_if<RowMessage>(&d.message)) return On(*row, record_lsn);
        if (auto* t = std::get_if<TruncateMessage>(&d.message)) return On(*t, record_lsn);
        if (auto* message = std::get_if<LogicalMessage>(&d.message)) {
          return On(*message, record_lsn);
        }
        return OkStatus();
      }));
    }
    return CommitTransaction();
  }

  // An actor message names who made the changes that follow it in its transaction. Messages
  // outside a transaction, non-transactional ones and those of other prefixes are not ours. A
  // payload that does not parse is not MigsbyU's either: its changes stay "database".
  Status On(LogicalMessage& m, Lsn lsn) {
    if (in_tx_ && m.transactional && !skip_ && m.prefix == kWatermarkPrefix) {
      // Only this session's open chunk counts: a watermark of a chunk an earlier process left
      // open (or of another chunk) is ignored.
      if (chunk_ && m.content == "low:" + chunk_->id) {
        chunk_->low_seen = true;
      } else if (chunk_ && chunk_->low_seen && m.content == "high:" + chunk_->id) {
        tx_high_ = true;
      }
      return OkStatus();
    }
    if (in_tx_ && m.transactional && !skip_ && m.prefix == kSnapshotRequestPrefix) {
      auto tables = ParseSnapshotRequest(m.content);
      if (!tables.ok()) {
        MIGSBYU_LOG_WARN("cdc: ignoring the snapshot request at LSN {}: {}", lsn.ToString(),
                         tables.error().message());
        return OkStatus();
      }
      tx_request_ = std::move(tables).value();
      return OkStatus();
    }
    if (!in_tx_ || !m.transactional || m.prefix != kActorMessagePrefix) return OkStatus();
    auto actor = DecodeActorPayload(m.content);
    if (!actor.ok()) {
      MIGSBYU_LOG_WARN("cdc: ignoring the actor message at LSN {} (xid {}): {}", lsn.ToString(),
                       tx_.xid, actor.error().message());
      actor_ = Actor::Database();
      return OkStatus();
    }
    actor_ = std::move(actor).value();
    return OkStatus();
  }

  // Relation, Type, Origin, Stream Stop: nothing to hand on.
  template <typename M>
  Status On(M&, Lsn) {
    return OkStatus();
  }

  // The sink's Begin waits for the transaction's first change: a transaction that changed no
  // captured table (one that carried only logical messages) never reaches the sink.
  Status BeginTransaction(const events::TransactionInfo& tx) {
    in_tx_ = true;
    begun_ = false;
    tx_ = tx;
    position_ = 0;
    actor_ = Actor::Database();
    tx_high_ = false;
    tx_request_.reset();
    // A transaction whose commit starts before what the sink holds ends at or before it.
    skip_ = tx.commit_lsn < delivered_;
    return OkStatus();
  }

  Status Apply(events::ChangeEvent e, Lsn lsn) {
    if (chunk_) DropFromChunk(e);
    if (!begun_) {
      MIGSBYU_TRY(sink_.Begin(tx_));
      begun_ = true;
    }
    e.commit_lsn = tx_.commit_lsn;
    e.lsn = lsn;
    e.position = position_++;
    e.xid = tx_.xid;
    e.commit_time_us = tx_.commit_time_us;
    e.actor = actor_;
    Status applied = sink_.Apply(e);
    if (!applied.ok() && applied.error().code() == ErrorCode::kValidation &&
        options_.dead_letters) {
      return Quarantine(e, applied.error());
    }
    MIGSBYU_TRY(applied);
    ++events_;
    return OkStatus();
  }

  // Sets aside a change the sink refused as unstorable; the transaction goes on without it.
  Status Quarantine(const events::ChangeEvent& e, const Error& why) {
    transport::DeadLetter letter;
    letter.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    letter.source = "postgres";
    letter.reason = why.message();
    letter.lsn = e.lsn;
    letter.commit_lsn = e.commit_lsn;
    letter.position = e.position;
    letter.table = e.table->schema + "." + e.table->name;
    letter.value = ChangeAsJson(e);
    MIGSBYU_TRY(options_.dead_letters->Quarantine(letter));
    MIGSBYU_LOG_WARN("cdc: change of {} at {} set aside as a dead letter: {}", letter.table,
                     e.lsn.ToString(), why.message());
    std::lock_guard lock(owner_->metrics_mutex_);
    owner_->metrics_.dead_letters++;
    return OkStatus();
  }

  Status CommitTransaction() {
    in_tx_ = false;
    if (skip_) {
      received_end_ = std::max(received_end_, tx_.end_lsn);
      return OkStatus();
    }
    if (tx_request_) {
      MIGSBYU_TRY(QueueRequest(*tx_request_));
      tx_request_.reset();
    }
    // The high watermark's transaction becomes the chunk's: its rows at that position.
    std::optional<IncrementalProgress> advanced;
    if (tx_high_) {
      tx_high_ = false;
      MIGSBYU_ASSIGN(advanced, DeliverChunkRows());
    }
    if (advanced || progress_dirty_) {
      // Progress is stored with this transaction, also when it carries no change.
      if (!begun_) {
        MIGSBYU_TRY(sink_.Begin(tx_));
        begun_ = true;
      }
      const IncrementalProgress& p = advanced ? *advanced : owner_->incremental_;
      tx_.snapshot_progress = p.active() ? ProgressToJson(p) : std::string();
    }
    // Nothing of an empty transaction needs to be durable, so it does not hold back the
    // acknowledgement of an idle slot either.
    if (!begun_) return OkStatus();
    received_end_ = std::max(received_end_, tx_.end_lsn);
    MIGSBYU_TRY(sink_.Commit(tx_));
    delivered_ = tx_.end_lsn;
    if (advanced) owner_->incremental_ = std::move(*advanced);
    if (advanced || progress_dirty_) {
      progress_dirty_ = false;
      ReportIncremental();
    }
    std::lock_guard lock(owner_->metrics_mutex_);
    auto& m = owner_->metrics_;
    m.events_total += events_;
    events_ = 0;
    m.transactions_total++;
    m.last_commit_time_us = tx_.commit_time_us;
    m.lag_seconds = std::max(0.0, (last_send_time_us_ - tx_.commit_time_us) / 1e6);
    return OkStatus();
  }

  // ---- incremental snapshots (incremental.h) ----

  // Queues the requested tables that the publication captures and are not queued yet; the
  // progress is stored with the request's transaction.
  Status QueueRequest(const std::vector<std::string>& tables) {
    MIGSBYU_ASSIGN(auto published, PublicationTables(*conn_, options_.publication_name));
    auto& p = owner_->incremental_;
    for (const auto& text : tables) {
      TableName t = ParseTableName(text);
      const std::string name = t.schema + "." + t.name;
      bool captured = !IsPrivateSchema(t.schema) &&
                      std::any_of(published.begin(), published.end(), [&](const TableName& u) {
                        return u.schema == t.schema && u.name == t.name;
                      });
      if (!captured) {
        MIGSBYU_LOG_WARN("cdc: snapshot of {} requested, but it is not captured; ignored", name);
        continue;
      }
      if (std::find(p.tables.begin(), p.tables.end(), name) != p.tables.end()) continue;
      if (!p.active()) {
        p = IncrementalProgress{};
        p.requested_us = tx_.commit_time_us;
      }
      p.tables.push_back(name);
      progress_dirty_ = true;
      MIGSBYU_LOG_INFO("cdc: incremental snapshot of {} queued", name);
    }
    return OkStatus();
  }

  // Emits the low watermark, reads the next chunk of the first queued table and emits the high
  // watermark; the stream then brings both (incremental.h).
  Status StartChunk() {
    auto& p = owner_->incremental_;
    if (!session_configured_) {
      MIGSBYU_TRY(
          conn_->Exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3"));
      session_configured_ = true;
    }
    const std::string id = chunk_nonce_ + "-" + std::to_string(++chunk_seq_);
    auto emit = [&](const std::string& content) {
      return conn_->ExecParams("SELECT pg_logical_emit_message(true, $1, $2)",
                               {std::string(kWatermarkPrefix), content});
    };
    MIGSBYU_TRY(emit("low:" + id));
    TableName table = ParseTableName(p.tables.front());
    auto chunk =
        ReadChunk(*conn_, table, p.last_key, std::max<size_t>(1, options_.snapshot_chunk_rows));
    if (!chunk.ok()) {
      ErrorCode code = chunk.error().code();
      if (code != ErrorCode::kNotFound && code != ErrorCode::kInvalidArgument) return chunk.error();
      // The table went away or lost its key: the snapshot goes on without it.
      MIGSBYU_LOG_WARN("cdc: incremental snapshot of {} abandoned: {}", p.tables.front(),
                       chunk.error().message());
      p.tables.erase(p.tables.begin());
      p.last_key.reset();
      p.pass_start = Lsn();
      progress_dirty_ = true;
      return OkStatus();
    }
    MIGSBYU_TRY(emit("high:" + id));
    OpenChunk open;
    open.window_start = std::max(delivered_, received_end_);
    open.id = id;
    open.table = p.tables.front();
    open.chunk = std::move(chunk).value();
    open.dropped.assign(open.chunk.rows.size(), false);
    for (size_t i = 0; i < open.chunk.rows.size(); ++i) {
      open.index.emplace(events::KeyText(*open.chunk.schema, open.chunk.rows[i]), i);
    }
    chunk_ = std::move(open);
    return OkStatus();
  }

  // A change the stream delivers inside the open chunk's window is newer than (or as new as)
  // the chunk's read of its keys: those rows leave the chunk, the change wins. The window opens
  // when the chunk is started, before the low watermark: a transaction whose commit record
  // precedes the low watermark's may still be invisible to the chunk's statement for an instant
  // (PostgreSQL makes a commit visible just after writing its record), so its changes must win
  // too; those the statement did see lose nothing by winning.
  void DropFromChunk(const events::ChangeEvent& e) {
    if (e.table->schema + "." + e.table->name != chunk_->table) return;
    if (e.op == events::Operation::kTruncate) {
      chunk_->dropped.assign(chunk_->dropped.size(), true);
      return;
    }
    for (const auto* row : {&e.before, &e.after}) {
      if (!*row) continue;
      auto it = chunk_->index.find(events::KeyText(*e.table, **row));
      if (it != chunk_->index.end()) chunk_->dropped[it->second] = true;
    }
  }

  // At the high watermark's commit: makes the open transaction the chunk's (its flags set
  // before the sink's Begin), applies the rows left as snapshot reads, and returns the progress
  // that this transaction stores.
  Result<IncrementalProgress> DeliverChunkRows() {
    OpenChunk c = std::move(*chunk_);
    chunk_.reset();
    IncrementalProgress next = owner_->incremental_;
    if (next.pass_start.IsZero()) next.pass_start = c.window_start;
    tx_.snapshot_chunk = true;
    tx_.chunk_table = c.chunk.schema;
    tx_.pass_end = c.chunk.last;
    tx_.pass_start = next.pass_start;
    actor_ = Actor::Snapshot();
    if (!begun_) {
      MIGSBYU_TRY(sink_.Begin(tx_));
      begun_ = true;
    }
    uint64_t rows = 0;
    for (size_t i = 0; i < c.chunk.rows.size(); ++i) {
      if (c.dropped[i]) continue;
      events::ChangeEvent e;
      e.op = events::Operation::kRead;
      e.table = c.chunk.schema;
      e.after = std::move(c.chunk.rows[i]);
      MIGSBYU_TRY(Apply(std::move(e), tx_.commit_lsn));
      ++rows;
    }
    next.chunks++;
    next.rows += rows;
    if (c.chunk.last) {
      MIGSBYU_LOG_INFO("cdc: incremental snapshot of {} done ({} chunks, {} rows so far)", c.table,
                       next.chunks, next.rows);
      next.tables.erase(next.tables.begin());
      next.last_key.reset();
      next.pass_start = Lsn();
    } else {
      next.last_key = c.chunk.last_key;
    }
    return next;
  }

  void ReportIncremental() {
    const auto& p = owner_->incremental_;
    std::string last;
    if (p.last_key) {
      for (const auto& k : *p.last_key) last += (last.empty() ? "" : ", ") + k;
    }
    std::lock_guard lock(owner_->metrics_mutex_);
    auto& m = owner_->metrics_;
    m.incremental_active = p.active();
    m.incremental_table = p.active() ? p.tables.front() : std::string();
    m.incremental_last_key = std::move(last);
    m.incremental_tables_left = static_cast<uint32_t>(p.tables.size());
    m.incremental_chunks = p.chunks;
    m.incremental_rows = p.rows;
  }

  uint64_t events_total() {
    std::lock_guard lock(owner_->metrics_mutex_);
    return owner_->metrics_.events_total + events_;
  }

  void SetState(ConnectorState state) {
    std::lock_guard lock(owner_->metrics_mutex_);
    owner_->metrics_.state = state;
    if (state == ConnectorState::kSnapshotting) events_total_base_ = owner_->metrics_.events_total;
  }

  bool fatal_ = false;  // the error returned must stop Run() rather than be retried
  Connector* owner_;
  const ConnectorOptions& options_;
  transport::Sink& sink_;
  Lsn& delivered_;  // end_lsn of the last transaction the sink committed (or held at start)
  std::stop_token stop_;

  std::optional<pg::Connection> conn_;
  std::optional<pg::ReplicationConnection> repl_;
  Decoder decoder_;
  std::unordered_map<uint32_t, std::unique_ptr<TransactionSpool>> spools_;
  uint32_t stream_xid_ = 0;

  // The chunk being read (between its low watermark's emission and its high watermark's commit).
  struct OpenChunk {
    std::string id;     // the watermarks' content after "low:" / "high:"
    std::string table;  // schema.table
    Chunk chunk;
    std::unordered_map<std::string, size_t> index;  // events::KeyText → row
    std::vector<bool> dropped;                      // rows a streamed change replaced
    // Every transaction the stream delivers from now on commits at or after this LSN.
    Lsn window_start;
    bool low_seen = false;  // the low watermark was streamed
  };
  std::optional<OpenChunk> chunk_;
  // Chunk ids of this session (watermarks left by another process never match).
  std::string chunk_nonce_ = std::to_string(std::random_device{}());
  uint64_t chunk_seq_ = 0;
  bool session_configured_ = false;
  bool tx_high_ = false;  // the open transaction carries the open chunk's high watermark
  std::optional<std::vector<std::string>> tx_request_;  // and a snapshot request
  bool progress_dirty_ = false;  // progress changed without a chunk: store it with the next commit

  bool in_tx_ = false;
  bool skip_ = false;
  bool begun_ = false;  // the sink's Begin was called for the open transaction
  events::TransactionInfo tx_;
  Actor actor_;  // of the open transaction, from its last actor message
  uint64_t position_ = 0;
  uint64_t events_ = 0;  // applied in the open transaction, not yet in the metrics
  uint64_t events_total_base_ = 0;

  Lsn flushed_;
  Lsn received_end_;
  Clock::time_point last_position_record_;
  int64_t snapshot_instant_us_ = 0;
  Lsn server_wal_end_;
  Lsn keepalive_wal_end_;
  int64_t last_send_time_us_ = 0;
};

Connector::Connector(ConnectorOptions options, transport::Sink* sink)
    : options_(std::move(options)), sink_(sink) {}

Connector::~Connector() = default;

Status Connector::Run(std::stop_token stop) {
  if (options_.database_url.empty()) return Error::InvalidArgument("cdc: database_url is empty");
  if (options_.protocol_version != 1 && options_.protocol_version != 2) {
    return Error::InvalidArgument("cdc: protocol_version " +
                                  std::to_string(options_.protocol_version) + " (use 1 or 2)");
  }
  if (options_.slot_name.empty() || options_.publication_name.empty()) {
    return Error::InvalidArgument("cdc: slot and publication names must not be empty");
  }
  for (const auto& table : options_.tables) {
    if (IsPrivateSchema(ParseTableName(table).schema)) {
      return Error::InvalidArgument("cdc: table " + table + " is in the private schema " +
                                    std::string(kPrivateSchema) + ", which is never captured");
    }
  }
  Lsn delivered = sink_->ResumeLsn().value_or(Lsn());
  if (auto stored = sink_->SnapshotProgress()) {
    auto progress = ProgressFromJson(*stored);
    if (progress.ok()) {
      incremental_ = std::move(progress).value();
      if (incremental_.active()) {
        MIGSBYU_LOG_INFO("cdc: resuming the incremental snapshot of {} after {} chunks",
                         incremental_.tables.front(), incremental_.chunks);
      }
    } else {
      MIGSBYU_LOG_WARN("cdc: {}; the incremental snapshot is not resumed",
                       progress.error().message());
    }
  }
  auto backoff = options_.initial_backoff;
  std::mutex wait_mutex;
  std::condition_variable_any wait_cv;
  while (!stop.stop_requested()) {
    bool made_progress = false;
    bool fatal = false;
    Status st = [&] {
      Session session(this, &delivered, stop);
      Status ran = session.Run(&made_progress);
      fatal = session.fatal();
      return ran;
    }();
    if (stop.stop_requested()) break;
    if (st.ok()) continue;
    if (fatal || st.error().code() == ErrorCode::kInvalidArgument) {
      MIGSBYU_LOG_ERROR("{}", st.error().ToString());
      std::lock_guard lock(metrics_mutex_);
      metrics_.state = ConnectorState::kStopped;
      metrics_.last_error = st.error().ToString();
      return st.error();
    }
    if (made_progress) backoff = options_.initial_backoff;
    MIGSBYU_LOG_WARN("cdc: {}; reconnecting in {} ms", st.error().ToString(), backoff.count());
    {
      std::lock_guard lock(metrics_mutex_);
      metrics_.state = ConnectorState::kReconnecting;
      metrics_.reconnects++;
      metrics_.last_error = st.error().ToString();
    }
    std::unique_lock lock(wait_mutex);
    wait_cv.wait_for(lock, stop, backoff, [] { return false; });
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  std::lock_guard lock(metrics_mutex_);
  metrics_.state = ConnectorState::kStopped;
  return OkStatus();
}

Metrics Connector::GetMetrics() const {
  std::lock_guard lock(metrics_mutex_);
  return metrics_;
}

}  // namespace migsbyu::cdc
