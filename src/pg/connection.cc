#include "pg/connection.h"

#include "common/integer.h"

namespace migsbyu::pg {
namespace {

std::string Field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

std::vector<const char*> Values(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return values;
}

}  // namespace

std::string PreparedStatementName(std::string_view sql) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : sql) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "migsbyu_0000000000000000";
  for (size_t i = name.size(); h != 0; h >>= 4) name[--i] = kHex[h & 0xf];
  return name;
}

std::optional<std::string> PgResult::GetOptional(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return std::string(Get(row, col));
}

int64_t PgResult::AffectedRows() const {
  // libpq gives digits, or nothing for statements that count no rows.
  return ParseInteger<int64_t>(r_ ? PQcmdTuples(r_.get()) : "").value_or(0);
}

Result<Connection> Connection::Open(const std::string& conninfo) {
  ConnHandle c(PQconnectdb(conninfo.c_str()));
  if (c == nullptr) return Error::Unavailable("postgres: out of memory while connecting");
  if (PQstatus(c.get()) != CONNECTION_OK) return ConnectError(c.get());
  return Connection(std::move(c));
}

bool Connection::InTransaction() const {
  if (c_ == nullptr) return false;
  auto s = PQtransactionStatus(c_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Result<PgResult> Connection::Exec(const std::string& sql) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  return Check(ResultHandle(PQexec(c_.get(), sql.c_str())));
}

Result<PgResult> Connection::ExecParams(const std::string& sql, const Params& params) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  auto values = Values(params);
  return Check(ResultHandle(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(values.size()),
                                         nullptr, values.data(), nullptr, nullptr, 0)));
}

Result<PgResult> Connection::RunPrepared(const std::string& name, const Params& params) {
  auto values = Values(params);
  return Check(ResultHandle(PQexecPrepared(c_.get(), name.c_str(), static_cast<int>(values.size()),
                                           values.data(), nullptr, nullptr, 0)));
}

Result<PgResult> Connection::ExecPrepared(const std::string& sql, const Params& params) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  std::string name = PreparedStatementName(sql);
  auto it = prepared_.find(name);
  if (it != prepared_.end() && it->second != sql) return ExecParams(sql, params);  // collision
  if (it == prepared_.end()) {
    if (prepared_.size() >= kMaxPrepared) return ExecParams(sql, params);
    MIGSBYU_TRY(Check(ResultHandle(PQprepare(c_.get(), name.c_str(), sql.c_str(), 0, nullptr))));
    prepared_.emplace(name, sql);
  }
  const bool in_transaction = InTransaction();
  auto r = RunPrepared(name, params);
  // 26000: the server no longer has the statement; 0A000 "cached plan must not change result
  // type": a table's columns changed under it. Either way, prepare it afresh.
  const std::string& state = last_error_.sqlstate;
  if (r.ok() || in_transaction || IsBroken() || (state != "26000" && state != "0A000")) return r;
  prepared_.erase(name);
  // The stale statement may be gone already (26000): nothing to drop is no failure.
  (void)Check(ResultHandle(PQexec(c_.get(), ("DEALLOCATE " + name).c_str())));
  MIGSBYU_TRY(Check(ResultHandle(PQprepare(c_.get(), name.c_str(), sql.c_str(), 0, nullptr))));
  prepared_.emplace(name, sql);
  return RunPrepared(name, params);
}

Status Connection::CopyOut(const std::string& sql,
                           const std::function<Status(std::string_view row)>& on_row) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  PGconn* c = c_.get();
  ResultHandle started(PQexec(c, sql.c_str()));
  const ExecStatusType status = started ? PQresultStatus(started.get()) : PGRES_FATAL_ERROR;
  Status failure = OkStatus();
  if (status == PGRES_COPY_IN) {
    // Nothing may be sent: end the COPY FROM STDIN before anything is read into the table.
    started.reset();
    PQputCopyEnd(c, "COPY FROM STDIN refused: CopyOut only reads");
    failure = Error::InvalidArgument("postgres: CopyOut needs a COPY ... TO STDOUT, not: " + sql);
  } else {
    MIGSBYU_TRY(Check(std::move(started)));
    if (status != PGRES_COPY_OUT) {
      return Error::InvalidArgument("postgres: CopyOut needs a COPY ... TO STDOUT, not: " + sql);
    }
    for (;;) {
      char* data = nullptr;
      const int n = PQgetCopyData(c, &data, /*async=*/0);
      BufferHandle row(data);
      if (n == -1) break;  // the COPY is over; its outcome is the result that follows
      if (n == -2) {
        if (failure.ok()) {
          std::string message = PQerrorMessage(c);
          while (!message.empty() && message.back() == '\n') message.pop_back();
          failure = Error::Unavailable("postgres: COPY read failed: " + message);
        }
        break;
      }
      if (!failure.ok()) continue;  // drained, so that the connection stays usable
      Status applied = on_row(std::string_view(data, static_cast<size_t>(n)));
      if (!applied.ok()) failure = std::move(applied);
    }
  }
  // The COPY's outcome, then the null that ends the command.
  while (ResultHandle r{PQgetResult(c)}) {
    auto checked = Check(std::move(r));
    if (!checked.ok() && failure.ok()) failure = std::move(checked).error();
  }
  return failure;
}

Result<PgResult> Connection::Check(ResultHandle r) {
  return CheckResult(c_.get(), std::move(r), &last_error_);
}

Result<PgResult> CheckResult(PGconn* conn, ResultHandle result, ServerError* server_error) {
  PGresult* raw = result.get();
  PgResult r(std::move(result));
  const bool broken = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  if (raw == nullptr) {
    *server_error = {"08006", "", "", "", ""};
    return Error::Unavailable(std::string("postgres: ") + PQerrorMessage(conn));
  }
  auto status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_OUT ||
      status == PGRES_COPY_IN || status == PGRES_COPY_BOTH || status == PGRES_EMPTY_QUERY) {
    return r;
  }
  *server_error = {Field(raw, PG_DIAG_SQLSTATE), Field(raw, PG_DIAG_CONSTRAINT_NAME),
                   Field(raw, PG_DIAG_TABLE_NAME), Field(raw, PG_DIAG_COLUMN_NAME),
                   Field(raw, PG_DIAG_MESSAGE_DETAIL)};
  std::string msg = Field(raw, PG_DIAG_MESSAGE_PRIMARY);
  if (msg.empty()) msg = PQerrorMessage(conn);
  ErrorCode code = broken ? ErrorCode::kUnavailable : ErrorCodeForSqlState(server_error->sqlstate);
  return Error(code, "postgres: " + msg + " (SQLSTATE " + server_error->sqlstate + ")");
}

Error ConnectError(PGconn* conn) {
  std::string msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* password = PQpass(conn);
  return Error::Unavailable("postgres: cannot connect: " +
                            WithoutSecret(std::move(msg), password ? password : ""));
}

std::string WithoutSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

std::string RedactedConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "(unparsable conninfo)";
  }
  std::string password;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  // In a URL the password may be percent-encoded: hide the encoded form too.
  std::string redacted = WithoutSecret(conninfo, password);
  if (auto at = redacted.find("://"); at != std::string::npos) {
    // postgresql://user:secret@host: whatever stands between the first ':' and '@' of the
    // authority is the password.
    auto authority_end = redacted.find_first_of("/?", at + 3);
    auto amp = redacted.rfind('@', authority_end);
    if (amp != std::string::npos && amp > at) {
      auto colon = redacted.find(':', at + 3);
      if (colon != std::string::npos && colon < amp) {
        redacted.replace(colon + 1, amp - colon - 1, "***");
      }
    }
  }
  return redacted;
}

ErrorCode ErrorCodeForSqlState(std::string_view s) {
  if (s == "23505") return ErrorCode::kAlreadyExists;
  if (s == "23503" || s == "40001" || s == "40P01") return ErrorCode::kConflict;
  if (s == "23514" || s == "23502") return ErrorCode::kValidation;
  if (s.starts_with("22")) return ErrorCode::kInvalidArgument;
  if (s.starts_with("08") || s.starts_with("57P") || s.empty()) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace migsbyu::pg
