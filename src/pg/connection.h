// RAII over libpq: pg::Connection owns a PGconn, pg::PgResult owns a PGresult (through the owner
// types of pg/handle.h).
//
// Every statement that carries a value is parameterized: ExecParams and ExecPrepared send the SQL
// text and the values separately (text format), so no value is ever spliced into SQL. Exec is for
// fixed SQL (migrations, BEGIN/COMMIT) only.
//
// CopyOut streams a COPY ... TO STDOUT row by row, so that a table of any size is read in bounded
// memory; no libpq handle leaves this folder.
//
// ExecPrepared keeps a statement prepared on this connection (a protocol-level named statement,
// named "migsbyu_" + a hash of its text), so that PostgreSQL parses and plans it once per
// connection instead of on every call. The cache belongs to the Connection: a connection that is
// closed or replaced takes its statements with it.
//
// Errors come back as values. SQLSTATE classes map to ErrorCode: 23505 unique violation ->
// kAlreadyExists; 23503 foreign key and 40001/40P01 serialization -> kConflict; 23514 check and
// 23502 not-null -> kValidation; 22xxx data exceptions -> kInvalidArgument; connection failures
// (08xxx, 57Pxx, a broken socket) -> kUnavailable; the rest -> kInternal. The server's SQLSTATE,
// constraint and detail stay available in ServerError for callers that translate further.
//
// Threading: a Connection is used by one thread at a time (REQUIRES: external synchronization).
// Move-only.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "pg/handle.h"

namespace migsbyu::pg {

// What the server said about a failed statement.
struct ServerError {
  std::string sqlstate;    // "23505"
  std::string constraint;  // "students_pkey", empty if none
  std::string table;
  std::string column;
  std::string detail;
};

// A statement's result. Move-only.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(ResultHandle r) : r_(std::move(r)) {}

  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  // The text form of a value; empty for NULL (check IsNull).
  std::string_view Get(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::optional<std::string> GetOptional(int row, int col) const;
  std::string_view ColumnName(int col) const { return PQfname(r_.get(), col); }
  // -1 if no such column.
  int ColumnIndex(const char* name) const { return PQfnumber(r_.get(), name); }
  uint32_t ColumnType(int col) const { return PQftype(r_.get(), col); }
  // Rows affected by INSERT/UPDATE/DELETE (and rows copied by COPY); 0 otherwise.
  int64_t AffectedRows() const;

 private:
  ResultHandle r_;
};

// Positional parameters $1..$n in text format; nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

class Connection {
 public:
  // Connects with a libpq URL or key=value string. kUnavailable if the server cannot be reached.
  static Result<Connection> Open(const std::string& conninfo);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Fixed SQL, possibly several statements; no values allowed in it.
  Result<PgResult> Exec(const std::string& sql);
  // One statement with parameters.
  Result<PgResult> ExecParams(const std::string& sql, const Params& params);
  // The same as ExecParams, with the statement prepared on this connection the first time its
  // text is seen and executed by name afterwards. For statements whose text is fixed (built once,
  // never from request values): each distinct text stays prepared for the life of the
  // connection, up to kMaxPrepared texts, beyond which (or when two texts share a name) it runs
  // like ExecParams. A statement PostgreSQL no longer holds (DEALLOCATE, DISCARD) or whose result
  // columns changed since it was prepared (ALTER TABLE) is prepared again and retried once,
  // unless a transaction is open (the failure has then aborted it, as any failed statement does).
  Result<PgResult> ExecPrepared(const std::string& sql, const Params& params);
  static constexpr size_t kMaxPrepared = 64;

  // Runs `sql`, one COPY ... TO STDOUT statement (fixed SQL, as for Exec), and calls `on_row` with
  // each row as the server sent it (one CopyData message; in the text and CSV formats a line
  // ending in '\n'), one row at a time: memory stays bounded by the longest row, whatever the
  // table's size. The view is valid only during the call. Once `on_row` returns an error it is
  // not called again; the rest of the COPY is read and discarded, so that the connection stays
  // usable, and that error is returned. The statement's own errors come back as Exec's do (the
  // server's diagnostics in last_server_error()); kInvalidArgument, naming the statement, when
  // `sql` is not a COPY ... TO STDOUT.
  Status CopyOut(const std::string& sql, const std::function<Status(std::string_view row)>& on_row);

  // True when the socket is gone; the pool drops such connections.
  bool IsBroken() const { return c_ == nullptr || PQstatus(c_.get()) != CONNECTION_OK; }
  // True when a transaction is open or failed (the pool rolls such connections back).
  bool InTransaction() const;
  // The server's diagnostics for the last failed statement.
  const ServerError& last_server_error() const { return last_error_; }
  int ServerVersion() const { return PQserverVersion(c_.get()); }

 private:
  explicit Connection(ConnHandle c) : c_(std::move(c)) {}
  Result<PgResult> Check(ResultHandle r);
  Result<PgResult> RunPrepared(const std::string& name, const Params& params);

  ConnHandle c_;
  ServerError last_error_;
  // Statement name -> the text prepared under it on this connection.
  std::unordered_map<std::string, std::string> prepared_;
};

// Maps a SQLSTATE to the ErrorCode described above.
ErrorCode ErrorCodeForSqlState(std::string_view sqlstate);

// The name a statement is prepared under: "migsbyu_" and 16 hex digits of a 64-bit FNV-1a hash of
// its text. The same text gets the same name on every connection (Connection and AsyncPool alike),
// which makes the statements recognizable in pg_prepared_statements.
std::string PreparedStatementName(std::string_view sql);

// The outcome of one statement, exactly as Connection reports it: `result` itself when it
// succeeded; otherwise the error (ErrorCodeForSqlState of its SQLSTATE, or kUnavailable when
// `conn` is broken or `result` is null; message "postgres: <primary> (SQLSTATE xxxxx)"), with the
// server's diagnostics stored in *server_error.
// REQUIRES: callers in pg/ only (it takes the raw connection).
Result<PgResult> CheckResult(PGconn* conn, ResultHandle result, ServerError* server_error);

// "postgres: cannot connect: <libpq's message>" as kUnavailable, for a connection attempt that
// failed; the password the attempt used never appears in it. REQUIRES: callers in pg/ only.
Error ConnectError(PGconn* conn);

// `conninfo` (a URL or key=value string) with its password, if it has one, replaced by "***":
// for help texts and logs. A string libpq cannot parse comes back as "(unparsable conninfo)",
// since the password's place in it is unknown.
std::string RedactedConninfo(const std::string& conninfo);

// `text` with every occurrence of `secret` replaced by "***" (unchanged when `secret` is empty).
std::string WithoutSecret(std::string text, std::string_view secret);

// Quotes an identifier the way PostgreSQL does ("my table"), for the DDL that cannot take
// parameters (table and slot names that come from configuration, never from requests).
std::string QuoteIdentifier(std::string_view name);

}  // namespace migsbyu::pg
