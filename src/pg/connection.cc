#include "pg/connection.h"

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

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

std::optional<std::string> PgResult::GetOptional(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return std::string(Get(row, col));
}

int64_t PgResult::AffectedRows() const {
  const char* n = r_ ? PQcmdTuples(r_) : "";
  return *n ? std::stoll(n) : 0;
}

Result<Connection> Connection::Open(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (c == nullptr) return Error::Unavailable("postgres: out of memory while connecting");
  if (PQstatus(c) != CONNECTION_OK) {
    Error error = ConnectError(c);
    PQfinish(c);
    return error;
  }
  return Connection(c);
}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = o.c_;
    o.c_ = nullptr;
    last_error_ = std::move(o.last_error_);
    prepared_ = std::move(o.prepared_);
  }
  return *this;
}

Connection::~Connection() {
  if (c_) PQfinish(c_);
}

bool Connection::InTransaction() const {
  if (c_ == nullptr) return false;
  auto s = PQtransactionStatus(c_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Result<PgResult> Connection::Exec(const std::string& sql) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  return Check(PQexec(c_, sql.c_str()), sql);
}

Result<PgResult> Connection::ExecParams(const std::string& sql, const Params& params) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  auto values = Values(params);
  return Check(PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               sql);
}

Result<PgResult> Connection::RunPrepared(const std::string& name, const Params& params,
                                         std::string_view sql) {
  auto values = Values(params);
  return Check(PQexecPrepared(c_, name.c_str(), static_cast<int>(values.size()), values.data(),
                              nullptr, nullptr, 0),
               sql);
}

Result<PgResult> Connection::ExecPrepared(const std::string& sql, const Params& params) {
  if (c_ == nullptr) return Error::Unavailable("postgres: connection closed");
  std::string name = PreparedStatementName(sql);
  auto it = prepared_.find(name);
  if (it != prepared_.end() && it->second != sql) return ExecParams(sql, params);  // collision
  if (it == prepared_.end()) {
    if (prepared_.size() >= kMaxPrepared) return ExecParams(sql, params);
    MIGSBYU_TRY(Check(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr), sql));
    prepared_.emplace(name, sql);
  }
  const bool in_transaction = InTransaction();
  auto r = RunPrepared(name, params, sql);
  // 26000: the server no longer has the statement; 0A000 "cached plan must not change result
  // type": a table's columns changed under it. Either way, prepare it afresh.
  const std::string& state = last_error_.sqlstate;
  if (r.ok() || in_transaction || IsBroken() || (state != "26000" && state != "0A000")) return r;
  prepared_.erase(name);
  (void)Check(PQexec(c_, ("DEALLOCATE " + name).c_str()), "DEALLOCATE");
  MIGSBYU_TRY(Check(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr), sql));
  prepared_.emplace(name, sql);
  return RunPrepared(name, params, sql);
}

Result<PgResult> Connection::Check(PGresult* raw, std::string_view /*sql*/) {
  return CheckResult(c_, raw, &last_error_);
}

Result<PgResult> CheckResult(PGconn* conn, PGresult* raw, ServerError* server_error) {
  PgResult r(raw);
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
