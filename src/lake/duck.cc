#include "lake/duck.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include "common/decimal.h"

namespace migsbyu::duck {
namespace {

std::string Shorten(std::string_view sql) {
  constexpr size_t kMax = 200;
  return sql.size() <= kMax ? std::string(sql) : std::string(sql.substr(0, kMax)) + "...";
}

}  // namespace

// ---- Database ----

Result<Database> Database::Open(const std::string& path,
                                const std::map<std::string, std::string>& config) {
  duckdb_config cfg = nullptr;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) {
    return Error::Internal("duckdb: cannot allocate a configuration");
  }
  for (const auto& [name, value] : config) {
    if (duckdb_set_config(cfg, name.c_str(), value.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&cfg);
      return Error::InvalidArgument("duckdb: invalid setting " + name + "=" + value);
    }
  }
  duckdb_database db = nullptr;
  char* error = nullptr;
  const char* file = path.empty() ? ":memory:" : path.c_str();
  duckdb_state state = duckdb_open_ext(file, &db, cfg, &error);
  duckdb_destroy_config(&cfg);
  if (state != DuckDBSuccess) {
    std::string message = error ? error : "unknown error";
    if (error) duckdb_free(error);
    return Error::Unavailable("duckdb: cannot open database '" + path + "': " + message);
  }
  return Database(db);
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    if (db_) duckdb_close(&db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Database::~Database() {
  if (db_) duckdb_close(&db_);
}

// ---- QueryResult ----

QueryResult::QueryResult(QueryResult&& other) noexcept
    : result_(other.result_), valid_(std::exchange(other.valid_, false)) {}

QueryResult& QueryResult::operator=(QueryResult&& other) noexcept {
  if (this != &other) {
    if (valid_) duckdb_destroy_result(&result_);
    result_ = other.result_;
    valid_ = std::exchange(other.valid_, false);
  }
  return *this;
}

QueryResult::~QueryResult() {
  if (valid_) duckdb_destroy_result(&result_);
}

uint64_t QueryResult::RowCount() { return duckdb_row_count(&result_); }
uint64_t QueryResult::ColumnCount() { return duckdb_column_count(&result_); }
uint64_t QueryResult::RowsChanged() { return duckdb_rows_changed(&result_); }

std::string QueryResult::ColumnName(uint64_t column) {
  const char* name = duckdb_column_name(&result_, column);
  return name ? name : "";
}

std::string QueryResult::ColumnTypeName(uint64_t column) {
  static const std::map<duckdb_type, const char*> kNames = {
      {DUCKDB_TYPE_BOOLEAN, "BOOLEAN"},
      {DUCKDB_TYPE_TINYINT, "TINYINT"},
      {DUCKDB_TYPE_SMALLINT, "SMALLINT"},
      {DUCKDB_TYPE_INTEGER, "INTEGER"},
      {DUCKDB_TYPE_BIGINT, "BIGINT"},
      {DUCKDB_TYPE_UTINYINT, "UTINYINT"},
      {DUCKDB_TYPE_USMALLINT, "USMALLINT"},
      {DUCKDB_TYPE_UINTEGER, "UINTEGER"},
      {DUCKDB_TYPE_UBIGINT, "UBIGINT"},
      {DUCKDB_TYPE_HUGEINT, "HUGEINT"},
      {DUCKDB_TYPE_FLOAT, "FLOAT"},
      {DUCKDB_TYPE_DOUBLE, "DOUBLE"},
      {DUCKDB_TYPE_DATE, "DATE"},
      {DUCKDB_TYPE_TIMESTAMP, "TIMESTAMP"},
      {DUCKDB_TYPE_TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE"},
      {DUCKDB_TYPE_VARCHAR, "VARCHAR"},
      {DUCKDB_TYPE_BLOB, "BLOB"},
  };
  duckdb_logical_type type = duckdb_column_logical_type(&result_, column);
  if (!type) return "";
  std::string name;
  duckdb_type id = duckdb_get_type_id(type);
  if (id == DUCKDB_TYPE_DECIMAL) {
    name = "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) + "," +
           std::to_string(duckdb_decimal_scale(type)) + ")";
  } else {
    auto it = kNames.find(id);
    name = it == kNames.end() ? "OTHER" : it->second;
  }
  duckdb_destroy_logical_type(&type);
  return name;
}

bool QueryResult::IsNull(uint64_t column, uint64_t row) {
  return duckdb_value_is_null(&result_, column, row);
}
bool QueryResult::GetBool(uint64_t column, uint64_t row) {
  return duckdb_value_boolean(&result_, column, row);
}
int64_t QueryResult::GetInt64(uint64_t column, uint64_t row) {
  return duckdb_value_int64(&result_, column, row);
}
uint64_t QueryResult::GetUint64(uint64_t column, uint64_t row) {
  return duckdb_value_uint64(&result_, column, row);
}
double QueryResult::GetDouble(uint64_t column, uint64_t row) {
  return duckdb_value_double(&result_, column, row);
}

std::string QueryResult::GetString(uint64_t column, uint64_t row) {
  char* text = duckdb_value_varchar(&result_, column, row);
  if (!text) return "";
  std::string out(text);
  duckdb_free(text);
  return out;
}

std::optional<std::string> QueryResult::GetOptionalString(uint64_t column, uint64_t row) {
  if (IsNull(column, row)) return std::nullopt;
  return GetString(column, row);
}

// ---- PreparedStatement ----

PreparedStatement::PreparedStatement(PreparedStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

PreparedStatement& PreparedStatement::operator=(PreparedStatement&& other) noexcept {
  if (this != &other) {
    if (stmt_) duckdb_destroy_prepare(&stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

PreparedStatement::~PreparedStatement() {
  if (stmt_) duckdb_destroy_prepare(&stmt_);
}

Status PreparedStatement::Check(duckdb_state state, uint64_t index, const char* what) {
  if (state == DuckDBSuccess) return OkStatus();
  return Error::InvalidArgument("duckdb: cannot bind " + std::string(what) + " to parameter $" +
                                std::to_string(index) + " of: " + Shorten(sql_));
}

Status PreparedStatement::BindNull(uint64_t i) {
  return Check(duckdb_bind_null(stmt_, i), i, "NULL");
}
Status PreparedStatement::BindBool(uint64_t i, bool v) {
  return Check(duckdb_bind_boolean(stmt_, i, v), i, "a boolean");
}
Status PreparedStatement::BindInt64(uint64_t i, int64_t v) {
  return Check(duckdb_bind_int64(stmt_, i, v), i, "an int64");
}
Status PreparedStatement::BindUint64(uint64_t i, uint64_t v) {
  return Check(duckdb_bind_uint64(stmt_, i, v), i, "a uint64");
}
Status PreparedStatement::BindDouble(uint64_t i, double v) {
  return Check(duckdb_bind_double(stmt_, i, v), i, "a double");
}
Status PreparedStatement::BindString(uint64_t i, std::string_view v) {
  return Check(duckdb_bind_varchar_length(stmt_, i, v.data(), v.size()), i, "a string");
}
Status PreparedStatement::BindTimestampTz(uint64_t i, int64_t micros) {
  return Check(duckdb_bind_timestamp_tz(stmt_, i, duckdb_timestamp{micros}), i, "a timestamptz");
}
uint64_t PreparedStatement::ParameterCount() { return duckdb_nparams(stmt_); }
duckdb_statement_type PreparedStatement::StatementType() {
  return duckdb_prepared_statement_type(stmt_);
}

Result<QueryResult> PreparedStatement::Execute() {
  QueryResult result;
  duckdb_state state = duckdb_execute_prepared(stmt_, &result.result_);
  result.valid_ = true;
  if (state != DuckDBSuccess) {
    const char* error = duckdb_result_error(&result.result_);
    return Error::InvalidArgument("duckdb: " + std::string(error ? error : "query failed") +
                                  " in: " + Shorten(sql_));
  }
  return result;
}

// ---- Appender ----

Appender::Appender(Appender&& other) noexcept
    : appender_(std::exchange(other.appender_, nullptr)), table_(std::move(other.table_)) {}

Appender& Appender::operator=(Appender&& other) noexcept {
  if (this != &other) {
    if (appender_) duckdb_appender_destroy(&appender_);
    appender_ = std::exchange(other.appender_, nullptr);
    table_ = std::move(other.table_);
  }
  return *this;
}

Appender::~Appender() {
  if (appender_) duckdb_appender_destroy(&appender_);
}

Status Appender::Check(duckdb_state state, const char* what) {
  if (state == DuckDBSuccess) return OkStatus();
  const char* error = appender_ ? duckdb_appender_error(appender_) : nullptr;
  return Error::InvalidArgument("duckdb: appender on " + table_ + ": " + what + ": " +
                                (error ? error : "failed"));
}

Status Appender::AppendNull() { return Check(duckdb_append_null(appender_), "append NULL"); }
Status Appender::AppendBool(bool v) {
  return Check(duckdb_append_bool(appender_, v), "append bool");
}
Status Appender::AppendInt16(int16_t v) {
  return Check(duckdb_append_int16(appender_, v), "append int16");
}
Status Appender::AppendInt32(int32_t v) {
  return Check(duckdb_append_int32(appender_, v), "append int32");
}
Status Appender::AppendInt64(int64_t v) {
  return Check(duckdb_append_int64(appender_, v), "append int64");
}
Status Appender::AppendUint64(uint64_t v) {
  return Check(duckdb_append_uint64(appender_, v), "append uint64");
}
Status Appender::AppendDouble(double v) {
  return Check(duckdb_append_double(appender_, v), "append double");
}
Status Appender::AppendString(std::string_view v) {
  return Check(duckdb_append_varchar_length(appender_, v.data(), v.size()), "append string");
}
Status Appender::AppendDate(int32_t days) {
  return Check(duckdb_append_date(appender_, duckdb_date{days}), "append date");
}
Status Appender::AppendTimestamp(int64_t micros) {
  return Check(duckdb_append_timestamp(appender_, duckdb_timestamp{micros}), "append timestamp");
}
Status Appender::AppendTimestampTz(int64_t micros) {
  // DuckDB stores TIMESTAMPTZ as µs since the epoch in UTC, like TIMESTAMP.
  return Check(duckdb_append_timestamp(appender_, duckdb_timestamp{micros}), "append timestamptz");
}
Status Appender::EndRow() { return Check(duckdb_appender_end_row(appender_), "end row"); }
Status Appender::Flush() { return Check(duckdb_appender_flush(appender_), "flush"); }
Status Appender::Close() { return Check(duckdb_appender_close(appender_), "close"); }

// ---- ArrowBatch and BatchScan ----

}  // namespace migsbyu::duck

// The Arrow C data interface (https://arrow.apache.org/docs/format/CDataInterface.html), which
// duckdb.h declares but leaves to the application to define.
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_NULLABLE 2
struct ArrowSchema {
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;
  void (*release)(struct ArrowSchema*);
  void* private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;
  void (*release)(struct ArrowArray*);
  void* private_data;
};
#endif
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream*, struct ArrowSchema* out);
  int (*get_next)(struct ArrowArrayStream*, struct ArrowArray* out);
  const char* (*get_last_error)(struct ArrowArrayStream*);
  void (*release)(struct ArrowArrayStream*);
  void* private_data;
};
#endif

namespace migsbyu::duck {

// The structures an export points to; rebuilt by each Export.
struct ArrowBatch::Exported {
  std::vector<ArrowArray> children;
  std::vector<ArrowArray*> child_pointers;
  std::vector<std::array<const void*, 3>> buffers;
  const void* root_buffers[1] = {nullptr};
};

Result<ArrowBatch> ArrowBatch::Create(const std::vector<std::string>& types, uint64_t capacity) {
  static const std::map<std::string, std::pair<Kind, const char*>> kTypes = {
      {"BOOLEAN", {Kind::kBool, "b"}},       {"SMALLINT", {Kind::kInt16, "s"}},
      {"INTEGER", {Kind::kInt32, "i"}},      {"BIGINT", {Kind::kInt64, "l"}},
      {"UBIGINT", {Kind::kInt64, "L"}},      {"DOUBLE", {Kind::kDouble, "g"}},
      {"VARCHAR", {Kind::kString, "U"}},     {"DATE", {Kind::kInt32, "tdD"}},
      {"TIMESTAMP", {Kind::kInt64, "tsu:"}}, {"TIMESTAMPTZ", {Kind::kInt64, "tsu:UTC"}}};
  if (capacity == 0 || capacity % 64 != 0) {
    return Error::InvalidArgument("duckdb: arrow batch capacity " + std::to_string(capacity) +
                                  " is not a positive multiple of 64");
  }
  ArrowBatch batch;
  batch.capacity_ = capacity;
  for (const auto& name : types) {
    Column c;
    int width = 0, scale = 0;
    if (sscanf(name.c_str(), "DECIMAL(%d,%d)", &width, &scale) == 2 && width >= 1 && width <= 38 &&
        scale >= 0 && scale <= width) {
      c.kind = Kind::kDecimal;
      c.scale = static_cast<uint8_t>(scale);
      c.format = "d:" + std::to_string(width) + "," + std::to_string(scale);
    } else {
      auto it = kTypes.find(name);
      if (it == kTypes.end()) {
        return Error::InvalidArgument("duckdb: arrow batch column type " + name + " not supported");
      }
      c.kind = it->second.first;
      c.format = it->second.second;
    }
    c.validity.assign(capacity / 64, 0);
    switch (c.kind) {
      case Kind::kBool:
        c.values.assign(capacity / 64, 0);
        break;
      case Kind::kInt16:
        c.values.assign(capacity / 4, 0);
        break;
      case Kind::kInt32:
        c.values.assign(capacity / 2, 0);
        break;
      case Kind::kInt64:
      case Kind::kDouble:
        c.values.assign(capacity, 0);
        break;
      case Kind::kDecimal:
        c.values.assign(capacity * 2, 0);  // 128-bit little-endian integers
        break;
      case Kind::kString:
        c.offsets.assign(capacity + 1, 0);
        break;
    }
    batch.columns_.push_back(std::move(c));
  }
  return batch;
}

ArrowBatch::ArrowBatch(ArrowBatch&& other) noexcept = default;
ArrowBatch& ArrowBatch::operator=(ArrowBatch&& other) noexcept = default;
ArrowBatch::~ArrowBatch() = default;

void ArrowBatch::Move(Column& c, uint64_t row) {
  if (row > c.filled) {
    // The validity bits of the skipped rows are 0 already; a NULL string is empty.
    if (c.kind == Kind::kString) {
      std::fill(c.offsets.begin() + static_cast<ptrdiff_t>(c.filled) + 1,
                c.offsets.begin() + static_cast<ptrdiff_t>(row) + 1, c.offsets[c.filled]);
    }
  } else {
    for (uint64_t r = row; r < c.filled; ++r) c.validity[r >> 6] &= ~(uint64_t{1} << (r & 63));
    if (c.kind == Kind::kString) c.chars.resize(static_cast<size_t>(c.offsets[row]));
  }
  c.filled = row;
}

void ArrowBatch::Truncate(uint64_t rows) {
  for (auto& c : columns_) {
    if (c.filled > rows) Move(c, rows);
  }
  size_ = std::min(size_, rows);
}

void ArrowBatch::SetSize(uint64_t rows) {
  for (auto& c : columns_) {
    if (c.filled < rows) Move(c, rows);
  }
  size_ = rows;
}

void ArrowBatch::Reset() {
  size_ = 0;
  for (auto& c : columns_) {
    std::fill(c.validity.begin(), c.validity.end(), 0);
    c.filled = 0;
    if (c.kind == Kind::kString) {
      c.chars.clear();
      c.offsets[0] = 0;  // the others are written as rows are filled
    }
  }
}

Status ArrowBatch::SetDecimal(uint64_t col, uint64_t row, std::string_view text) {
  Column& c = columns_[col];
  // PostgreSQL already rounded the value to the column's scale: a digit beyond it is an error,
  // not something to drop.
  MIGSBYU_ASSIGN(Decimal decimal, ParseDecimal(text, {38, c.scale}));
  std::optional<__int128> scaled = ScaledInt128(decimal, c.scale);
  if (!scaled) {
    return Error::InvalidArgument("duckdb: decimal '" + std::string(text.substr(0, 64)) +
                                  "' does not fit DECIMAL(38," + std::to_string(c.scale) + ")");
  }
  const __int128 value = *scaled;
  Reach(c, row);
  MarkValid(c, row);
  c.values[2 * row] = static_cast<uint64_t>(value);
  c.values[2 * row + 1] = static_cast<uint64_t>(value >> 64);
  return OkStatus();
}

void ArrowBatch::Export(ArrowArray* out) {
  if (!exported_) exported_ = std::make_unique<Exported>();
  Exported& e = *exported_;
  const size_t n = columns_.size();
  e.children.assign(n, ArrowArray{});
  e.child_pointers.resize(n);
  e.buffers.resize(n);
  auto release = [](ArrowArray* a) {
    for (int64_t i = 0; i < a->n_children; ++i) a->children[i]->release = nullptr;
    a->release = nullptr;
  };
  for (size_t i = 0; i < n; ++i) {
    Column& c = columns_[i];
    ArrowArray& a = e.children[i];
    e.buffers[i] = {c.validity.data(), nullptr, nullptr};
    if (c.kind == Kind::kString) {
      e.buffers[i][1] = c.offsets.data();
      e.buffers[i][2] = c.chars.data();
      a.n_buffers = 3;
    } else {
      e.buffers[i][1] = c.values.data();
      a.n_buffers = 2;
    }
    a.length = static_cast<int64_t>(size_);
    a.null_count = -1;  // not counted: the validity bitmap says
    a.buffers = e.buffers[i].data();
    a.release = [](ArrowArray* child) { child->release = nullptr; };
    e.child_pointers[i] = &a;
  }
  *out = ArrowArray{};
  out->length = static_cast<int64_t>(size_);
  out->n_buffers = 1;
  out->buffers = e.root_buffers;
  out->n_children = static_cast<int64_t>(n);
  out->children = e.child_pointers.data();
  out->release = release;
}

// The ArrowSchema tree StreamGetSchema describes, with the strings it points into.
struct SchemaStorage {
  std::vector<ArrowSchema> children;
  std::vector<ArrowSchema*> child_pointers;
  std::vector<std::string> formats, names;
};

struct BatchScan::State {
  Connection* conn = nullptr;
  std::string name;
  ArrowArrayStream stream{};
  std::mutex mu;
  std::condition_variable added;
  bool set = false;
  std::vector<std::string> formats, names;
  // The columns the view was last created with (empty: no view, or its creation failed).
  std::vector<std::string> view_formats, view_names;
  std::vector<ArrowBatch*> batches;
  size_t next = 0;
  bool finished = false;
  std::optional<std::string> aborted;
  std::string error;
  // Every distinct schema described to DuckDB, kept while the view lives: DuckDB 1.4's C arrow
  // scan does not call release on each schema it asks for, so the schema cannot own them.
  std::vector<std::unique_ptr<SchemaStorage>> schemas;
};

namespace {

int StreamGetSchema(ArrowArrayStream* stream, ArrowSchema* out) {
  auto* state = static_cast<BatchScan::State*>(stream->private_data);
  std::lock_guard lock(state->mu);
  state->next = 0;  // each query binds the view again, then reads the stream from the start
  std::vector<std::string> formats = state->formats, names = state->names;
  if (!state->set) {
    // DuckDB ignores get_schema's result, so describe a column: reading it then fails (get_next)
    // with this error, if binding the view to other columns has not failed already.
    state->error = "no arrow batches are set for the view " + state->name;
    formats = {"U"};
    names = {"unset"};
  }
  SchemaStorage* storage = nullptr;
  for (const auto& s : state->schemas) {
    if (s->formats == formats && s->names == names) storage = s.get();
  }
  if (!storage) {
    storage = state->schemas.emplace_back(std::make_unique<SchemaStorage>()).get();
    storage->formats = std::move(formats);
    storage->names = std::move(names);
  }
  const size_t n = storage->formats.size();
  storage->children.assign(n, ArrowSchema{});
  storage->child_pointers.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ArrowSchema& c = storage->children[i];
    c.format = storage->formats[i].c_str();
    c.name = storage->names[i].c_str();
    c.flags = ARROW_FLAG_NULLABLE;
    c.release = [](ArrowSchema* s) { s->release = nullptr; };
    storage->child_pointers[i] = &c;
  }
  *out = ArrowSchema{};
  out->format = "+s";
  out->name = "";
  out->n_children = static_cast<int64_t>(n);
  out->children = storage->child_pointers.data();
  out->release = [](ArrowSchema* s) { s->release = nullptr; };
  return 0;
}

// Called by one DuckDB scan thread at a time (the arrow scan holds its lock around it).
int StreamGetNext(ArrowArrayStream* stream, ArrowArray* out) {
  auto* state = static_cast<BatchScan::State*>(stream->private_data);
  std::unique_lock lock(state->mu);
  for (;;) {
    if (!state->set) {
      state->error = "no arrow batches are set for the view " + state->name;
      return EINVAL;
    }
    if (state->aborted) {
      state->error = *state->aborted;
      return EIO;
    }
    if (state->next < state->batches.size()) {
      ArrowBatch* batch = state->batches[state->next++];
      if (batch->size() == 0) continue;
      batch->Export(out);
      return 0;
    }
    if (state->finished) {
      *out = ArrowArray{};  // release == nullptr: the end of the stream
      return 0;
    }
    state->added.wait(lock);
  }
}

const char* StreamLastError(ArrowArrayStream* stream) {
  return static_cast<BatchScan::State*>(stream->private_data)->error.c_str();
}

}  // namespace

BatchScan::BatchScan() = default;
BatchScan::BatchScan(std::unique_ptr<State> state) : state_(std::move(state)) {}
BatchScan::BatchScan(BatchScan&& other) noexcept = default;
BatchScan& BatchScan::operator=(BatchScan&& other) noexcept = default;
BatchScan::~BatchScan() = default;

Result<BatchScan> BatchScan::Register(Connection& conn, const std::string& name) {
  auto state = std::make_unique<State>();
  state->conn = &conn;
  state->name = name;
  state->stream.get_schema = StreamGetSchema;
  state->stream.get_next = StreamGetNext;
  state->stream.get_last_error = StreamLastError;
  state->stream.release = [](ArrowArrayStream* s) { s->release = nullptr; };
  state->stream.private_data = state.get();
  return BatchScan(std::move(state));
}

Status BatchScan::CreateView(const ArrowBatch& like, std::vector<std::string> names) {
  {
    std::lock_guard lock(state_->mu);
    state_->set = true;
    state_->formats.clear();
    for (uint64_t c = 0; c < like.ColumnCount(); ++c) state_->formats.push_back(like.Format(c));
    state_->names = std::move(names);
    state_->names.resize(state_->formats.size());
  }
  // The view is bound to the batches' columns when created, so it is made again when they change
  // (making it takes a millisecond or more: it is a bound relation).
  if (state_->formats == state_->view_formats && state_->names == state_->view_names) {
    return OkStatus();
  }
  state_->view_formats.clear();
  state_->view_names.clear();
  if (duckdb_arrow_scan(state_->conn->handle(), state_->name.c_str(),
                        reinterpret_cast<duckdb_arrow_stream>(&state_->stream)) != DuckDBSuccess) {
    Clear();
    return Error::Internal("duckdb: cannot create the arrow view " + state_->name);
  }
  state_->view_formats = state_->formats;
  state_->view_names = state_->names;
  return OkStatus();
}

Status BatchScan::Set(std::vector<ArrowBatch>& batches, std::vector<std::string> names) {
  Clear();
  if (batches.empty()) return Error::InvalidArgument("duckdb: no batches for " + state_->name);
  {
    std::lock_guard lock(state_->mu);
    for (auto& b : batches) state_->batches.push_back(&b);
    state_->finished = true;
  }
  return CreateView(batches.front(), std::move(names));
}

Status BatchScan::Start(const ArrowBatch& like, std::vector<std::string> names) {
  Clear();
  return CreateView(like, std::move(names));
}

void BatchScan::Add(ArrowBatch* batch) {
  {
    std::lock_guard lock(state_->mu);
    state_->batches.push_back(batch);
  }
  state_->added.notify_all();
}

void BatchScan::Finish() {
  {
    std::lock_guard lock(state_->mu);
    state_->finished = true;
  }
  state_->added.notify_all();
}

void BatchScan::Abort(const std::string& why) {
  {
    std::lock_guard lock(state_->mu);
    state_->aborted = why;
  }
  state_->added.notify_all();
}

void BatchScan::Clear() {
  std::lock_guard lock(state_->mu);
  state_->set = false;
  state_->formats.clear();
  state_->names.clear();
  state_->batches.clear();
  state_->next = 0;
  state_->finished = false;
  state_->aborted.reset();
}

// ---- Connection ----

Result<Connection> Connection::Open(const Database& db) {
  duckdb_connection conn = nullptr;
  if (duckdb_connect(db.handle(), &conn) != DuckDBSuccess) {
    return Error::Unavailable("duckdb: cannot connect to the database");
  }
  return Connection(conn);
}

Connection::Connection(Connection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_) duckdb_disconnect(&conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

Connection::~Connection() {
  if (conn_) duckdb_disconnect(&conn_);
}

Result<QueryResult> Connection::Query(const std::string& sql) {
  QueryResult result;
  duckdb_state state = duckdb_query(conn_, sql.c_str(), &result.result_);
  result.valid_ = true;
  if (state != DuckDBSuccess) {
    const char* error = duckdb_result_error(&result.result_);
    return Error::InvalidArgument("duckdb: " + std::string(error ? error : "query failed") +
                                  " in: " + Shorten(sql));
  }
  return result;
}

Status Connection::Execute(const std::string& sql) {
  MIGSBYU_ASSIGN(auto result, Query(sql));
  (void)result;
  return OkStatus();
}

Result<PreparedStatement> Connection::Prepare(const std::string& sql) {
  duckdb_prepared_statement stmt = nullptr;
  duckdb_state state = duckdb_prepare(conn_, sql.c_str(), &stmt);
  PreparedStatement prepared(stmt, sql);
  if (state != DuckDBSuccess) {
    const char* error = duckdb_prepare_error(stmt);
    return Error::InvalidArgument(
        "duckdb: cannot prepare: " + std::string(error ? error : "unknown error") +
        " in: " + Shorten(sql));
  }
  return prepared;
}

Result<Appender> Connection::MakeAppender(const std::string& table) {
  duckdb_appender appender = nullptr;
  duckdb_state state = duckdb_appender_create(conn_, nullptr, table.c_str(), &appender);
  Appender out(appender, table);
  if (state != DuckDBSuccess) {
    const char* error = appender ? duckdb_appender_error(appender) : nullptr;
    return Error::InvalidArgument("duckdb: cannot append to table " + table + ": " +
                                  (error ? error : "unknown error"));
  }
  return out;
}

void Connection::Interrupt() {
  if (conn_) duckdb_interrupt(conn_);
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace migsbyu::duck
