// duck: RAII over DuckDB's C API (duckdb.h, 1.4.4). Every DuckDB handle is owned by exactly one
// of these move-only types and closed in its destructor; no raw duckdb_* handle leaves src/lake.
//
//   auto db = duck::Database::Open(":memory:", {{"threads", "2"}});
//   auto conn = duck::Connection::Open(*db);
//   auto stmt = conn->Prepare("SELECT name FROM t WHERE id = $1");
//   stmt->BindInt64(1, 42); auto rows = stmt->Execute();
//
// Errors are Result values whose message carries DuckDB's message and the failing SQL or table.
// Every value in SQL goes through PreparedStatement bindings or an Appender, never into the text.
//
// Threading: a Database may be shared by many threads, each with its own Connection (DuckDB
// serializes internally). A Connection, and the PreparedStatement/Appender/QueryResult made from
// it, are used by one thread at a time (REQUIRES: external synchronization). A Database must
// outlive its Connections, and a Connection its statements and appenders.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migsbyu::duck {

class Database {
 public:
  // Opens (or creates) a database file, or an in-memory one for ":memory:" or "". `config` holds
  // DuckDB settings applied at start (e.g. {"threads","2"}, {"enable_external_access","false"}).
  static Result<Database> Open(const std::string& path,
                               const std::map<std::string, std::string>& config = {});

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  duckdb_database handle() const { return db_; }

 private:
  explicit Database(duckdb_database db) : db_(db) {}
  duckdb_database db_ = nullptr;
};

// One query's materialized result. Accessors take (column, row), both 0-based; reading a cell of
// the wrong type converts it as DuckDB does (e.g. GetString on an integer prints it).
class QueryResult {
 public:
  QueryResult(QueryResult&& other) noexcept;
  QueryResult& operator=(QueryResult&& other) noexcept;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult();

  uint64_t RowCount();
  uint64_t ColumnCount();
  std::string ColumnName(uint64_t column);
  // Rows inserted/updated/deleted by a DML statement.
  uint64_t RowsChanged();
  // DuckDB's logical type name of a column ("BIGINT", "DECIMAL(3,2)", "VARCHAR").
  std::string ColumnTypeName(uint64_t column);

  bool IsNull(uint64_t column, uint64_t row);
  bool GetBool(uint64_t column, uint64_t row);
  int64_t GetInt64(uint64_t column, uint64_t row);
  uint64_t GetUint64(uint64_t column, uint64_t row);
  double GetDouble(uint64_t column, uint64_t row);
  // The cell as text; "" for NULL (check IsNull first when it matters).
  std::string GetString(uint64_t column, uint64_t row);
  // The cell as text, or nullopt for NULL.
  std::optional<std::string> GetOptionalString(uint64_t column, uint64_t row);

 private:
  friend class Connection;
  friend class PreparedStatement;
  QueryResult() = default;
  duckdb_result result_{};
  bool valid_ = false;
};

class PreparedStatement {
 public:
  PreparedStatement(PreparedStatement&& other) noexcept;
  PreparedStatement& operator=(PreparedStatement&& other) noexcept;
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;
  ~PreparedStatement();

  // Binds parameter `index` (1-based, as $1 in the SQL). Fails for an index out of range.
  Status BindNull(uint64_t index);
  Status BindBool(uint64_t index, bool value);
  Status BindInt64(uint64_t index, int64_t value);
  Status BindUint64(uint64_t index, uint64_t value);
  Status BindDouble(uint64_t index, double value);
  Status BindString(uint64_t index, std::string_view value);
  // µs since the Unix epoch, bound as TIMESTAMPTZ.
  Status BindTimestampTz(uint64_t index, int64_t micros);
  uint64_t ParameterCount();
  // The kind of statement prepared (DUCKDB_STATEMENT_TYPE_SELECT, ..._COPY, ..._ATTACH, ...), so
  // that a caller can refuse a statement before running it.
  duckdb_statement_type StatementType();

  // Runs the statement with the current bindings; bindings stay for the next Execute.
  Result<QueryResult> Execute();

 private:
  friend class Connection;
  PreparedStatement(duckdb_prepared_statement stmt, std::string sql)
      : stmt_(stmt), sql_(std::move(sql)) {}
  Status Check(duckdb_state state, uint64_t index, const char* what);
  duckdb_prepared_statement stmt_ = nullptr;
  std::string sql_;
};

class Connection;

// A batch of up to capacity() rows in Apache Arrow's columnar layout (the C data interface, built
// here), for BatchScan. Each column is filled in row order (a VARCHAR column packs its values in
// row order); a row a column is not given a value for is NULL there, so only the values that are
// present need a call. Setting row r of a column again (after a row failed half-way) replaces
// what it held and drops the column's later rows; Truncate drops every column's rows from r on.
class ArrowBatch {
 public:
  // A batch of `capacity` rows (a multiple of 64) of `types`, DuckDB type names, one per column:
  // BOOLEAN, SMALLINT, INTEGER, BIGINT, UBIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ or
  // DECIMAL(p,s). Fails for any other name.
  static Result<ArrowBatch> Create(const std::vector<std::string>& types, uint64_t capacity = 2048);
  uint64_t capacity() const { return capacity_; }

  ArrowBatch(ArrowBatch&& other) noexcept;
  ArrowBatch& operator=(ArrowBatch&& other) noexcept;
  ArrowBatch(const ArrowBatch&) = delete;
  ArrowBatch& operator=(const ArrowBatch&) = delete;
  ~ArrowBatch();

  void SetNull(uint64_t col, uint64_t row) {
    Column& c = columns_[col];
    Reach(c, row);
    if (c.kind == Kind::kString) c.offsets[row + 1] = c.offsets[row];
  }
  void SetBool(uint64_t col, uint64_t row, bool v) {
    Column& c = columns_[col];
    Reach(c, row);
    MarkValid(c, row);
    uint64_t bit = uint64_t{1} << (row & 63);
    c.values[row >> 6] = v ? (c.values[row >> 6] | bit) : (c.values[row >> 6] & ~bit);
  }
  // Any integer column (SMALLINT, INTEGER, BIGINT, UBIGINT, DATE days, TIMESTAMP[TZ] µs).
  void SetInteger(uint64_t col, uint64_t row, int64_t v) {
    Column& c = columns_[col];
    Reach(c, row);
    MarkValid(c, row);
    switch (c.kind) {
      case Kind::kInt16:
        reinterpret_cast<int16_t*>(c.values.data())[row] = static_cast<int16_t>(v);
        break;
      case Kind::kInt32:
        reinterpret_cast<int32_t*>(c.values.data())[row] = static_cast<int32_t>(v);
        break;
      default:
        reinterpret_cast<int64_t*>(c.values.data())[row] = v;
        break;
    }
  }
  void SetDouble(uint64_t col, uint64_t row, double v) {
    Column& c = columns_[col];
    Reach(c, row);
    MarkValid(c, row);
    reinterpret_cast<double*>(c.values.data())[row] = v;
  }
  void SetString(uint64_t col, uint64_t row, std::string_view v) {
    Column& c = columns_[col];
    Reach(c, row);
    MarkValid(c, row);
    c.chars.append(v);
    c.offsets[row + 1] = static_cast<int64_t>(c.chars.size());
  }
  // A DECIMAL column from its text ("3.75", "-0.5"); kInvalidArgument naming the text otherwise.
  Status SetDecimal(uint64_t col, uint64_t row, std::string_view text);
  // Drops the values of rows >= `rows` in every column.
  void Truncate(uint64_t rows);
  // Empties the batch for new rows of the same types (cheaper than a new batch: no allocation).
  void Reset();
  // Ends the batch at `rows` rows (the scan reads rows [0, size)): columns not given a value in
  // one of them are NULL there.
  void SetSize(uint64_t rows);
  uint64_t size() const { return size_; }

  // Describes rows [0, size) in `out` without copying them (BatchScan hands this to DuckDB). The
  // description stays valid until this batch changes, moves or dies; out->release only marks it
  // released.
  void Export(struct ArrowArray* out);
  // The Arrow format string of column `col` ("U", "l", "tsu:UTC", "d:3,2", ...).
  const std::string& Format(uint64_t col) const { return columns_[col].format; }
  uint64_t ColumnCount() const { return columns_.size(); }

 private:
  enum class Kind : uint8_t { kBool, kInt16, kInt32, kInt64, kDouble, kString, kDecimal };
  struct Column {
    Kind kind;
    uint8_t scale = 0;
    std::string format;
    std::vector<uint64_t> validity;  // one bit per row, least significant first
    std::vector<uint64_t> values;    // fixed-width values (booleans: bits), 8-byte aligned
    std::vector<int64_t> offsets;    // VARCHAR: capacity() + 1 offsets into `chars`
    std::string chars;
    // Rows [0, filled) hold a value or NULL; the validity bits of the others are 0 and a VARCHAR
    // column's `chars` ends at offsets[filled].
    uint64_t filled = 0;
  };
  struct Exported;
  ArrowBatch() = default;
  static void MarkValid(Column& c, uint64_t row) {
    c.validity[row >> 6] |= uint64_t{1} << (row & 63);
  }
  // Makes `row` the column's next row: rows skipped become NULL; a row set again drops the rows
  // from it on.
  static void Reach(Column& c, uint64_t row) {
    if (row != c.filled) [[unlikely]]
      Move(c, row);
    c.filled = row + 1;
  }
  // Sets c.filled to `row`: NULLs after the rows filled, or the rows from `row` on dropped.
  static void Move(Column& c, uint64_t row);
  std::vector<Column> columns_;
  uint64_t capacity_ = 0;
  uint64_t size_ = 0;
  std::unique_ptr<Exported> exported_;
};

// The view `name` on one connection over the rows of ArrowBatches, read by DuckDB's arrow scan by
// reference (only booleans, decimals and validity are converted). Several DuckDB threads read it
// at once and the scan numbers the batches, so an order-keeping statement such as
// `COPY (SELECT * FROM name) TO 'f.parquet'` encodes row groups in parallel and writes them in
// the batches' order. The batches are either all given at once (Set) or streamed (Start, then
// Add as each is complete): a query of a streamed view waits for the next batch until Add(),
// Finish() or Abort(), so it can run on another thread while the batches are being filled.
// Outside Set/Start ... Clear, a query of the view fails with an error.
// Threading: Set, Start and Clear on the thread that uses the connection, never while a query of
// the view runs; Add, Finish and Abort from any thread. The BatchScan must outlive every query of
// the view; a batch handed over must stay unchanged and alive until Clear().
class BatchScan {
 public:
  static Result<BatchScan> Register(Connection& conn, const std::string& name);
  BatchScan();
  BatchScan(BatchScan&& other) noexcept;
  BatchScan& operator=(BatchScan&& other) noexcept;
  ~BatchScan();

  // (Re)creates the view over `batches` (not empty, all of the same types), whose columns are
  // named `names`, one per batch column.
  Status Set(std::vector<ArrowBatch>& batches, std::vector<std::string> names);
  // (Re)creates the view over batches of the types of `like` (which is not read), handed over
  // later with Add.
  Status Start(const ArrowBatch& like, std::vector<std::string> names);
  // Hands over the next complete batch (its size set) of a streamed view.
  void Add(ArrowBatch* batch);
  // The scan of a streamed view ends after the batches added.
  void Finish();
  // The scan of a streamed view fails with `why` (at once if it is waiting).
  void Abort(const std::string& why);
  void Clear();

  struct State;

 private:
  explicit BatchScan(std::unique_ptr<State> state);
  Status CreateView(const ArrowBatch& like, std::vector<std::string> names);
  std::unique_ptr<State> state_;
};

// Appends rows to a table, a column at a time, in the table's column order. Close() (or the
// destructor, which ignores errors) flushes; call Close() to learn whether the rows went in.
class Appender {
 public:
  Appender(Appender&& other) noexcept;
  Appender& operator=(Appender&& other) noexcept;
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  ~Appender();

  // Each Append* fills the next column of the current row; EndRow finishes it. A value whose
  // type differs from the column's is cast as DuckDB casts (e.g. text into DECIMAL).
  Status AppendNull();
  Status AppendBool(bool value);
  Status AppendInt16(int16_t value);
  Status AppendInt32(int32_t value);
  Status AppendInt64(int64_t value);
  Status AppendUint64(uint64_t value);
  Status AppendDouble(double value);
  Status AppendString(std::string_view value);
  Status AppendDate(int32_t days_since_epoch);
  Status AppendTimestamp(int64_t micros);    // TIMESTAMP column
  Status AppendTimestampTz(int64_t micros);  // TIMESTAMPTZ column
  Status EndRow();
  Status Flush();
  Status Close();

 private:
  friend class Connection;
  Appender(duckdb_appender appender, std::string table)
      : appender_(appender), table_(std::move(table)) {}
  Status Check(duckdb_state state, const char* what);
  duckdb_appender appender_ = nullptr;
  std::string table_;
};

class Connection {
 public:
  static Result<Connection> Open(const Database& db);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements without parameters (DDL, or SQL whose values are all constants
  // of our own making, such as quoted file paths); returns the last statement's result.
  Result<QueryResult> Query(const std::string& sql);
  Status Execute(const std::string& sql);
  Result<PreparedStatement> Prepare(const std::string& sql);
  // An appender on `table` (in the default schema).
  Result<Appender> MakeAppender(const std::string& table);
  // Asks a running query on this connection to stop (callable from another thread).
  void Interrupt();

  duckdb_connection handle() const { return conn_; }

 private:
  explicit Connection(duckdb_connection conn) : conn_(conn) {}
  duckdb_connection conn_ = nullptr;
};

// SQL literal helpers for identifiers and constants we generate ourselves (file paths, column
// names from a table schema). User values never go through these: they are bound.
std::string QuoteIdentifier(std::string_view name);
std::string QuoteString(std::string_view text);

}  // namespace migsbyu::duck
