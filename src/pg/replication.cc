#include "pg/replication.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "common/integer.h"

namespace migsbyu::pg {

namespace {

std::string TrimmedError(PGconn* c) {
  std::string msg = c ? PQerrorMessage(c) : "no connection";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

uint64_t ReadBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void WriteBigEndian64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

int64_t NowPostgresUs() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() -
         kPostgresEpochOffsetUs;
}

// A value in a replication command's option list: a single-quoted literal.
std::string QuoteLiteral(const std::string& value) {
  std::string out = "'";
  for (char ch : value) {
    if (ch == '\'') out += '\'';
    out += ch;
  }
  out += '\'';
  return out;
}

}  // namespace

Result<ReplicationConnection> ReplicationConnection::Open(const std::string& conninfo) {
  const char* keys[] = {"dbname", "replication", "options", nullptr};
  const char* values[] = {conninfo.c_str(), "database",
                          "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3", nullptr};
  ConnHandle c(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (c == nullptr) return Error::Unavailable("postgres replication: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK) {
    const char* password = PQpass(c.get());
    return Error::Unavailable("postgres replication: cannot connect: " +
                              WithoutSecret(TrimmedError(c.get()), password ? password : ""));
  }
  return ReplicationConnection(std::move(c));
}

Result<PgResult> ReplicationConnection::Command(const std::string& command) {
  if (c_ == nullptr) return Error::Unavailable("postgres replication: connection closed");
  if (streaming_) return Error::Internal("replication command while streaming: " + command);
  PGconn* c = c_.get();
  ResultHandle result(PQexec(c, command.c_str()));
  PGresult* raw = result.get();
  PgResult r(std::move(result));
  if (raw == nullptr || PQstatus(c) != CONNECTION_OK) {
    return Error::Unavailable("postgres replication: " + command + ": " + TrimmedError(c));
  }
  auto status = PQresultStatus(raw);
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_COPY_BOTH) {
    return r;
  }
  const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  std::string sqlstate = state ? state : "";
  ErrorCode code = ErrorCodeForSqlState(sqlstate);
  if (sqlstate == "42710") code = ErrorCode::kAlreadyExists;  // duplicate_object
  if (sqlstate == "42704") code = ErrorCode::kNotFound;       // undefined_object
  return Error(code, "postgres replication: " + command + ": " + TrimmedError(c) + " (SQLSTATE " +
                         sqlstate + ")");
}

Result<SystemIdentity> ReplicationConnection::IdentifySystem() {
  MIGSBYU_ASSIGN(PgResult r, Command("IDENTIFY_SYSTEM"));
  if (r.rows() != 1 || r.columns() < 4) {
    return Error::Corruption("IDENTIFY_SYSTEM: unexpected result shape");
  }
  SystemIdentity id;
  id.system_id = std::string(r.Get(0, 0));
  auto timeline = ParseInteger<uint32_t>(r.Get(0, 1));
  if (!timeline) {
    return Error::Corruption("IDENTIFY_SYSTEM: bad timeline '" + std::string(r.Get(0, 1)) + "'");
  }
  id.timeline = *timeline;
  auto lsn = Lsn::Parse(r.Get(0, 2));
  if (!lsn)
    return Error::Corruption("IDENTIFY_SYSTEM: bad xlogpos '" + std::string(r.Get(0, 2)) + "'");
  id.wal_flush = *lsn;
  id.database = std::string(r.Get(0, 3));
  return id;
}

Result<CreatedSlot> ReplicationConnection::CreateLogicalSlot(const std::string& name,
                                                             bool export_snapshot) {
  std::string command = "CREATE_REPLICATION_SLOT " + QuoteIdentifier(name) + " LOGICAL pgoutput " +
                        (export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  MIGSBYU_ASSIGN(PgResult r, Command(command));
  if (r.rows() != 1 || r.columns() < 4) {
    return Error::Corruption("CREATE_REPLICATION_SLOT " + name + ": unexpected result shape");
  }
  CreatedSlot slot;
  slot.slot_name = std::string(r.Get(0, 0));
  auto lsn = Lsn::Parse(r.Get(0, 1));
  if (!lsn) {
    return Error::Corruption("CREATE_REPLICATION_SLOT " + name + ": bad consistent point '" +
                             std::string(r.Get(0, 1)) + "'");
  }
  slot.consistent_point = *lsn;
  if (!r.IsNull(0, 2)) slot.snapshot_name = std::string(r.Get(0, 2));
  return slot;
}

Status ReplicationConnection::DropSlot(const std::string& name) {
  MIGSBYU_TRY(Command("DROP_REPLICATION_SLOT " + QuoteIdentifier(name) + " WAIT"));
  return OkStatus();
}

Status ReplicationConnection::StartLogical(
    const std::string& slot, Lsn start,
    const std::vector<std::pair<std::string, std::string>>& options) {
  std::string command =
      "START_REPLICATION SLOT " + QuoteIdentifier(slot) + " LOGICAL " + start.ToString();
  if (!options.empty()) {
    command += " (";
    for (size_t i = 0; i < options.size(); ++i) {
      if (i) command += ", ";
      command += QuoteIdentifier(options[i].first) + " " + QuoteLiteral(options[i].second);
    }
    command += ")";
  }
  MIGSBYU_ASSIGN(PgResult r, Command(command));
  (void)r;
  streaming_ = true;
  return OkStatus();
}

Result<std::optional<ReplicationMessage>> ReplicationConnection::ReadMessage(
    std::chrono::milliseconds timeout) {
  if (c_ == nullptr) return Error::Unavailable("postgres replication: connection closed");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(c_.get(), &buf, /*async=*/1);
    BufferHandle owned(buf);
    if (n > 0) {
      ReplicationMessage m;
      if (buf[0] == 'w') {
        if (n < 25)
          return Error::Corruption("replication: XLogData header of " + std::to_string(n) +
                                   " bytes");
        m.kind = ReplicationMessage::Kind::kXLogData;
        m.wal_start = Lsn(ReadBigEndian64(buf + 1));
        m.wal_end = Lsn(ReadBigEndian64(buf + 9));
        m.send_time_us = static_cast<int64_t>(ReadBigEndian64(buf + 17)) + kPostgresEpochOffsetUs;
        m.data.assign(buf + 25, static_cast<size_t>(n - 25));
        return std::optional<ReplicationMessage>(std::move(m));
      }
      if (buf[0] == 'k') {
        if (n < 18)
          return Error::Corruption("replication: keepalive of " + std::to_string(n) + " bytes");
        m.kind = ReplicationMessage::Kind::kKeepalive;
        m.wal_end = Lsn(ReadBigEndian64(buf + 1));
        m.send_time_us = static_cast<int64_t>(ReadBigEndian64(buf + 9)) + kPostgresEpochOffsetUs;
        m.reply_requested = buf[17] != 0;
        return std::optional<ReplicationMessage>(std::move(m));
      }
      return Error::Corruption(std::string("replication: unknown CopyData message '") + buf[0] +
                               "'");
    }
    if (n == -1) {
      streaming_ = false;
      std::string detail;
      while (ResultHandle r{PQgetResult(c_.get())}) {
        if (PQresultStatus(r.get()) == PGRES_FATAL_ERROR) detail = PQresultErrorMessage(r.get());
      }
      return Error::Unavailable("postgres replication: stream ended by the server " + detail);
    }
    if (n == -2) {
      return Error::Unavailable("postgres replication: read failed: " + TrimmedError(c_.get()));
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::optional<ReplicationMessage>();
    pollfd pfd{PQsocket(c_.get()), POLLIN, 0};
    int wait_ms =
        static_cast<int>(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) +
        1;
    int p = poll(&pfd, 1, wait_ms);
    if (p < 0 && errno != EINTR) {
      return Error::Unavailable(std::string("postgres replication: poll: ") + std::strerror(errno));
    }
    if (p > 0 && PQconsumeInput(c_.get()) == 0) {
      return Error::Unavailable("postgres replication: read failed: " + TrimmedError(c_.get()));
    }
  }
}

Status ReplicationConnection::SendStatus(Lsn flushed) {
  if (c_ == nullptr) return Error::Unavailable("postgres replication: connection closed");
  char msg[34];
  msg[0] = 'r';
  WriteBigEndian64(msg + 1, flushed.value());
  WriteBigEndian64(msg + 9, flushed.value());
  WriteBigEndian64(msg + 17, flushed.value());
  WriteBigEndian64(msg + 25, static_cast<uint64_t>(NowPostgresUs()));
  msg[33] = 0;
  if (PQputCopyData(c_.get(), msg, sizeof msg) <= 0) {
    return Error::Unavailable("postgres replication: status update failed: " +
                              TrimmedError(c_.get()));
  }
  return Flush();
}

Status ReplicationConnection::Flush() {
  if (PQflush(c_.get()) < 0) {
    return Error::Unavailable("postgres replication: send failed: " + TrimmedError(c_.get()));
  }
  return OkStatus();
}

}  // namespace migsbyu::pg
