#include "lake/writer.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "common/log.h"

namespace migsbyu::lake {
namespace fs = std::filesystem;

namespace {

using Columns = std::vector<std::pair<std::string, std::string>>;

// Removes a file the lake no longer needs (garbage, a torn manifest, a rolled-back commit's
// data). A failure is logged, not returned: nothing reads the file, and the next garbage
// collection tries again.
void RemoveUnneeded(const fs::path& path) {
  std::error_code ec;
  if (!fs::remove(path, ec) && ec) {
    spdlog::warn("lake: cannot remove {}: {}", path.string(), ec.message());
  }
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status AppendValue(duck::Appender& app, const events::Column& column, const events::Value& v) {
  using events::ValueType;
  if (v.state != events::Value::State::kPresent) return app.AppendNull();
  switch (column.type) {
    case ValueType::kBool:
      return app.AppendBool(v.integer != 0);
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64:
      return app.AppendInt64(v.integer);
    case ValueType::kFloat64:
      return app.AppendDouble(v.real);
    case ValueType::kNumeric:
    case ValueType::kText:
      return app.AppendString(v.text);
    case ValueType::kDate:
      return app.AppendDate(static_cast<int32_t>(v.integer));
    case ValueType::kTimestamp:
      return app.AppendTimestamp(v.integer);
    case ValueType::kTimestampTz:
      return app.AppendTimestampTz(v.integer);
  }
  return app.AppendNull();
}

ValueSlot SlotOf(const events::Column& column) {
  using events::ValueType;
  switch (column.type) {
    case ValueType::kBool:
      return ValueSlot::kBool;
    case ValueType::kFloat64:
      return ValueSlot::kDouble;
    case ValueType::kNumeric:
      return DuckTypeOf(column).starts_with("DECIMAL") ? ValueSlot::kDecimal : ValueSlot::kString;
    case ValueType::kText:
      return ValueSlot::kString;
    default:
      return ValueSlot::kInteger;
  }
}

// The values of `image` into columns [first, first + slots.size()) of row `row`, each as its slot
// says; absent values (and a missing image) are left NULL.
Status FillImage(duck::ArrowBatch& batch, uint64_t first, uint64_t row,
                 const std::vector<ValueSlot>& slots, const std::optional<events::Row>& image) {
  if (!image) return OkStatus();
  const size_t n = std::min(slots.size(), image->size());
  for (size_t i = 0; i < n; ++i) {
    const events::Value& v = (*image)[i];
    if (v.state != events::Value::State::kPresent) continue;
    const uint64_t col = first + i;
    switch (slots[i]) {
      case ValueSlot::kBool:
        batch.SetBool(col, row, v.integer != 0);
        break;
      case ValueSlot::kInteger:
        batch.SetInteger(col, row, v.integer);
        break;
      case ValueSlot::kDouble:
        batch.SetDouble(col, row, v.real);
        break;
      case ValueSlot::kDecimal:
        MIGSBYU_TRY(batch.SetDecimal(col, row, v.text));
        break;
      case ValueSlot::kString:
        batch.SetString(col, row, v.text);
        break;
    }
  }
  return OkStatus();
}

Status AppendRow(duck::Appender& app, const events::TableSchema& schema,
                 const std::optional<events::Row>& row) {
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (!row || i >= row->size()) {
      MIGSBYU_TRY(app.AppendNull());
    } else {
      MIGSBYU_TRY(AppendValue(app, schema.columns[i], (*row)[i]));
    }
  }
  return OkStatus();
}

Status AppendOptionalInt(duck::Appender& app, const std::optional<int64_t>& v) {
  return v ? app.AppendInt64(*v) : app.AppendNull();
}

bool SameColumns(const events::TableSchema& a, const events::TableSchema& b) {
  if (&a == &b) return true;
  if (a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    if (a.columns[i].name != b.columns[i].name ||
        DuckTypeOf(a.columns[i]) != DuckTypeOf(b.columns[i])) {
      return false;
    }
  }
  return true;
}

constexpr const char* kParquetOptions = " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)";
// Rows of a buffered change log's Arrow batch: one row group of its file (ROW_GROUP_SIZE above).
// DuckDB's order-keeping COPY then encodes each batch as a row group as it is; smaller batches
// are first copied together into row groups, a second copy of every value.
constexpr uint64_t kBatchRows = 16384;

// The change log's columns, in file order: op, commit_lsn, lsn, position, xid, commit_time, the
// actor's (ActorColumns), then the before and after images.
constexpr uint64_t kImagesAt = 8;

// An optional string, or NULL.
Status AppendOptionalString(duck::Appender& app, const std::optional<std::string>& v) {
  return v ? app.AppendString(*v) : app.AppendNull();
}

// The actor columns of a row: changed_by, then origin (empty: not recorded, NULL).
Status AppendActor(duck::Appender& app, const Actor& actor) {
  MIGSBYU_TRY(AppendOptionalString(app, actor.user));
  return actor.origin.empty() ? app.AppendNull() : app.AppendString(actor.origin);
}

// How a column of `col`'s type is selected so that ReadValue can read it: dates as days and
// timestamps as µs since the epoch, as events::Value holds them.
std::string SelectAsValue(const events::Column& col, const std::string& name) {
  std::string q = duck::QuoteIdentifier(name);
  switch (col.type) {
    case events::ValueType::kDate:
      return "(" + q + " - DATE '1970-01-01')";
    case events::ValueType::kTimestamp:
    case events::ValueType::kTimestampTz:
      return "epoch_us(" + q + ")";
    default:
      return q;
  }
}

// The value in column `c` of row `r`, selected with SelectAsValue.
events::Value ReadValue(duck::QueryResult& rows, const events::Column& col, uint64_t c,
                        uint64_t r) {
  if (rows.IsNull(c, r)) return events::Value::Null();
  using events::ValueType;
  switch (col.type) {
    case ValueType::kBool:
      return events::Value::Integer(rows.GetBool(c, r));
    case ValueType::kFloat64:
      return events::Value::Real(rows.GetDouble(c, r));
    case ValueType::kNumeric:
    case ValueType::kText:
      return events::Value::Text(rows.GetString(c, r));
    default:
      return events::Value::Integer(rows.GetInt64(c, r));
  }
}

// The dimension bookkeeping columns after a version's values (docs/LAKE.md).
bool IsDimBookkeeping(const std::string& name) {
  static const std::set<std::string> kNames = {
      "row_effective_start", "row_effective_end", "current_row_indicator",
      "is_deleted",          "source_lsn",        "source_position",
      "source_xid",          "changed_by",        "origin"};
  return kNames.count(name) > 0;
}

// (commit_lsn, position) of a change.
Watermark MarkOf(const events::ChangeEvent& c) { return {c.commit_lsn.value(), c.position}; }

// The derived marks of a fact derived from every stored change: the known tables' watermarks.
std::map<std::string, Watermark> DerivedFromAll(const std::map<std::string, Watermark>& marks) {
  std::map<std::string, Watermark> derived;
  for (const auto& t : KnownTables()) {
    if (auto w = marks.find(t.name); w != marks.end()) derived[t.name] = w->second;
  }
  return derived;
}

}  // namespace

LakeWriter::LakeWriter(WriterOptions options, std::shared_ptr<Lake> lake, duck::Database db,
                       duck::Connection conn)
    : options_(std::move(options)),
      lake_(std::move(lake)),
      db_(std::move(db)),
      conn_(std::move(conn)) {}

LakeWriter::~LakeWriter() { AbortStream(); }

Result<std::unique_ptr<LakeWriter>> LakeWriter::Open(WriterOptions options,
                                                     std::shared_ptr<Lake> lake) {
  std::error_code ec;
  fs::create_directories(fs::path(options.dir) / kManifestDir, ec);
  if (ec)
    return Error::Internal("cannot create lake directory " + options.dir + ": " + ec.message());
  options.dir = fs::absolute(options.dir).lexically_normal().string();
  MIGSBYU_ASSIGN(auto db, duck::Database::Open(
                              ":memory:", {{"threads", std::to_string(options.duckdb_threads)}}));
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db));
  // Timestamps print in UTC whatever the machine's zone: without it every time read back would
  // be silently off.
  MIGSBYU_TRY(conn.Execute("SET TimeZone = 'UTC'"));
  std::unique_ptr<LakeWriter> w(
      new LakeWriter(std::move(options), std::move(lake), std::move(db), std::move(conn)));
  MIGSBYU_ASSIGN(w->batch_scan_, duck::BatchScan::Register(w->conn_, "lake_batches"));
  MIGSBYU_ASSIGN(auto stream_conn, duck::Connection::Open(w->db_));
  w->stream_conn_.emplace(std::move(stream_conn));
  MIGSBYU_ASSIGN(w->stream_scan_, duck::BatchScan::Register(*w->stream_conn_, "lake_stream"));
  const bool exclusive = w->options_.role == WriterRole::kExclusive;
  MIGSBYU_ASSIGN(auto lake_lock, FileLock::TryAcquire(LakeLockPath(w->options_.dir, "lake"),
                                                      exclusive ? FileLock::Mode::kExclusive
                                                                : FileLock::Mode::kShared));
  if (!lake_lock) {
    return Error::Conflict("lake " + w->options_.dir + " is being written by " +
                           (exclusive ? "other processes (`migsbyu lake consume`?)"
                                      : "a single writer (`migsbyu serve`, `cdc --sink lake:`)") +
                           "; see " + LakeLockPath(w->options_.dir, "lake"));
  }
  w->lake_lock_ = std::move(*lake_lock);
  if (w->options_.role == WriterRole::kDeriver) {
    w->owned_.datasets.insert(kFactDataset);
    w->owned_.deriver = true;
  }
  // Other writers may be committing: look at (and tidy) the manifests under the commit lock.
  std::optional<FileLock> commit;
  if (!exclusive) {
    MIGSBYU_ASSIGN(commit, w->LockCommit());
  }
  MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(w->options_.dir));
  if (latest) w->published_ = std::move(*latest);
  // Manifests above the latest parseable one are torn: remove them with the temporary files.
  for (const auto& entry : fs::directory_iterator(fs::path(w->options_.dir) / kManifestDir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) RemoveUnneeded(entry.path());
  }
  for (uint64_t v : ListManifestVersions(w->options_.dir)) {
    if (v > w->published_.version) {
      spdlog::warn("lake: removing torn manifest {}", ManifestPath(w->options_.dir, v));
      RemoveUnneeded(ManifestPath(w->options_.dir, v));
    }
  }
  commit.reset();
  if (w->lake_) w->lake_->Publish(w->published_);
  MIGSBYU_TRY(w->CollectGarbage());
  MIGSBYU_TRY(w->Restore());
  if (exclusive && !w->published_.derived.empty()) {
    // Written by several processes before, and the fact was not derived from every stored
    // change (its deriver stopped behind): a single writer carries on from a complete fact.
    if (w->published_.derived != DerivedFromAll(w->published_.watermarks)) {
      spdlog::warn("lake: the fact of {} was derived from only part of the changes; rebuilding it",
                   w->options_.dir);
      MIGSBYU_TRY(w->Rebuild());
    }
  }
  if (exclusive && w->options_.iceberg.enabled) {
    auto publisher = IcebergPublisher::Open(w->options_.dir, w->options_.iceberg,
                                            /*background=*/true);
    if (publisher.ok()) {
      w->iceberg_ = std::move(*publisher);
      // Tables behind the latest manifest (a crash before the last Iceberg point) catch up.
      if (w->published_.version > 0) w->iceberg_->Offer(w->published_);
    } else if (publisher.error().code() == ErrorCode::kInvalidArgument) {
      // A lake directory whose path an Iceberg location cannot hold (a space, '%', ...): the
      // lake works as before, without Iceberg tables.
      spdlog::warn("lake: no Iceberg tables for {}: {}", w->options_.dir,
                   publisher.error().message());
    } else {
      return publisher.error();
    }
  }
  return w;
}

Status LakeWriter::FlushIceberg() { return iceberg_ ? iceberg_->Drain() : OkStatus(); }

Status LakeWriter::InstallViews(const Manifest& m) {
  return conn_.Execute(Lake::ViewsSql(options_.dir, m, /*temporary=*/true));
}

Status LakeWriter::RestoreEntity(const KnownTable& t) {
  builder_->ForgetEntity(t.entity);
  auto next = published_.next_keys.find(t.entity);
  builder_->SetNextKey(t.entity, next == published_.next_keys.end() ? 1 : next->second);
  if (published_.version == 0) return OkStatus();
  if (t.generic) return RestoreGenericEntity(t);
  MIGSBYU_ASSIGN(auto rows, conn_.Query("SELECT id, " + t.KeyColumn() +
                                        ", epoch_us(row_effective_start) FROM " + t.DimName() +
                                        " WHERE current_row_indicator = 'yes'"));
  for (uint64_t r = 0; r < rows.RowCount(); ++r) {
    builder_->RestoreCurrent(t.entity, rows.GetString(0, r), rows.GetInt64(1, r),
                             rows.GetInt64(2, r));
  }
  return OkStatus();
}

Status LakeWriter::RestoreGenericEntity(const KnownTable& t) {
  if (published_.Files(t.DimName()).empty()) return OkStatus();
  const std::string dim = duck::QuoteIdentifier(t.DimName());
  MIGSBYU_ASSIGN(auto probe, conn_.Query("SELECT * FROM " + dim + " LIMIT 0"));
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = t.name;
  const auto& keys = dim_keys_[t.name];
  std::string select =
      "SELECT " + duck::QuoteIdentifier(t.KeyColumn()) + ", epoch_us(row_effective_start)";
  for (uint64_t c = 0; c < probe.ColumnCount(); ++c) {
    std::string name = probe.ColumnName(c);
    if (name == t.KeyColumn() || IsDimBookkeeping(name)) continue;
    events::Column col = ColumnFromDuckType(name, probe.ColumnTypeName(c));
    col.key = std::find(keys.begin(), keys.end(), name) != keys.end();
    select += ", " + SelectAsValue(col, name);
    schema->columns.push_back(std::move(col));
  }
  MIGSBYU_ASSIGN(auto rows,
                 conn_.Query(select + " FROM " + dim + " WHERE current_row_indicator = 'yes'"));
  for (uint64_t r = 0; r < rows.RowCount(); ++r) {
    events::Row values(schema->columns.size());
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = ReadValue(rows, schema->columns[i], 2 + i, r);
    }
    MIGSBYU_TRY(builder_->RestoreCurrentVersion(schema, std::move(values), rows.GetInt64(0, r),
                                                rows.GetInt64(1, r)));
  }
  return OkStatus();
}

std::vector<const KnownTable*> LakeWriter::Dimensions() const {
  std::vector<const KnownTable*> dims;
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty()) dims.push_back(&t);
  }
  for (const auto& [name, keys] : dim_keys_) {
    const KnownTable* t = CapturedDimension(name);
    if (t && t->generic) dims.push_back(t);
  }
  return dims;
}

Status LakeWriter::Restore() {
  builder_ = std::make_unique<ScdBuilder>(this, options_.tracked);
  for (const auto& [entity, next] : published_.next_keys) builder_->SetNextKey(entity, next);
  tables_.clear();  // it points into watermarks_ and changes_
  watermarks_ = published_.watermarks;
  partition_watermarks_ = published_.partition_watermarks;
  dim_keys_ = published_.dimension_keys;
  caught_up_ = published_.caught_up;
  derived_ = published_.derived;
  end_lsn_ = published_.end_lsn;
  commit_lsn_ = published_.commit_lsn;
  commit_time_us_ = published_.commit_time_us;
  snapshot_progress_ = published_.snapshot_progress;
  values_known_ = false;
  if (published_.version == 0) return OkStatus();
  MIGSBYU_TRY(InstallViews(published_));
  if (options_.role == WriterRole::kDeriver) {
    // The builder's state at the published fact: replay what it was derived from, keeping
    // nothing of what that emits (those rows are in the lake already).
    if (derived_.empty() && !published_.Files(kFactDataset).empty()) {
      // A lake a single writer wrote before manifests had derived marks: that writer derived
      // the fact from every change it stored.
      derived_ = DerivedFromAll(watermarks_);
    }
    builder_ = std::make_unique<ScdBuilder>(this, options_.tracked);
    suppress_output_ = true;
    Status replayed = ReplayChangeLogs({}, derived_, Watermark{0, 0}, nullptr);
    suppress_output_ = false;
    derived_from_version_ = 0;
    return replayed;
  }
  for (const KnownTable* dim : Dimensions()) {
    if (options_.role == WriterRole::kExclusive || owned_.entities.count(dim->entity)) {
      MIGSBYU_TRY(RestoreEntity(*dim));
    }
  }
  for (const auto& t : KnownTables()) {
    if (!t.entity.empty()) continue;
    if (options_.role != WriterRole::kExclusive) continue;  // the fact is the deriver's
    // takes / teaches: the rows present now = net of +after / −before since the last truncate.
    const std::string person = t.columns[0].name;
    const std::string changes = ChangesDataset(t.name);
    MIGSBYU_ASSIGN(auto trunc, conn_.Query("SELECT commit_lsn, position FROM " + changes +
                                           " WHERE op = 't' ORDER BY commit_lsn DESC, "
                                           "position DESC LIMIT 1"));
    uint64_t t_lsn = trunc.RowCount() ? trunc.GetUint64(0, 0) : 0;
    uint64_t t_pos = trunc.RowCount() ? trunc.GetUint64(1, 0) : 0;
    bool has_trunc = trunc.RowCount() > 0;
    std::string after_cut = has_trunc
                                ? " AND (commit_lsn > $1 OR (commit_lsn = $1 AND position > $2))"
                                : " AND $1::UBIGINT IS NOT NULL AND $2::UBIGINT IS NOT NULL";
    MIGSBYU_ASSIGN(
        auto stmt,
        conn_.Prepare("SELECT p, c, s FROM (SELECT after_" + person +
                      " AS p, after_course_id AS c, after_semester AS s, 1 AS n FROM " + changes +
                      " WHERE op IN ('r', 'c', 'u')" + after_cut + " UNION ALL SELECT before_" +
                      person + ", before_course_id, before_semester, -1 FROM " + changes +
                      " WHERE op IN ('u', 'd')" + after_cut +
                      ") GROUP BY p, c, s HAVING sum(n) > 0"));
    MIGSBYU_TRY(stmt.BindUint64(1, t_lsn));
    MIGSBYU_TRY(stmt.BindUint64(2, t_pos));
    MIGSBYU_ASSIGN(auto rows, stmt.Execute());
    for (uint64_t r = 0; r < rows.RowCount(); ++r) {
      if (t.name == "takes") {
        builder_->RestoreEnrollment(rows.GetString(0, r), rows.GetString(1, r),
                                    rows.GetString(2, r));
      } else {
        builder_->RestoreAssignment(rows.GetString(0, r), rows.GetString(1, r),
                                    rows.GetString(2, r));
      }
    }
  }
  return OkStatus();
}

Status LakeWriter::Reset() {
  AbortStream();
  for (const auto& [dataset, files] : pending_) {
    for (const auto& f : files) RemoveUnneeded(fs::path(options_.dir) / f.path);
  }
  pending_.clear();
  changes_.clear();
  versions_.clear();
  buffered_index_.clear();
  closes_.clear();
  fact_.clear();
  buffered_rows_ = 0;
  dirty_ = false;
  in_transaction_ = false;
  oldest_unpublished_.reset();
  return Restore();
}

// ---- the sink protocol ----

Status LakeWriter::Begin(const events::TransactionInfo& tx) {
  if (in_transaction_) {
    spdlog::warn("lake: transaction before commit LSN {} did not commit; dropping unpublished work",
                 tx.commit_lsn.ToString());
    MIGSBYU_TRY(Reset());
  }
  // Only the connector's snapshots say which tables they copy; a Kafka source hands a snapshot
  // over in many pieces, which are stored as they come.
  const bool reconcile =
      tx.snapshot && !tx.snapshot_tables.empty() && options_.role == WriterRole::kExclusive;
  if (reconcile) MIGSBYU_TRY(BeginReconcile());
  // An incremental snapshot's chunk reconciles its rows with the current versions.
  const bool chunk = tx.snapshot_chunk && options_.role == WriterRole::kExclusive;
  if (chunk) MIGSBYU_TRY(KnowCurrentValues());
  pass_end_tx_ = false;
  pass_untouched_.clear();
  pass_read_.clear();
  if (chunk && tx.pass_end && tx.chunk_table) {
    MIGSBYU_ASSIGN(bool published, Publish());
    (void)published;
    MIGSBYU_ASSIGN(auto keys, KeysUntouchedSince(*tx.chunk_table, tx.pass_start));
    for (auto& key : keys)
      pass_untouched_.emplace(events::KeyText(*tx.chunk_table, key), std::move(key));
    pass_end_tx_ = true;
  }
  in_transaction_ = true;
  applied_in_transaction_ = 0;
  snapshot_tx_ = reconcile;
  last_position_ = 0;
  return OkStatus();
}

Status LakeWriter::Apply(const events::ChangeEvent& change) {
  if (!in_transaction_) {
    return Error::InvalidArgument("lake: change at " + change.lsn.ToString() +
                                  " outside a transaction");
  }
  if (options_.role != WriterRole::kExclusive && !owned_.tables.count(change.table->name)) {
    return Error::Conflict("lake: change of table " + change.table->name + " at " +
                           change.lsn.ToString() +
                           ", which this process does not own (another member writes it)");
  }
  last_position_ = std::max(last_position_, change.position);
  if (pass_end_tx_ && change.op == events::Operation::kRead && change.after) {
    pass_read_.insert(events::KeyText(*change.table, *change.after));
  }
  TableState& state = StateOf(change.table);
  const Watermark mark = MarkOf(change);
  if (change.source_partition >= 0) {
    // Read from Kafka: each partition is in commit order, the partitions are not with each
    // other, so a redelivery is recognised by its partition's mark; the table's watermark is
    // the greatest of them (what the safe point and the derived marks read).
    auto& parts = partition_watermarks_[change.table->name];
    auto [part, added] = parts.try_emplace(change.source_partition);
    if (added && parts.size() == 1) {
      // A lake written before partition marks: its table watermark was the one partition's.
      if (auto w = watermarks_.find(change.table->name); w != watermarks_.end()) {
        part->second = w->second;
      }
    }
    if (mark <= part->second) return OkStatus();
    part->second = mark;
    if (!state.mark) {
      auto [it, fresh] = watermarks_.try_emplace(change.table->name, mark);
      state.mark = &it->second;
      if (!fresh) it->second = std::max(it->second, mark);
    } else {
      *state.mark = std::max(*state.mark, mark);
    }
  } else if (!state.mark) {
    auto [it, added] = watermarks_.try_emplace(change.table->name, mark);
    state.mark = &it->second;
    if (!added && mark <= it->second) return OkStatus();
    it->second = mark;
  } else if (mark <= *state.mark) {
    return OkStatus();
  } else {
    *state.mark = mark;
  }
  ++applied_in_transaction_;

  // An unchanged TOAST value in the after image is the before image's value. Only then is the
  // change copied; otherwise it is read in place.
  const events::ChangeEvent* stored = &change;
  std::optional<events::ChangeEvent> resolved;
  if (change.after && change.before &&
      std::any_of(change.after->begin(), change.after->end(), [](const events::Value& v) {
        return v.state == events::Value::State::kUnchangedToast;
      })) {
    resolved = change;
    for (size_t i = 0; i < resolved->after->size() && i < resolved->before->size(); ++i) {
      if ((*resolved->after)[i].state == events::Value::State::kUnchangedToast) {
        (*resolved->after)[i] = (*resolved->before)[i];
      }
    }
    stored = &*resolved;
  }
  // The builder reads the tables with dimensions or links (the contract's, and any other with a
  // primary key), and in a group only those whose dimensions this writer derives (Builds). The
  // change is buffered first: a value the change log cannot hold fails it before the builder
  // makes a version of it, which could not be written either.
  if (!replaying_) MIGSBYU_TRY(BufferChange(*stored, *state.buffer));
  if (state.builds) MIGSBYU_TRY(builder_->Apply(*stored));
  if (buffered_rows_ >= options_.spill_rows) MIGSBYU_TRY(SpillAll());
  return OkStatus();
}

LakeWriter::TableState& LakeWriter::StateOf(
    const std::shared_ptr<const events::TableSchema>& schema) {
  auto it = tables_.find(schema.get());
  if (it != tables_.end()) return it->second;
  // Each schema change brings a new TableSchema: forget the old ones now and then.
  if (tables_.size() >= 64) tables_.clear();
  TableState& state = tables_[schema.get()];
  state.schema = schema;
  auto mark = watermarks_.find(schema->name);
  state.mark = mark == watermarks_.end() ? nullptr : &mark->second;
  state.buffer = &changes_[schema->name];
  if (FindKnownTable(schema->name)) {
    state.builds = Builds(schema->name);
  } else if (const KnownTable* dim = CapturedDimension(schema->name)) {
    // A table outside the contract has a dimension keyed by its primary key, recorded in the
    // manifest so that a rebuild and a restart key it alike.
    std::vector<std::string> keys;
    for (const auto& c : schema->columns) {
      if (c.key) keys.push_back(c.name);
    }
    if (!keys.empty() && Builds(schema->name)) {
      auto& known = dim_keys_[dim->name];
      if (known != keys) {
        if (!known.empty()) {
          auto list = [](const std::vector<std::string>& names) {
            std::string text;
            for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
            return text;
          };
          spdlog::warn(
              "lake: the primary key of {} changed from ({}) to ({}); its dimension "
              "keys later versions by the new one",
              dim->name, list(known), list(keys));
        }
        known = keys;
      }
      state.builds = true;
    }
  }
  return state;
}

Status LakeWriter::Commit(const events::TransactionInfo& tx) {
  if (!in_transaction_) {
    return Error::InvalidArgument("lake: commit at " + tx.commit_lsn.ToString() + " without Begin");
  }
  if (snapshot_tx_) {
    // The keys current in the lake that the snapshot lacks were deleted meanwhile.
    for (const auto& deletion :
         builder_->SnapshotDeletes(tx, tx.snapshot_tables, last_position_ + 1)) {
      MIGSBYU_TRY(Apply(deletion));
    }
    snapshot_tx_ = false;
  }
  if (pass_end_tx_) {
    // Nothing read these keys during the pass and the stream did not change them: they were
    // deleted while the lake did not hear of it. Closed in key order, after the chunk's rows.
    pass_end_tx_ = false;
    uint64_t position = last_position_ + 1;
    for (auto& [text, key] : pass_untouched_) {
      if (pass_read_.count(text)) continue;
      events::ChangeEvent e;
      e.op = events::Operation::kDelete;
      e.table = tx.chunk_table;
      e.before = std::move(key);
      e.commit_lsn = tx.commit_lsn;
      e.lsn = tx.commit_lsn;
      e.position = position++;
      e.xid = tx.xid;
      e.commit_time_us = tx.commit_time_us;
      e.actor = Actor::Snapshot();
      MIGSBYU_TRY(Apply(e));
    }
    pass_untouched_.clear();
    pass_read_.clear();
  }
  in_transaction_ = false;
  // A transaction that stored changes must be published even when its end LSN is not the
  // highest seen (the Kafka source hands over each topic's part of a transaction separately).
  bool stored = applied_in_transaction_ > 0;
  applied_in_transaction_ = 0;
  if (tx.snapshot_progress && *tx.snapshot_progress != snapshot_progress_) {
    snapshot_progress_ = *tx.snapshot_progress;
    stored = true;
  }
  if (tx.end_lsn > end_lsn_) {
    end_lsn_ = tx.end_lsn;
    commit_lsn_ = tx.commit_lsn;
    commit_time_us_ = tx.commit_time_us;
    stored = true;
  }
  if (stored) {
    dirty_ = true;
    if (!oldest_unpublished_) oldest_unpublished_ = std::chrono::steady_clock::now();
  }
  return OkStatus();
}

std::optional<std::chrono::steady_clock::time_point> LakeWriter::OldestUnpublished() const {
  return oldest_unpublished_;
}

// ---- builder output ----

Status LakeWriter::BeginReconcile() {
  values_known_ = false;  // the whole snapshot replays, as it always did
  MIGSBYU_TRY(KnowCurrentValues());
  builder_->BeginSnapshot();
  return OkStatus();
}

Status LakeWriter::KnowCurrentValues() {
  if (values_known_) return OkStatus();
  MIGSBYU_ASSIGN(bool published, Publish());
  (void)published;
  values_known_ = true;  // also after a failed replay: it is not tried at every chunk
  if (published_.version > 0) {
    // Restored state knows the current versions' keys, not their values: replaying the change
    // log gives the builder both, as a rebuild would, with nothing written. The views must show
    // what this process published since it opened, or the replay would stop short of it.
    MIGSBYU_TRY(InstallViews(published_));
    auto builder = std::make_unique<ScdBuilder>(this, options_.tracked);
    std::swap(builder, builder_);
    suppress_output_ = true;
    Status replayed = ReplayChangeLogs({}, watermarks_, Watermark{0, 0}, nullptr);
    suppress_output_ = false;
    // An entity that never had a version is absent from the manifest and at key 1 here.
    bool same_keys = true;
    for (const auto& [entity, next] : builder_->next_keys()) {
      auto p = published_.next_keys.find(entity);
      same_keys = same_keys && next == (p == published_.next_keys.end() ? 1 : p->second);
    }
    if (!replayed.ok() || !same_keys) {
      spdlog::warn(
          "lake: the change log does not replay to the published state ({}); the "
          "snapshot makes a version for every row",
          replayed.ok() ? "other surrogate keys" : replayed.error().ToString());
      std::swap(builder, builder_);
    }
  }
  return OkStatus();
}

Result<std::vector<events::Row>> LakeWriter::KeysUntouchedSince(const events::TableSchema& schema,
                                                                Lsn since) {
  std::vector<events::Row> out;
  const std::string changes = ChangesDataset(schema.name);
  if (published_.Files(changes).empty()) return out;
  MIGSBYU_TRY(InstallViews(published_));
  std::vector<size_t> key_columns;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].key) key_columns.push_back(i);
  }
  if (key_columns.empty()) return out;
  std::string after_keys, before_keys, names;
  for (size_t n = 0; n < key_columns.size(); ++n) {
    const auto& c = schema.columns[key_columns[n]];
    const std::string k = "k" + std::to_string(n);
    after_keys += SelectAsValue(c, "after_" + c.name) + " AS " + k + ", ";
    before_keys += SelectAsValue(c, "before_" + c.name) + " AS " + k + ", ";
    names += (n ? ", " : "") + k;
  }
  MIGSBYU_ASSIGN(auto trunc, conn_.Query("SELECT commit_lsn, position FROM " + changes +
                                         " WHERE op = 't' ORDER BY commit_lsn DESC, "
                                         "position DESC LIMIT 1"));
  const uint64_t t_lsn = trunc.RowCount() ? trunc.GetUint64(0, 0) : 0;
  const uint64_t t_pos = trunc.RowCount() ? trunc.GetUint64(1, 0) : 0;
  // Each change says of its after key "present" and of a before key it leaves "gone"; an
  // update that keeps its key says both at one position, and "present" (side 1) wins.
  MIGSBYU_ASSIGN(
      auto stmt,
      conn_.Prepare("WITH ev AS (SELECT " + after_keys + "commit_lsn, position, 1 AS side FROM " +
                    changes + " WHERE op IN ('r', 'c', 'u') UNION ALL SELECT " + before_keys +
                    "commit_lsn, position, 0 AS side FROM " + changes +
                    " WHERE op IN ('u', 'd')), last AS (SELECT *, row_number() OVER "
                    "(PARTITION BY " +
                    names +
                    " ORDER BY commit_lsn DESC, position DESC, side DESC) AS rn FROM ev) "
                    "SELECT " +
                    names +
                    " FROM last WHERE rn = 1 AND side = 1 AND commit_lsn < $1 "
                    "AND (commit_lsn > $2 OR (commit_lsn = $2 AND position > $3)) ORDER BY " +
                    names));
  MIGSBYU_TRY(stmt.BindUint64(1, since.value()));
  MIGSBYU_TRY(stmt.BindUint64(2, t_lsn));
  MIGSBYU_TRY(stmt.BindUint64(3, t_pos));
  MIGSBYU_ASSIGN(auto rows, stmt.Execute());
  for (uint64_t r = 0; r < rows.RowCount(); ++r) {
    events::Row row(schema.columns.size());
    for (size_t n = 0; n < key_columns.size(); ++n) {
      if (rows.IsNull(n, r)) continue;
      auto& v = row[key_columns[n]];
      switch (schema.columns[key_columns[n]].type) {
        case events::ValueType::kBool:
          v = events::Value::Integer(rows.GetBool(n, r));
          break;
        case events::ValueType::kFloat64:
          v = events::Value::Real(rows.GetDouble(n, r));
          break;
        case events::ValueType::kNumeric:
        case events::ValueType::kText:
          v = events::Value::Text(rows.GetString(n, r));
          break;
        default:
          v = events::Value::Integer(rows.GetInt64(n, r));
          break;
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

Status LakeWriter::OnVersion(DimVersion version) {
  // The deriver's dimensions only give the fact its keys; the tables' owners write them.
  if (options_.role == WriterRole::kDeriver || suppress_output_) return OkStatus();
  auto& list = versions_[version.table];
  buffered_index_[version.table][version.key] = list.size();
  list.push_back(std::move(version));
  ++buffered_rows_;
  return OkStatus();
}

Status LakeWriter::OnClose(const DimClose& close) {
  if (options_.role == WriterRole::kDeriver || suppress_output_) return OkStatus();
  auto& index = buffered_index_[close.table];
  auto it = index.find(close.key);
  if (it != index.end()) {
    DimVersion& v = versions_[close.table][it->second];
    v.end_us = close.end_us;
    v.is_deleted = close.is_deleted;
    index.erase(it);
    return OkStatus();
  }
  closes_[close.table].push_back(close);
  ++buffered_rows_;
  return OkStatus();
}

Status LakeWriter::OnFact(FactRow row) {
  if (suppress_output_) return OkStatus();
  fact_.push_back(std::move(row));
  ++buffered_rows_;
  return OkStatus();
}

// ---- writing files ----

std::string LakeWriter::NewFilePath(const std::string& dataset) {
  char name[64];
  snprintf(name, sizeof name, "part-%08llu-%04llu.parquet",
           static_cast<unsigned long long>(published_.version + 1),
           static_cast<unsigned long long>(file_seq_++));
  return dataset + "/" + name;
}

Result<DataFile> LakeWriter::CopyToFile(const std::string& dataset, const std::string& select_sql) {
  std::error_code ec;
  fs::create_directories(fs::path(options_.dir) / dataset, ec);
  DataFile file{NewFilePath(dataset), 0};
  std::string abs = (fs::path(options_.dir) / file.path).string();
  MIGSBYU_ASSIGN(auto copied, conn_.Query("COPY (" + select_sql + ") TO " + duck::QuoteString(abs) +
                                          kParquetOptions));
  file.rows = copied.RowsChanged();
  MIGSBYU_TRY(SyncPath(abs));
  return file;
}

Status LakeWriter::StageAndCopy(const std::string& dataset, const Columns& columns,
                                const std::function<Status(duck::Appender&)>& append) {
  std::string ddl = "CREATE OR REPLACE TEMP TABLE lake_stage (";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) ddl += ", ";
    ddl += duck::QuoteIdentifier(columns[i].first) + " " + columns[i].second;
  }
  MIGSBYU_TRY(conn_.Execute(ddl + ")"));
  {
    MIGSBYU_ASSIGN(auto app, conn_.MakeAppender("lake_stage"));
    MIGSBYU_TRY(append(app));
    MIGSBYU_TRY(app.Close());
  }
  MIGSBYU_ASSIGN(DataFile file, CopyToFile(dataset, "SELECT * FROM lake_stage"));
  MIGSBYU_TRY(conn_.Execute("DROP TABLE lake_stage"));
  pending_[dataset].push_back(std::move(file));
  return OkStatus();
}

Status LakeWriter::WriteFile(const std::string& dataset, const Columns& columns, size_t rows,
                             const std::function<Status(duck::Appender&, size_t)>& fill) {
  if (rows == 0) return OkStatus();
  return StageAndCopy(dataset, columns, [&](duck::Appender& app) -> Status {
    for (size_t r = 0; r < rows; ++r) {
      MIGSBYU_TRY(fill(app, r));
      MIGSBYU_TRY(app.EndRow());
    }
    return OkStatus();
  });
}

Status LakeWriter::BufferChange(const events::ChangeEvent& change, ChangeBuffer& buffer) {
  const std::string& table = change.table->name;
  if (buffer.schema != change.table) {
    if (buffer.schema && !SameColumns(*buffer.schema, *change.table)) {
      MIGSBYU_TRY(SpillChanges(table));
    }
    if (buffer.rows > 0) {
      buffer.schema = change.table;  // the same columns
    } else {
      if (!buffer.schema || !SameColumns(*buffer.schema, *change.table)) buffer.spare.clear();
      buffer.schema = change.table;
      RecycleBatches(buffer);  // at most a batch holding a row that failed
      buffer.filled = 0;
      buffer.columns = {{"op", "VARCHAR"},  {"commit_lsn", "UBIGINT"},
                        {"lsn", "UBIGINT"}, {"position", "UBIGINT"},
                        {"xid", "UBIGINT"}, {"commit_time", "TIMESTAMPTZ"}};
      for (const auto& c : ActorColumns()) buffer.columns.push_back(c);
      for (const char* side : {"before_", "after_"}) {
        for (const auto& c : buffer.schema->columns) {
          buffer.columns.emplace_back(side + c.name, DuckTypeOf(c));
        }
      }
      buffer.slots.clear();
      for (const auto& c : buffer.schema->columns) buffer.slots.push_back(SlotOf(c));
    }
  }
  if (buffer.batches.empty() || buffer.filled == kBatchRows) {
    if (!buffer.spare.empty()) {
      buffer.batches.push_back(std::move(buffer.spare.back()));
      buffer.spare.pop_back();
    } else {
      std::vector<std::string> types;
      for (const auto& c : buffer.columns) types.push_back(c.second);
      MIGSBYU_ASSIGN(auto batch, duck::ArrowBatch::Create(types, kBatchRows));
      buffer.batches.push_back(std::move(batch));
    }
    buffer.filled = 0;
  }
  duck::ArrowBatch& batch = buffer.batches.back();
  const uint64_t row = buffer.filled;
  const uint64_t n = buffer.slots.size();
  char op = static_cast<char>(change.op);
  batch.SetString(0, row, std::string_view(&op, 1));
  batch.SetInteger(1, row, static_cast<int64_t>(change.commit_lsn.value()));
  batch.SetInteger(2, row, static_cast<int64_t>(change.lsn.value()));
  batch.SetInteger(3, row, static_cast<int64_t>(change.position));
  batch.SetInteger(4, row, change.xid);
  batch.SetInteger(5, row, change.commit_time_us);
  if (change.actor.user) batch.SetString(6, row, *change.actor.user);
  if (!change.actor.origin.empty()) batch.SetString(7, row, change.actor.origin);
  Status filled = FillImage(batch, kImagesAt, row, buffer.slots, change.before);
  if (filled.ok()) filled = FillImage(batch, kImagesAt + n, row, buffer.slots, change.after);
  if (!filled.ok()) {
    // The row is not counted, so the next change fills it again.
    batch.Truncate(row);
    return Error::InvalidArgument("lake: " + table + " change at " + change.lsn.ToString() + ": " +
                                  filled.error().ToString());
  }
  ++buffer.filled;
  ++buffer.rows;
  ++buffered_rows_;
  if (buffer.streamed && buffer.filled == kBatchRows) {
    batch.SetSize(buffer.filled);
    stream_scan_.Add(&batch);
  }
  // The first table to buffer rows while no COPY streams gets the streaming COPY.
  if (buffer.rows == 1 && !stream_) MIGSBYU_TRY(StartStream(table, buffer));
  return OkStatus();
}

void LakeWriter::RecycleBatches(ChangeBuffer& buffer) {
  const size_t keep = options_.spill_rows / kBatchRows + 1;
  for (auto& batch : buffer.batches) {
    if (buffer.spare.size() >= keep) break;
    batch.Reset();
    buffer.spare.push_back(std::move(batch));
  }
  buffer.batches.clear();
}

Status LakeWriter::StartStream(const std::string& table, ChangeBuffer& buffer) {
  std::vector<std::string> names;
  for (const auto& c : buffer.columns) names.push_back(c.first);
  MIGSBYU_TRY(stream_scan_.Start(buffer.batches.front(), std::move(names)));
  std::error_code ec;
  fs::create_directories(fs::path(options_.dir) / ChangesDataset(table), ec);
  stream_.emplace();
  stream_->table = table;
  stream_->file = {NewFilePath(ChangesDataset(table)), 0};
  std::string abs = (fs::path(options_.dir) / stream_->file.path).string();
  buffer.streamed = true;
  stream_->thread = std::thread([this, abs] {
    auto copied = stream_conn_->Query("COPY (SELECT * FROM lake_stream) TO " +
                                      duck::QuoteString(abs) + kParquetOptions);
    if (!copied.ok()) {
      stream_->status = copied.error();
      return;
    }
    stream_->file.rows = copied->RowsChanged();
    stream_->status = SyncPath(abs);
  });
  return OkStatus();
}

Result<DataFile> LakeWriter::FinishStream() {
  stream_scan_.Finish();
  stream_->thread.join();
  stream_scan_.Clear();
  StreamingCopy done = std::move(*stream_);
  stream_.reset();
  changes_[done.table].streamed = false;
  if (!done.status.ok()) {
    RemoveUnneeded(fs::path(options_.dir) / done.file.path);
    return done.status.error();
  }
  return done.file;
}

void LakeWriter::AbortStream() {
  if (!stream_) return;
  stream_scan_.Abort("lake: the buffered changes of " + stream_->table + " were dropped");
  stream_->thread.join();
  stream_scan_.Clear();
  RemoveUnneeded(fs::path(options_.dir) / stream_->file.path);
  auto buffer = changes_.find(stream_->table);
  if (buffer != changes_.end()) buffer->second.streamed = false;
  stream_.reset();
}

Status LakeWriter::SpillChanges(const std::string& table) {
  auto& buffer = changes_[table];
  if (buffer.rows == 0) return OkStatus();
  // Straight from the batches into the COPY: no staging table, no second copy of the rows. The
  // arrow scan numbers the batches, so DuckDB encodes row groups on all its threads and still
  // writes them in commit order.
  const bool streamed = buffer.streamed;
  duck::BatchScan& scan = streamed ? stream_scan_ : batch_scan_;
  if (!streamed) {
    std::vector<std::string> names;
    for (const auto& c : buffer.columns) names.push_back(c.first);
    MIGSBYU_TRY(scan.Start(buffer.batches.front(), std::move(names)));
    for (size_t i = 0; i + 1 < buffer.batches.size(); ++i) {
      buffer.batches[i].SetSize(kBatchRows);
      scan.Add(&buffer.batches[i]);
    }
  }
  if (!streamed || buffer.filled < kBatchRows) {
    buffer.batches.back().SetSize(buffer.filled);  // full ones were handed over as they filled
    scan.Add(&buffer.batches.back());
  }
  Result<DataFile> file = Error::Internal("not written");
  if (streamed) {
    file = FinishStream();
  } else {
    scan.Finish();
    file = CopyToFile(ChangesDataset(table), "SELECT * FROM lake_batches");
    scan.Clear();
  }
  if (!file.ok()) return file.error();
  pending_[ChangesDataset(table)].push_back(std::move(*file));
  buffered_rows_ -= buffer.rows;
  RecycleBatches(buffer);
  buffer.filled = 0;
  buffer.rows = 0;
  return OkStatus();
}

Status LakeWriter::SpillDims() {
  for (auto& [table, list] : versions_) {
    // One file per run of versions with the same columns (a column added mid-stream).
    size_t begin = 0;
    while (begin < list.size()) {
      size_t end = begin + 1;
      while (end < list.size() && SameColumns(*list[end].schema, *list[begin].schema)) ++end;
      const auto& schema = *list[begin].schema;
      Columns cols = {{table->KeyColumn(), "BIGINT"}};
      for (const auto& c : schema.columns) cols.emplace_back(c.name, DuckTypeOf(c));
      for (auto [n, t] : Columns{{"row_effective_start", "TIMESTAMPTZ"},
                                 {"row_effective_end", "TIMESTAMPTZ"},
                                 {"current_row_indicator", "VARCHAR"},
                                 {"is_deleted", "BOOLEAN"},
                                 {"source_lsn", "UBIGINT"},
                                 {"source_position", "UBIGINT"},
                                 {"source_xid", "UBIGINT"}}) {
        cols.emplace_back(n, t);
      }
      for (const auto& c : ActorColumns()) cols.push_back(c);
      MIGSBYU_TRY(WriteFile(
          table->DimName(), cols, end - begin, [&](duck::Appender& app, size_t r) -> Status {
            const auto& v = list[begin + r];
            MIGSBYU_TRY(app.AppendInt64(v.key));
            MIGSBYU_TRY(AppendRow(app, *v.schema, v.values));
            MIGSBYU_TRY(app.AppendTimestampTz(v.start_us));
            MIGSBYU_TRY(app.AppendTimestampTz(v.end_us));
            MIGSBYU_TRY(app.AppendString(v.end_us == kEndOfTimeUs ? "yes" : "no"));
            MIGSBYU_TRY(app.AppendBool(v.is_deleted));
            MIGSBYU_TRY(app.AppendUint64(v.source_lsn));
            MIGSBYU_TRY(app.AppendUint64(v.source_position));
            MIGSBYU_TRY(app.AppendUint64(v.source_xid));
            return AppendActor(app, v.actor);
          }));
      begin = end;
    }
    buffered_rows_ -= list.size();
    list.clear();
    buffered_index_[table].clear();
  }
  for (auto& [table, list] : closes_) {
    MIGSBYU_TRY(WriteFile(ClosesDataset(*table),
                          {{table->KeyColumn(), "BIGINT"},
                           {"row_effective_end", "TIMESTAMPTZ"},
                           {"is_deleted", "BOOLEAN"},
                           {"source_lsn", "UBIGINT"},
                           {"source_position", "UBIGINT"}},
                          list.size(), [&](duck::Appender& app, size_t r) -> Status {
                            const auto& c = list[r];
                            MIGSBYU_TRY(app.AppendInt64(c.key));
                            MIGSBYU_TRY(app.AppendTimestampTz(c.end_us));
                            MIGSBYU_TRY(app.AppendBool(c.is_deleted));
                            MIGSBYU_TRY(app.AppendUint64(c.source_lsn));
                            return app.AppendUint64(c.source_position);
                          }));
    buffered_rows_ -= list.size();
    list.clear();
  }
  return OkStatus();
}

Status LakeWriter::SpillFact() {
  // The appends below follow FactColumns()' order.
  MIGSBYU_TRY(WriteFile(kFactDataset, FactColumns(), fact_.size(),
                        [&](duck::Appender& app, size_t r) -> Status {
                          const auto& f = fact_[r];
                          MIGSBYU_TRY(AppendOptionalInt(app, f.student_key));
                          MIGSBYU_TRY(AppendOptionalInt(app, f.professor_key));
                          MIGSBYU_TRY(AppendOptionalInt(app, f.course_key));
                          MIGSBYU_TRY(app.AppendString(f.semester));
                          MIGSBYU_TRY(app.AppendInt32(f.count));
                          MIGSBYU_TRY(app.AppendTimestampTz(f.event_time_us));
                          MIGSBYU_TRY(app.AppendUint64(f.source_lsn));
                          MIGSBYU_TRY(app.AppendUint64(f.source_position));
                          MIGSBYU_TRY(app.AppendString(f.student_id));
                          MIGSBYU_TRY(AppendOptionalString(app, f.professor_id));
                          return app.AppendString(f.course_id);
                        }));
  buffered_rows_ -= fact_.size();
  fact_.clear();
  return OkStatus();
}

Status LakeWriter::SpillAll() {
  for (auto& [table, buffer] : changes_) MIGSBYU_TRY(SpillChanges(table));
  MIGSBYU_TRY(SpillDims());
  return SpillFact();
}

// ---- committing ----

Status LakeWriter::CommitManifest(Manifest next) {
  next.version = published_.version + 1;
  next.written_at_us = NowMicros();
  std::set<std::string> dirs;
  for (const auto& [dataset, files] : next.datasets) {
    if (!files.empty() && Owns(dataset)) dirs.insert(dataset);
  }
  for (const auto& d : dirs) {
    std::error_code ec;
    if (fs::exists(fs::path(options_.dir) / d, ec)) {
      MIGSBYU_TRY(SyncPath((fs::path(options_.dir) / d).string()));
    }
  }
  std::optional<FileLock> commit;
  if (options_.role != WriterRole::kExclusive) {
    // Other writers commit too: merge what this one owns into the latest manifest.
    MIGSBYU_ASSIGN(commit, LockCommit());
    MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(options_.dir));
    Manifest base = latest ? std::move(*latest) : Manifest{};
    Manifest merged = MergeOwned(base, next, owned_);
    merged.version = base.version + 1;
    merged.written_at_us = next.written_at_us;
    next = std::move(merged);
  }
  MIGSBYU_TRY(WriteManifest(options_.dir, next));
  commit.reset();
  published_ = std::move(next);
  file_seq_ = 0;
  if (lake_) lake_->Publish(published_);
  if (iceberg_) iceberg_->Offer(published_, CurrentRelations());
  return OkStatus();
}

Relations LakeWriter::CurrentRelations() const {
  Relations relations;
  for (const auto& [table, buffer] : changes_) {
    if (!buffer.schema) continue;
    std::vector<RelationColumn> columns;
    for (const auto& c : buffer.schema->columns) {
      auto type = iceberg::TypeFromDuck(DuckTypeOf(c));
      if (!type.ok()) break;  // a type Iceberg cannot hold: the table keeps its schema
      columns.push_back({c.name, *type});
    }
    if (columns.size() == buffer.schema->columns.size()) relations[table] = std::move(columns);
  }
  return relations;
}

Result<bool> LakeWriter::Publish() {
  if (!dirty_ || in_transaction_) return false;
  MIGSBYU_TRY(SpillAll());
  Manifest next = published_;
  for (auto& [dataset, files] : pending_) {
    auto& list = next.datasets[dataset];
    list.insert(list.end(), files.begin(), files.end());
  }
  next.end_lsn = end_lsn_;
  next.commit_lsn = commit_lsn_;
  next.commit_time_us = commit_time_us_;
  next.watermarks = watermarks_;
  next.partition_watermarks = partition_watermarks_;
  next.next_keys = builder_->next_keys();
  next.caught_up = caught_up_;
  next.dimension_keys = dim_keys_;
  if (options_.role == WriterRole::kExclusive) {
    // A single writer derives the fact as it stores the changes: it is derived from every
    // stored change, which a deriver taking over later must know.
    derived_ = DerivedFromAll(watermarks_);
  }
  next.derived = derived_;
  next.snapshot_progress = snapshot_progress_;
  MIGSBYU_TRY(CommitManifest(std::move(next)));
  pending_.clear();
  dirty_ = false;
  oldest_unpublished_.reset();
  MIGSBYU_TRY(Compact());
  if (std::chrono::steady_clock::now() - last_gc_ > std::chrono::seconds(5)) {
    MIGSBYU_TRY(CollectGarbage());
  }
  return true;
}

Status LakeWriter::Compact(bool force) {
  if (in_transaction_ || dirty_) return OkStatus();
  const size_t max_files = force ? 1 : options_.max_files_per_dataset;
  Manifest next = published_;
  bool changed = false;
  bool views_installed = false;  // only a fold reads the views (merges read the files)
  for (const KnownTable* dim : Dimensions()) {
    const KnownTable& t = *dim;
    if (!Owns(t.DimName())) continue;
    // Fold the closes into a rewritten dimension when they grow large.
    // (Too many files alone is handled by the merges below, which cost what the small files
    // weigh; a fold rewrites the whole dimension, so it waits for enough closes.)
    uint64_t closes = published_.Rows(ClosesDataset(t));
    uint64_t dims = published_.Rows(t.DimName());
    if (closes > 0 && (force || (closes > options_.fold_closes_rows && closes * 8 > dims))) {
      if (!views_installed) MIGSBYU_TRY(InstallViews(published_));
      views_installed = true;
      // Sorted by id: row-group statistics then let a lookup of one id read little.
      const std::string key = duck::QuoteIdentifier(t.KeyColumn());
      MIGSBYU_ASSIGN(DataFile f,
                     CopyToFile(t.DimName(), "SELECT * FROM " + duck::QuoteIdentifier(t.DimName()) +
                                                 " ORDER BY " + (t.generic ? key : "id, " + key)));
      next.datasets[t.DimName()] = {f};
      next.datasets.erase(ClosesDataset(t));
      changed = true;
    }
  }
  for (const auto& [dataset, files] : published_.datasets) {
    if (files.size() <= max_files || !Owns(dataset) || !next.datasets.count(dataset) ||
        next.datasets[dataset] != files) {
      continue;
    }
    std::vector<DataFile> small, keep;
    for (const auto& f : files)
      (f.rows < options_.big_file_rows || force ? small : keep).push_back(f);
    if (small.size() < 2) continue;
    const KnownTable* dim = DimensionOfDataset(dataset);
    std::string order = dataset.ends_with("_changes")  ? "commit_lsn, position"
                        : dataset == kFactDataset      ? "source_lsn, source_position"
                        : dataset.ends_with("_closes") ? "source_lsn, source_position"
                        : dim && dim->generic          ? duck::QuoteIdentifier(dim->KeyColumn())
                                                       : "id";
    std::string list = "[";
    for (size_t i = 0; i < small.size(); ++i) {
      list +=
          (i ? ", " : "") + duck::QuoteString((fs::path(options_.dir) / small[i].path).string());
    }
    MIGSBYU_ASSIGN(DataFile merged,
                   CopyToFile(dataset, "SELECT * FROM read_parquet(" + list +
                                           "], union_by_name = true) ORDER BY " + order));
    keep.push_back(merged);
    next.datasets[dataset] = keep;
    changed = true;
  }
  if (!changed) return OkStatus();
  MIGSBYU_TRY(CommitManifest(std::move(next)));
  return CollectGarbage();
}

Status LakeWriter::CollectGarbage() {
  last_gc_ = std::chrono::steady_clock::now();
  std::set<uint64_t> pinned = lake_ ? lake_->PinnedVersions() : std::set<uint64_t>{};
  if (iceberg_) pinned.merge(iceberg_->PinnedVersions());
  int64_t horizon = NowMicros() - options_.retain.count() * 1000;
  std::set<std::string> live;
  std::error_code ec;
  const std::vector<uint64_t> versions = ListManifestVersions(options_.dir);
  // Manifests never change, so each is read once; with several writers there are many.
  std::erase_if(manifest_files_, [&](const auto& entry) {
    return !std::binary_search(versions.begin(), versions.end(), entry.first);
  });
  for (uint64_t v : versions) {
    auto cached = manifest_files_.find(v);
    if (cached == manifest_files_.end()) {
      auto m = LoadManifest(options_.dir, v);
      if (!m.ok()) {
        if (v < published_.version) RemoveUnneeded(ManifestPath(options_.dir, v));
        continue;
      }
      ManifestFiles entry{m->written_at_us, {}};
      for (const auto& [dataset, files] : m->datasets) {
        for (const auto& f : files) entry.paths.push_back(f.path);
      }
      cached = manifest_files_.emplace(v, std::move(entry)).first;
    }
    // The latest manifest (maybe another writer's) always counts, as does this writer's own.
    bool keep = v == versions.back() || v == published_.version || pinned.count(v) ||
                cached->second.written_at_us >= horizon;
    if (!keep) {
      if (v < published_.version) RemoveUnneeded(ManifestPath(options_.dir, v));
      manifest_files_.erase(cached);
      continue;
    }
    live.insert(cached->second.paths.begin(), cached->second.paths.end());
  }
  for (const auto& [dataset, files] : pending_) {
    for (const auto& f : files) live.insert(f.path);
  }
  // The file a COPY is still streaming into: committed rows, not yet published.
  if (stream_) live.insert(stream_->file.path);
  for (const auto& dir : fs::directory_iterator(options_.dir, ec)) {
    if (!dir.is_directory() || dir.path().filename() == kManifestDir) continue;
    // Another writer's directory may hold its files of a commit not yet published.
    if (!Owns(dir.path().filename().string())) continue;
    for (const auto& file : fs::directory_iterator(dir.path(), ec)) {
      std::string rel = dir.path().filename().string() + "/" + file.path().filename().string();
      if (file.path().extension() == ".parquet" && !live.count(rel)) RemoveUnneeded(file.path());
    }
  }
  // Unlisted, a folder's garbage stays until the next collection lists it.
  if (ec) spdlog::warn("lake: garbage collection cannot list {}: {}", options_.dir, ec.message());
  return OkStatus();
}

// ---- rebuild ----

Status LakeWriter::ReplayChangeLogs(const std::map<std::string, Watermark>& after,
                                    const std::map<std::string, Watermark>& upto,
                                    Watermark upto_default,
                                    std::map<std::string, Watermark>* last) {
  struct Cursor {
    const KnownTable* table = nullptr;
    std::shared_ptr<events::TableSchema> schema;
    std::string select;
    std::vector<events::ChangeEvent> batch;
    size_t next = 0;
    Watermark after{0, 0};
    Watermark upto;
    bool first = true;
    bool done = false;
  };
  constexpr uint64_t kBatch = 20000;
  std::vector<Cursor> cursors;
  // The contract's tables, and those of generic dimensions (their key columns from the manifest).
  std::vector<const KnownTable*> replayed;
  for (const auto& t : KnownTables()) replayed.push_back(&t);
  if (options_.role != WriterRole::kDeriver) {
    for (const auto& [name, keys] : dim_keys_) {
      const KnownTable* t = CapturedDimension(name);
      if (t && t->generic && Builds(name) && published_.Files(ChangesDataset(name)).size()) {
        replayed.push_back(t);
      }
    }
  }
  for (const KnownTable* known : replayed) {
    const KnownTable& t = *known;
    Cursor cur;
    cur.table = &t;
    if (auto a = after.find(t.name); a != after.end()) {
      cur.after = a->second;
      cur.first = false;
    }
    auto u = upto.find(t.name);
    cur.upto = u == upto.end() ? upto_default : u->second;
    if (!cur.first && cur.upto <= cur.after) continue;
    cur.schema = std::make_shared<events::TableSchema>();
    cur.schema->name = t.name;
    cur.schema->schema = "public";
    MIGSBYU_ASSIGN(
        auto probe,
        conn_.Query("SELECT * FROM " + duck::QuoteIdentifier(ChangesDataset(t.name)) + " LIMIT 0"));
    std::string before_sel, after_sel;
    for (uint64_t c = 0; c < probe.ColumnCount(); ++c) {
      std::string name = probe.ColumnName(c);
      if (!name.starts_with("after_")) continue;
      events::Column col = ColumnFromDuckType(name.substr(6), probe.ColumnTypeName(c));
      if (t.generic) {
        const auto& keys = dim_keys_[t.name];
        col.key = std::find(keys.begin(), keys.end(), col.name) != keys.end();
      } else {
        col.key = col.name == t.columns[0].name;
      }
      before_sel += ", " + SelectAsValue(col, "before_" + col.name);
      after_sel += ", " + SelectAsValue(col, "after_" + col.name);
      cur.schema->columns.push_back(col);
    }
    cur.select =
        "SELECT op, commit_lsn, lsn, position, xid, epoch_us(commit_time), changed_by, "
        "origin" +
        before_sel + after_sel + " FROM " + duck::QuoteIdentifier(ChangesDataset(t.name)) +
        " WHERE (commit_lsn > $1 OR (commit_lsn = $1 AND position > $2) OR $3)"
        " AND (commit_lsn < $4 OR (commit_lsn = $4 AND position <= $5))"
        " ORDER BY commit_lsn, position LIMIT " +
        std::to_string(kBatch);
    cursors.push_back(std::move(cur));
  }
  auto refill = [&](Cursor& cur) -> Status {
    MIGSBYU_ASSIGN(auto stmt, conn_.Prepare(cur.select));
    MIGSBYU_TRY(stmt.BindUint64(1, cur.after.commit_lsn));
    MIGSBYU_TRY(stmt.BindUint64(2, cur.after.position));
    MIGSBYU_TRY(stmt.BindBool(3, cur.first));
    MIGSBYU_TRY(stmt.BindUint64(4, cur.upto.commit_lsn));
    MIGSBYU_TRY(stmt.BindUint64(5, cur.upto.position));
    MIGSBYU_ASSIGN(auto rows, stmt.Execute());
    cur.first = false;
    cur.batch.clear();
    cur.next = 0;
    const size_t n = cur.schema->columns.size();
    auto read_row = [&](uint64_t r, size_t offset) {
      events::Row row(n);
      for (size_t i = 0; i < n; ++i)
        row[i] = ReadValue(rows, cur.schema->columns[i], offset + i, r);
      return row;
    };
    for (uint64_t r = 0; r < rows.RowCount(); ++r) {
      events::ChangeEvent e;
      e.op = static_cast<events::Operation>(rows.GetString(0, r)[0]);
      e.table = cur.schema;
      e.commit_lsn = Lsn(rows.GetUint64(1, r));
      e.lsn = Lsn(rows.GetUint64(2, r));
      e.position = rows.GetUint64(3, r);
      e.xid = static_cast<uint32_t>(rows.GetUint64(4, r));
      e.commit_time_us = rows.GetInt64(5, r);
      if (!rows.IsNull(6, r)) e.actor.user = rows.GetString(6, r);
      // A row stored before the lake recorded actors has none: its versions keep none either.
      e.actor.origin = rows.IsNull(7, r) ? std::string() : rows.GetString(7, r);
      if (e.op == events::Operation::kUpdate || e.op == events::Operation::kDelete) {
        e.before = read_row(r, kImagesAt);
        // An update without a before image (a table with the default replica identity, its key
        // unchanged) is stored with every before_ column NULL: it had none.
        if (std::all_of(e.before->begin(), e.before->end(),
                        [](const events::Value& v) { return v.is_null(); })) {
          e.before.reset();
        }
      }
      if (e.op != events::Operation::kDelete && e.op != events::Operation::kTruncate) {
        e.after = read_row(r, kImagesAt + n);
      }
      cur.batch.push_back(std::move(e));
    }
    if (!cur.batch.empty()) cur.after = MarkOf(cur.batch.back());
    cur.done = cur.batch.empty();
    return OkStatus();
  };
  for (auto& cur : cursors) MIGSBYU_TRY(refill(cur));
  for (;;) {
    Cursor* best = nullptr;
    for (auto& cur : cursors) {
      if (cur.next >= cur.batch.size() && !cur.done) MIGSBYU_TRY(refill(cur));
      if (cur.next >= cur.batch.size()) continue;
      if (!best || MarkOf(cur.batch[cur.next]) < MarkOf(best->batch[best->next])) best = &cur;
    }
    if (!best) break;
    const auto& change = best->batch[best->next++];
    if (last) (*last)[best->table->name] = MarkOf(change);
    MIGSBYU_TRY(builder_->Apply(change));
    if (buffered_rows_ >= options_.spill_rows) MIGSBYU_TRY(SpillAll());
  }
  return OkStatus();
}

Status LakeWriter::Rebuild() {
  if (in_transaction_ || dirty_) {
    return Error::Conflict("lake: rebuild needs a writer with nothing unpublished");
  }
  MIGSBYU_TRY(InstallViews(published_));
  builder_ = std::make_unique<ScdBuilder>(this, options_.tracked);
  replaying_ = true;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  Status replayed = ReplayChangeLogs({}, {}, Watermark{kMax, kMax}, nullptr);
  if (replayed.ok()) replayed = SpillAll();
  replaying_ = false;
  if (!replayed.ok()) {
    MIGSBYU_TRY(Reset());
    return replayed;
  }
  Manifest next = published_;
  for (const KnownTable* t : Dimensions()) {
    next.datasets.erase(t->DimName());
    next.datasets.erase(ClosesDataset(*t));
  }
  next.datasets.erase(kFactDataset);
  for (auto& [dataset, files] : pending_) next.datasets[dataset] = files;
  next.next_keys = builder_->next_keys();
  next.derived = DerivedFromAll(next.watermarks);
  derived_ = next.derived;
  MIGSBYU_TRY(CommitManifest(std::move(next)));
  pending_.clear();
  MIGSBYU_TRY(Compact());
  return CollectGarbage();
}

// ---- several writers ----

bool LakeWriter::Owns(const std::string& dataset) const {
  return options_.role == WriterRole::kExclusive || owned_.datasets.count(dataset) > 0;
}

bool LakeWriter::Builds(const std::string& table) const {
  if (options_.role == WriterRole::kExclusive) return true;
  return CapturedDimension(table) != nullptr;
}

Result<FileLock> LakeWriter::LockCommit() {
  return FileLock::Acquire(LakeLockPath(options_.dir, "commit"), FileLock::Mode::kExclusive,
                           "the commit lock of " + options_.dir);
}

Status LakeWriter::AcquireTable(const std::string& table, std::stop_token stop) {
  if (options_.role != WriterRole::kTableOwner) {
    return Error::InvalidArgument("lake: AcquireTable needs a table-owner writer");
  }
  if (owned_.tables.count(table)) return OkStatus();
  MIGSBYU_ASSIGN(FileLock lock, FileLock::Acquire(LakeLockPath(options_.dir, "table-" + table),
                                                  FileLock::Mode::kExclusive,
                                                  "table " + table + " of " + options_.dir, stop));
  {
    // The previous owner published before it let go (or died, and its unpublished work is
    // garbage): the latest manifest is where this table stands.
    MIGSBYU_ASSIGN(FileLock commit, LockCommit());
    MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(options_.dir));
    if (latest) published_ = std::move(*latest);
  }
  owned_.tables.insert(table);
  owned_.datasets.insert(ChangesDataset(table));
  const KnownTable* known = CapturedDimension(table);
  if (known) {
    owned_.datasets.insert(known->DimName());
    owned_.datasets.insert(ClosesDataset(*known));
    owned_.entities.insert(known->entity);
  }
  table_locks_[table] = std::move(lock);
  tables_.clear();  // it points into watermarks_ and changes_
  if (auto w = published_.watermarks.find(table); w != published_.watermarks.end()) {
    watermarks_[table] = w->second;
  } else {
    watermarks_.erase(table);
  }
  if (auto p = published_.partition_watermarks.find(table);
      p != published_.partition_watermarks.end()) {
    partition_watermarks_[table] = p->second;
  } else {
    partition_watermarks_.erase(table);
  }
  if (auto c = published_.caught_up.find(table); c != published_.caught_up.end()) {
    caught_up_[table] = c->second;
  } else {
    caught_up_.erase(table);
  }
  if (auto k = published_.dimension_keys.find(table); k != published_.dimension_keys.end()) {
    dim_keys_[table] = k->second;
  }
  if (known) {
    MIGSBYU_TRY(InstallViews(published_));
    MIGSBYU_TRY(RestoreEntity(*known));
  }
  spdlog::info("lake: writing table {} (owner of {})", table, options_.dir);
  return CollectGarbage();
}

Status LakeWriter::ReleaseTable(const std::string& table) {
  if (!owned_.tables.count(table)) return OkStatus();
  if (in_transaction_) {
    return Error::Conflict("lake: releasing table " + table + " inside a transaction");
  }
  MIGSBYU_ASSIGN(bool published, Publish());
  (void)published;
  owned_.tables.erase(table);
  owned_.datasets.erase(ChangesDataset(table));
  const KnownTable* known = CapturedDimension(table);
  if (known) {
    owned_.datasets.erase(known->DimName());
    owned_.datasets.erase(ClosesDataset(*known));
    owned_.entities.erase(known->entity);
    builder_->ForgetEntity(known->entity);
  }
  tables_.clear();  // it points into watermarks_ and changes_
  watermarks_.erase(table);
  partition_watermarks_.erase(table);
  caught_up_.erase(table);
  dim_keys_.erase(table);
  changes_.erase(table);
  table_locks_.erase(table);
  spdlog::info("lake: released table {}", table);
  return OkStatus();
}

void LakeWriter::MarkCaughtUp(const std::string& table, uint64_t lsn) {
  if (!owned_.tables.count(table)) return;
  auto it = caught_up_.find(table);
  if (it != caught_up_.end() && it->second >= lsn) return;
  caught_up_[table] = lsn;
  dirty_ = true;
  if (!oldest_unpublished_) oldest_unpublished_ = std::chrono::steady_clock::now();
}

Watermark LakeWriter::SafePoint(const Manifest& m) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  Watermark safe{kMax, kMax};
  for (const auto& t : KnownTables()) {
    Watermark complete{0, 0};
    if (auto w = m.watermarks.find(t.name); w != m.watermarks.end()) complete = w->second;
    if (auto c = m.caught_up.find(t.name); c != m.caught_up.end()) {
      complete = std::max(complete, Watermark{c->second, kMax});
    }
    safe = std::min(safe, complete);
  }
  return safe;
}

Result<bool> LakeWriter::Derive() {
  if (options_.role != WriterRole::kDeriver) {
    return Error::InvalidArgument("lake: Derive needs a deriver writer");
  }
  auto versions = ListManifestVersions(options_.dir);
  if (versions.empty() || versions.back() == derived_from_version_) return false;
  MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(options_.dir));
  if (!latest) return false;
  derived_from_version_ = latest->version;
  const Watermark safe = SafePoint(*latest);
  bool behind = false;
  for (const auto& t : KnownTables()) {
    auto w = latest->watermarks.find(t.name);
    if (w == latest->watermarks.end()) continue;
    auto d = derived_.find(t.name);
    Watermark from = d == derived_.end() ? Watermark{0, 0} : d->second;
    if (from < w->second && (d == derived_.end() || from < safe)) behind = true;
  }
  if (!behind) return false;
  MIGSBYU_TRY(InstallViews(*latest));
  std::map<std::string, Watermark> last = derived_;
  Status replayed = ReplayChangeLogs(derived_, {}, safe, &last);
  if (!replayed.ok()) {
    MIGSBYU_TRY(Reset());
    return replayed.error();
  }
  if (last == derived_) return false;
  derived_ = std::move(last);
  dirty_ = true;
  return Publish();
}

}  // namespace migsbyu::lake
