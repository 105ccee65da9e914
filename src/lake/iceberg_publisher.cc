#include "lake/iceberg_publisher.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "lake/catalog.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/parquet.h"
#include "lake/iceberg/scan.h"
#include "lake/iceberg/table.h"
#include "lake/lake.h"

namespace migsbyu::lake {
namespace fs = std::filesystem;

namespace {

constexpr const char* kLakeVersionKey = "migsbyu.lake-version";
constexpr const char* kWatermarkLsnKey = "migsbyu.watermark-lsn";
constexpr const char* kWatermarkPositionKey = "migsbyu.watermark-position";
// Marks, in the rows a dimension publish appends, the closed copies of versions already
// published (their open rows are deleted by position). Not a column of the table.
constexpr const char* kClosedMarker = "__migsbyu_closed";

using Columns = std::vector<std::pair<std::string, std::string>>;

// How a dataset becomes a table: the columns that order its rows, and for a dimension its entity.
struct DatasetShape {
  std::string lsn, position;
  const KnownTable* dimension = nullptr;
};

std::optional<DatasetShape> ShapeOf(const std::string& dataset) {
  if (dataset.ends_with("_changes")) return DatasetShape{"commit_lsn", "position", nullptr};
  if (dataset == kFactDataset) return DatasetShape{"source_lsn", "source_position", nullptr};
  if (const KnownTable* t = DimensionOfDataset(dataset)) {
    return DatasetShape{"source_lsn", "source_position", t};
  }
  return std::nullopt;  // a dimension's closes: part of the dimension's table
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FileList(const std::vector<std::string>& paths) {
  std::string list = "[";
  for (size_t i = 0; i < paths.size(); ++i) list += (i ? ", " : "") + duck::QuoteString(paths[i]);
  return list + "]";
}

// The rows of `paths` with every one of `columns` present (NULL where a file lacks it: files
// written before a column existed), as a parenthesized relation. No paths: no rows.
std::string Relation(const std::vector<std::string>& paths, const Columns& columns) {
  std::string empty;
  for (const auto& [name, type] : columns) {
    empty += (empty.empty() ? "" : ", ") + ("NULL::" + type) + " AS " + duck::QuoteIdentifier(name);
  }
  if (paths.empty()) return "(SELECT " + empty + " WHERE false)";
  return "(SELECT * FROM read_parquet(" + FileList(paths) +
         ", union_by_name = true) UNION ALL BY NAME SELECT " + empty + " WHERE false)";
}

// "(l > W.l OR (l = W.l AND p > W.p))" with a conjunct the Parquet scan can prune by; "true"
// without a watermark.
std::string After(const DatasetShape& shape, const std::optional<Watermark>& w,
                  const std::string& prefix = "") {
  if (!w) return "true";
  std::string l = prefix + duck::QuoteIdentifier(shape.lsn);
  std::string p = prefix + duck::QuoteIdentifier(shape.position);
  std::string wl = std::to_string(w->commit_lsn), wp = std::to_string(w->position);
  return "(" + l + " >= " + wl + " AND (" + l + " > " + wl + " OR " + p + " > " + wp + "))";
}

std::optional<Watermark> WatermarkOf(const iceberg::TableMetadata& m) {
  const iceberg::Snapshot* s = m.CurrentSnapshot();
  if (!s) return std::nullopt;
  auto l = s->summary.find(kWatermarkLsnKey);
  auto p = s->summary.find(kWatermarkPositionKey);
  if (l == s->summary.end() || p == s->summary.end()) return std::nullopt;
  try {
    return Watermark{std::stoull(l->second), std::stoull(p->second)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> Paths(const std::string& dir, const std::vector<DataFile>& files,
                               const std::set<std::string>* except) {
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (except && except->count(f.path)) continue;
    out.push_back((fs::path(dir) / f.path).string());
  }
  return out;
}

Result<Columns> DescribeColumns(duck::Connection& conn, const std::string& query) {
  MIGSBYU_ASSIGN(auto r, conn.Query("DESCRIBE " + query));
  Columns cols;
  for (uint64_t i = 0; i < r.RowCount(); ++i)
    cols.emplace_back(r.GetString(0, i), r.GetString(1, i));
  return cols;
}

// The dimension columns that are not the captured table's (besides the key).
bool IsDimensionColumn(const std::string& name) {
  static const std::set<std::string> kColumns{
      "row_effective_start",  "row_effective_end", "source_lsn", "source_position",
      "source_xid",           "is_deleted",        "changed_by", "origin",
      "current_row_indicator"};
  return kColumns.count(name) > 0;
}

constexpr std::string_view kAfterPrefix = "after_";

// The captured table's columns as `dataset`'s table holds them: a change log's after_<column>
// fields, a dimension's fields other than its key and its SCD2 columns; in schema order.
std::vector<RelationColumn> CapturedColumnsOf(const iceberg::Schema& schema,
                                              const DatasetShape& shape) {
  std::vector<RelationColumn> out;
  for (const auto& f : schema.fields) {
    if (!shape.dimension) {
      if (f.name.starts_with(kAfterPrefix)) {
        out.push_back({f.name.substr(kAfterPrefix.size()), f.type});
      }
    } else if (f.name != shape.dimension->KeyColumn() && !IsDimensionColumn(f.name)) {
      out.push_back({f.name, f.type});
    }
  }
  return out;
}

// The table columns a captured column `name` is in `dataset`'s table.
std::vector<std::string> FieldsOf(const DatasetShape& shape, const std::string& name) {
  if (shape.dimension) return {name};
  return {"before_" + name, std::string(kAfterPrefix) + name};
}

// (former name, current name) of every current field that some earlier schema named otherwise,
// leaving out former names a current field has now (a new column may take a freed name).
std::vector<std::pair<std::string, std::string>> FormerNames(const iceberg::TableMetadata& m) {
  const iceberg::Schema& current = m.CurrentSchema();
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& s : m.schemas) {
    for (const auto& f : s.fields) {
      const iceberg::Field* now = current.FindId(f.id);
      if (now && now->name != f.name && !current.Find(f.name)) out.emplace(f.name, now->name);
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace

Result<std::unique_ptr<IcebergPublisher>> IcebergPublisher::Open(std::string lake_dir,
                                                                 IcebergOptions options,
                                                                 bool background) {
  MIGSBYU_TRY(iceberg::ValidateTableDirectory(lake_dir));
  MIGSBYU_ASSIGN(auto db, duck::Database::Open(":memory:", {{"threads", "1"}}));
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db));
  MIGSBYU_TRY(conn.Execute("SET TimeZone = 'UTC'"));
  // A first publish of a large lake materializes many rows: bounded memory, spilled to a
  // temporary directory of this process (outside the lake), which DuckDB removes when it closes.
  const std::string spill =
      (fs::temp_directory_path() / ("migsbyu-iceberg-" + std::to_string(::getpid()))).string();
  MIGSBYU_TRY(
      conn.Execute("SET memory_limit = '1GB'; SET temp_directory = " + duck::QuoteString(spill)));
  std::unique_ptr<IcebergPublisher> p(new IcebergPublisher(std::move(lake_dir), std::move(options),
                                                           std::move(db), std::move(conn)));
  MIGSBYU_ASSIGN(auto latest, LoadLatestCommitRecord(p->lake_dir_));
  if (latest) p->published_version_ = latest->lake_version;
  // Left by a crash while writing a record: never linked, so never a record.
  for (const auto& name : iceberg::ListFiles(CommitRecordDir(p->lake_dir_))) {
    if (name.rfind(".tmp-", 0) == 0)
      (void)iceberg::RemoveFile(CommitRecordDir(p->lake_dir_) + "/" + name);
  }
  // Files a crash left in the tables (written, never committed): no other publisher can be
  // running (the writer holds the lake exclusively), so every unreferenced file is one.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(p->lake_dir_) / p->options_.ns, ec)) {
    if (!entry.is_directory()) continue;
    auto table = iceberg::Table::Open(entry.path().string());
    if (!table.ok()) continue;  // not a table (yet): its first commit never happened
    auto removed = table->RemoveOrphanFiles(iceberg::NowMs() + 1);
    if (!removed.ok()) return removed.error();
    for (const auto& path : *removed) MIGSBYU_LOG_INFO("iceberg: removed orphan {}", path);
  }
  if (background) p->thread_ = std::jthread([raw = p.get()](std::stop_token s) { raw->Loop(s); });
  return p;
}

IcebergPublisher::IcebergPublisher(std::string lake_dir, IcebergOptions options, duck::Database db,
                                   duck::Connection conn)
    : lake_dir_(std::move(lake_dir)),
      options_(std::move(options)),
      db_(std::move(db)),
      conn_(std::move(conn)) {}

IcebergPublisher::~IcebergPublisher() {
  if (Status s = Drain(); !s.ok()) {
    MIGSBYU_LOG_WARN("iceberg: last publish of {} failed: {}", lake_dir_, s.error().ToString());
  }
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
  }
}

std::string IcebergPublisher::TableDir(const std::string& dataset) const {
  return (fs::path(lake_dir_) / options_.ns / dataset).string();
}

std::string IcebergPublisher::TableName(const std::string& dataset) const {
  return options_.ns + "." + dataset;
}

void IcebergPublisher::Offer(const Manifest& m, const Relations& relations) {
  std::lock_guard lock(mu_);
  for (const auto& [table, columns] : relations) offered_relations_[table] = columns;
  if (m.version <= published_version_ && !offered_) return;
  offered_ = m;
  wake_.notify_all();
}

void IcebergPublisher::TakeRelations() {
  for (auto& [table, columns] : offered_relations_) relations_[table] = std::move(columns);
  offered_relations_.clear();
}

std::set<uint64_t> IcebergPublisher::PinnedVersions() {
  std::lock_guard lock(mu_);
  std::set<uint64_t> pinned;
  if (offered_) pinned.insert(offered_->version);
  if (working_) pinned.insert(working_);
  return pinned;
}

Status IcebergPublisher::Drain() {
  std::unique_lock lock(mu_);
  if (!thread_.joinable()) {
    if (offered_) {
      Manifest m = std::move(*offered_);
      offered_.reset();
      TakeRelations();
      lock.unlock();
      Status s = Publish(m);
      lock.lock();
      if (!s.ok() && !error_) error_ = s.error();
    }
  } else {
    draining_ = true;
    wake_.notify_all();
    wake_.wait(lock, [&] { return !offered_ && working_ == 0; });
    draining_ = false;
  }
  std::optional<Error> e = std::move(error_);
  error_.reset();
  if (e) return *e;
  return OkStatus();
}

void IcebergPublisher::Loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (!wake_.wait(lock, stop, [&] { return offered_.has_value(); })) break;
    // One Iceberg point per interval; a drain (a flush, the end) does not wait.
    wake_.wait_until(lock, stop, last_publish_ + options_.interval, [&] { return draining_; });
    if (!offered_) continue;
    Manifest m = std::move(*offered_);
    offered_.reset();
    TakeRelations();
    working_ = m.version;
    lock.unlock();
    Status s = Publish(m);
    lock.lock();
    working_ = 0;
    last_publish_ = std::chrono::steady_clock::now();
    if (!s.ok()) {
      MIGSBYU_LOG_WARN("iceberg: publishing lake version {} failed: {}", m.version,
                       s.error().ToString());
      if (!error_) error_ = s.error();
    }
    wake_.notify_all();
  }
}

Status IcebergPublisher::Publish(const Manifest& m) {
  if (m.version <= published_version_) return OkStatus();
  MIGSBYU_ASSIGN(auto previous, LoadLatestCommitRecord(lake_dir_));
  CommitRecord record;
  if (previous) record.tables = previous->tables;
  record.lake_version = m.version;
  record.end_lsn = m.end_lsn;
  record.commit_lsn = m.commit_lsn;
  record.commit_time_us = m.commit_time_us;
  for (const auto& [dataset, files] : m.datasets) {
    std::optional<TableVersion> state;
    MIGSBYU_TRY(PublishTable(m, dataset, &state));
    if (state) record.tables[TableName(dataset)] = *state;
  }
  record.written_at_us = NowUs();
  MIGSBYU_TRY(WriteCommitRecord(lake_dir_, record));
  published_version_ = m.version;
  if (record.written_at_us - last_expire_us_ >=
      std::chrono::duration_cast<std::chrono::microseconds>(options_.expire_interval).count()) {
    MIGSBYU_TRY(Expire(record.written_at_us));
  }
  return OkStatus();
}

Status IcebergPublisher::PublishTable(const Manifest& m, const std::string& dataset,
                                      std::optional<TableVersion>* out) {
  auto shape = ShapeOf(dataset);
  if (!shape || m.Files(dataset).empty()) return OkStatus();
  std::string closes_dataset = shape->dimension ? ClosesDataset(*shape->dimension) : "";
  // The dataset's columns as the lake's view shows them (all its files, union by name).
  std::string view;
  for (const auto& [name, query] : Lake::ViewQueries(lake_dir_, m)) {
    if (name == dataset) view = query;
  }
  if (view.empty()) return OkStatus();
  MIGSBYU_ASSIGN(Columns columns, DescribeColumns(conn_, "(" + view + ")"));

  auto table_dir = iceberg::TableDirectory(lake_dir_, options_.ns, dataset);
  if (!table_dir.ok()) {
    // A captured table whose name is no valid table name here: it stays out of Iceberg rather
    // than holding every other table back.
    if (skipped_.insert(dataset).second) {
      MIGSBYU_LOG_WARN("iceberg: {} is not published: {}", dataset, table_dir.error().message());
    }
    return OkStatus();
  }
  const std::string dir = *table_dir;
  auto opened = iceberg::Table::Open(dir);
  if (!opened.ok() && opened.error().code() != ErrorCode::kNotFound) return opened.error();
  std::optional<iceberg::Table> table;
  if (opened.ok()) {
    table.emplace(std::move(*opened));
  } else {
    iceberg::Schema schema;
    int32_t id = 0;
    for (const auto& [name, type] : columns) {
      MIGSBYU_ASSIGN(iceberg::Type t, iceberg::TypeFromDuck(type));
      schema.fields.push_back({++id, name, t, false, {}});
    }
    auto created = iceberg::Table::Create(
        dir, std::move(schema),
        {{iceberg::kPreviousVersionsMaxProperty, std::to_string(options_.metadata_versions)},
         {iceberg::kDeleteAfterCommitProperty, "true"},
         {"migsbyu.dataset", dataset}});
    if (!created.ok()) return created.error();
    table.emplace(std::move(*created));
  }
  MIGSBYU_TRY(EvolveTable(*table, dataset, columns));
  const iceberg::Schema& schema = table->metadata().CurrentSchema();

  const std::optional<Watermark> mark = WatermarkOf(table->metadata());
  std::optional<std::set<std::string>> known;
  if (auto it = published_files_.find(dataset); it != published_files_.end()) {
    known = std::move(it->second);
    published_files_.erase(it);  // until this publish succeeds
  }
  const std::set<std::string>* seen = known ? &*known : nullptr;
  const auto new_files = Paths(lake_dir_, m.Files(dataset), seen);
  const std::string after = After(*shape, mark);
  std::string lsn = duck::QuoteIdentifier(shape->lsn), pos = duck::QuoteIdentifier(shape->position);
  std::string rows_sql;
  std::string key;
  if (!shape->dimension) {
    rows_sql = "CREATE OR REPLACE TEMP TABLE ice_rows AS SELECT *, false AS " +
               std::string(kClosedMarker) + " FROM " + Relation(new_files, columns) + " WHERE " +
               after;
  } else {
    key = duck::QuoteIdentifier(shape->dimension->KeyColumn());
    Columns close_columns{{shape->dimension->KeyColumn(), "BIGINT"},
                          {"row_effective_end", "TIMESTAMPTZ"},
                          {"is_deleted", "BOOLEAN"},
                          {"source_lsn", "UBIGINT"},
                          {"source_position", "UBIGINT"}};
    const auto new_closes = Paths(lake_dir_, m.Files(closes_dataset), seen);
    const auto all_closes = Paths(lake_dir_, m.Files(closes_dataset), nullptr);
    const auto all_dims = Paths(lake_dir_, m.Files(dataset), nullptr);
    MIGSBYU_TRY(conn_.Execute(
        "CREATE OR REPLACE TEMP TABLE ice_closes AS SELECT " + key +
        " AS k, row_effective_end AS c_end, is_deleted AS c_deleted, source_lsn AS c_lsn, "
        "source_position AS c_pos FROM " +
        Relation(new_closes, close_columns) + " WHERE " + after));
    // New versions, with the closes the lake already holds applied (as the lake's view does);
    // then versions published as open that a new close ends: their closed copies.
    rows_sql =
        "CREATE OR REPLACE TEMP TABLE ice_rows AS SELECT d.* REPLACE ("
        "CASE WHEN c.k IS NULL THEN d.row_effective_end ELSE c.row_effective_end END "
        "AS row_effective_end, "
        "CASE WHEN c.k IS NULL THEN d.current_row_indicator ELSE 'no' END "
        "AS current_row_indicator, "
        "CASE WHEN c.k IS NULL THEN d.is_deleted ELSE c.is_deleted END AS is_deleted), "
        "false AS " +
        std::string(kClosedMarker) + " FROM (SELECT * FROM " + Relation(new_files, columns) +
        " WHERE " + after + ") d LEFT JOIN (SELECT " + key +
        " AS k, row_effective_end, is_deleted FROM " + Relation(all_closes, close_columns) +
        ") c ON d." + key + " = c.k AND d.current_row_indicator = 'yes'";
    // Only new closes files can close a published version (and none is published without a
    // watermark): otherwise the whole dimension need not be read.
    if (!new_closes.empty() && mark) {
      rows_sql +=
          " UNION ALL BY NAME SELECT d.* REPLACE (c.c_end AS row_effective_end, "
          "'no' AS current_row_indicator, c.c_deleted AS is_deleted), true AS " +
          std::string(kClosedMarker) + " FROM (SELECT * FROM " + Relation(all_dims, columns) +
          " WHERE current_row_indicator = 'yes' AND NOT " + after + ") d JOIN ice_closes c ON d." +
          key + " = c.k";
    }
  }
  MIGSBYU_TRY(conn_.Execute(rows_sql));
  // Rows written before a rename carry the column under its former name: their value goes under
  // the current one (a row has a value under one name at most: a file written before the rename
  // lacks the new name, one written after it the former; a compacted file has both, NULL in one).
  for (const auto& [former, current] : FormerNames(table->metadata())) {
    auto has = [&](const std::string& n) {
      return std::any_of(columns.begin(), columns.end(),
                         [&](const auto& c) { return c.first == n; });
    };
    if (!has(former)) continue;
    const std::string f = duck::QuoteIdentifier(former), c = duck::QuoteIdentifier(current);
    if (!has(current)) {
      const iceberg::Field* field = schema.Find(current);
      MIGSBYU_TRY(conn_.Execute("ALTER TABLE ice_rows ADD COLUMN " + c + " " +
                                iceberg::DuckTypeOf(field->type)));
    }
    MIGSBYU_TRY(conn_.Execute("UPDATE ice_rows SET " + c + " = coalesce(" + c + ", " + f + ")"));
  }
  // The new watermark: the highest order key among the new rows (and new closes).
  std::string marks =
      "SELECT " + lsn + " AS l, " + pos + " AS p FROM ice_rows WHERE NOT " + kClosedMarker;
  if (shape->dimension) marks += " UNION ALL SELECT c_lsn, c_pos FROM ice_closes";
  MIGSBYU_ASSIGN(auto top, conn_.Query("SELECT l, p, (SELECT count(*) FROM ice_rows) FROM (" +
                                       marks + ") ORDER BY l DESC, p DESC LIMIT 1"));
  std::set<std::string> files_now;
  for (const auto& f : m.Files(dataset)) files_now.insert(f.path);
  if (shape->dimension) {
    for (const auto& f : m.Files(closes_dataset)) files_now.insert(f.path);
  }
  if (top.RowCount() > 0 && top.GetUint64(2, 0) > 0) {
    Watermark next{top.GetUint64(0, 0), top.GetUint64(1, 0)};
    iceberg::SnapshotUpdate update;
    update.operation = iceberg::Operation::kAppend;
    MIGSBYU_ASSIGN(iceberg::DataFile data,
                   iceberg::WriteDataFile(conn_,
                                          "(SELECT * FROM ice_rows ORDER BY " + lsn + ", " + pos +
                                              (key.empty() ? "" : ", " + key) + ")",
                                          schema, table->NewDataFileUri()));
    update.added_files.push_back(std::move(data));
    if (shape->dimension) {
      // The open rows of the closed versions, by position in the table's live data files.
      MIGSBYU_ASSIGN(auto plan, table->PlanScan());
      std::vector<std::string> live;
      for (const auto& f : plan.data_files) {
        MIGSBYU_ASSIGN(std::string p, iceberg::LocalPath(f.path));
        live.push_back(p);
      }
      MIGSBYU_ASSIGN(auto closed, conn_.Query("SELECT count(*) FROM ice_rows WHERE " +
                                              std::string(kClosedMarker)));
      const uint64_t closing = closed.GetUint64(0, 0);
      std::vector<iceberg::PositionDelete> deletes;
      if (closing > 0 && !live.empty()) {
        MIGSBYU_ASSIGN(
            auto found,
            conn_.Query("SELECT __ice_file, file_row_number FROM read_parquet(" + FileList(live) +
                        ", filename = '__ice_file', file_row_number = true) WHERE " + key +
                        " IN (SELECT " + key + " FROM ice_rows WHERE " + kClosedMarker +
                        ") AND current_row_indicator = 'yes'"));
        for (uint64_t i = 0; i < found.RowCount(); ++i) {
          deletes.push_back({iceberg::FileUri(found.GetString(0, i)), found.GetInt64(1, i)});
        }
      }
      if (deletes.size() != closing) {
        return Error::Internal("iceberg table " + dir + ": " + std::to_string(closing) +
                               " versions closed but " + std::to_string(deletes.size()) +
                               " open rows found for them");
      }
      if (!deletes.empty()) {
        for (const auto& d : deletes) update.required_files.insert(d.file_path);
        MIGSBYU_ASSIGN(iceberg::DataFile del,
                       iceberg::WritePositionDeletes(conn_, deletes, table->NewDeleteFileUri()));
        update.added_files.push_back(std::move(del));
        update.operation = iceberg::Operation::kOverwrite;
      }
    }
    update.summary = {{kLakeVersionKey, std::to_string(m.version)},
                      {kWatermarkLsnKey, std::to_string(next.commit_lsn)},
                      {kWatermarkPositionKey, std::to_string(next.position)}};
    MIGSBYU_TRY(table->Commit(update));
    MIGSBYU_TRY(CompactTable(*table, lsn + ", " + pos + (key.empty() ? "" : ", " + key)));
  }
  (void)conn_.Execute("DROP TABLE IF EXISTS ice_rows; DROP TABLE IF EXISTS ice_closes");
  published_files_[dataset] = std::move(files_now);
  if (const iceberg::Snapshot* s = table->metadata().CurrentSnapshot()) {
    *out = TableVersion{"v" + std::to_string(table->version()) + ".metadata.json", table->version(),
                        s->snapshot_id, s->sequence_number};
  }
  return OkStatus();
}

Status IcebergPublisher::EvolveTable(iceberg::Table& table, const std::string& dataset,
                                     const Columns& columns) {
  auto shape = ShapeOf(dataset);
  std::vector<iceberg::SchemaChange> changes;
  const iceberg::Schema& schema = table.metadata().CurrentSchema();
  std::string captured = dataset.ends_with("_changes")
                             ? dataset.substr(0, dataset.size() - std::string("_changes").size())
                             : (shape->dimension ? shape->dimension->name : "");
  // The relation: renames, drops and widenings can only be known from it.
  if (auto it = relations_.find(captured); !captured.empty() && it != relations_.end()) {
    for (const auto& c : DiffColumns(CapturedColumnsOf(schema, *shape), it->second)) {
      for (const auto& field : FieldsOf(*shape, c.name)) {
        switch (c.kind) {
          case ColumnChange::Kind::kRename: {
            if (!schema.Find(field)) break;
            const std::string renamed =
                shape->dimension ? c.new_name : field.substr(0, field.find('_') + 1) + c.new_name;
            changes.push_back(iceberg::SchemaChange::RenameColumn(field, renamed));
            if (schema.Find(field)->type != c.type) {
              changes.push_back(iceberg::SchemaChange::WidenColumn(renamed, c.type));
            }
            break;
          }
          case ColumnChange::Kind::kDrop:
            if (schema.Find(field)) changes.push_back(iceberg::SchemaChange::DropColumn(field));
            break;
          case ColumnChange::Kind::kWiden:
            if (schema.Find(field)) {
              changes.push_back(iceberg::SchemaChange::WidenColumn(field, c.type));
            }
            break;
          case ColumnChange::Kind::kRetype:
            MIGSBYU_LOG_WARN(
                "iceberg: {}.{} changed to {}, which Iceberg cannot promote {} to; the column "
                "keeps its type",
                TableName(dataset), field, iceberg::TypeName(c.type),
                iceberg::TypeName(schema.Find(field) ? schema.Find(field)->type : c.type));
            break;
          case ColumnChange::Kind::kAdd:
            break;  // below, in the view's order
        }
      }
    }
  }
  if (!changes.empty()) {
    MIGSBYU_LOG_INFO("iceberg: {} follows its table's columns ({} schema changes)",
                     TableName(dataset), changes.size());
    MIGSBYU_TRY(table.UpdateSchema(changes));
    changes.clear();
  }
  // Columns new to the table (new field ids), and widenings the files show. A name some schema
  // had before is not taken back from the view: the lake's older files still show a dropped or
  // renamed column, which the relation said is gone.
  const iceberg::Schema& now = table.metadata().CurrentSchema();
  std::set<std::string> ever;
  for (const auto& s : table.metadata().schemas) {
    for (const auto& f : s.fields) ever.insert(f.name);
  }
  std::set<std::string> relation_columns;
  if (auto it = relations_.find(captured); !captured.empty() && it != relations_.end()) {
    for (const auto& c : it->second) {
      for (const auto& field : FieldsOf(*shape, c.name)) relation_columns.insert(field);
    }
  }
  for (const auto& [name, type] : columns) {
    MIGSBYU_ASSIGN(iceberg::Type t, iceberg::TypeFromDuck(type));
    if (const iceberg::Field* f = now.Find(name)) {
      if (f->type != t && iceberg::CanPromote(f->type, t)) {
        changes.push_back(iceberg::SchemaChange::WidenColumn(name, t));
      }
      continue;
    }
    if (!ever.count(name) || relation_columns.count(name)) {
      changes.push_back(iceberg::SchemaChange::AddColumn(name, t));
    }
  }
  if (!changes.empty()) MIGSBYU_TRY(table.UpdateSchema(changes));
  return OkStatus();
}

Status IcebergPublisher::CompactTable(iceberg::Table& table, const std::string& order) {
  MIGSBYU_ASSIGN(iceberg::ScanPlan plan, table.PlanScan());
  if (plan.data_files.size() <= options_.max_data_files &&
      plan.delete_files.size() <= options_.max_delete_files) {
    return OkStatus();
  }
  // Every data file a delete file names is rewritten with the deletes applied, so that the
  // delete files can go; of the others, the small ones are merged.
  std::set<std::string> rewrite;
  if (!plan.delete_files.empty()) {
    std::vector<std::string> deletes;
    for (const auto& f : plan.delete_files) {
      MIGSBYU_ASSIGN(std::string p, iceberg::LocalPath(f.path));
      deletes.push_back(p);
    }
    MIGSBYU_ASSIGN(auto named, conn_.Query("SELECT DISTINCT file_path FROM read_parquet(" +
                                           FileList(deletes) + ")"));
    for (uint64_t i = 0; i < named.RowCount(); ++i) rewrite.insert(named.GetString(0, i));
  }
  for (const auto& f : plan.data_files) {
    if (static_cast<uint64_t>(f.record_count) < options_.big_file_rows) rewrite.insert(f.path);
  }
  iceberg::ScanPlan part = plan;
  std::erase_if(part.data_files,
                [&](const iceberg::ScanFile& f) { return !rewrite.count(f.path); });
  if (part.data_files.size() < 2 && plan.delete_files.empty()) return OkStatus();
  MIGSBYU_ASSIGN(std::string query, iceberg::ScanQuery(part, table.metadata().CurrentSchema()));
  MIGSBYU_ASSIGN(iceberg::DataFile merged,
                 iceberg::WriteDataFile(conn_, "(" + query + " ORDER BY " + order + ")",
                                        table.metadata().CurrentSchema(), table.NewDataFileUri()));
  iceberg::SnapshotUpdate update;
  update.operation = iceberg::Operation::kReplace;
  update.added_files.push_back(std::move(merged));
  for (const auto& f : part.data_files) update.removed_files.insert(f.path);
  for (const auto& f : plan.delete_files) update.removed_files.insert(f.path);
  // The compaction holds the rows of the snapshot it replaces: the same watermark.
  const iceberg::Snapshot* current = table.metadata().CurrentSnapshot();
  for (const char* k : {kLakeVersionKey, kWatermarkLsnKey, kWatermarkPositionKey}) {
    if (auto v = current->summary.find(k); v != current->summary.end())
      update.summary[k] = v->second;
  }
  MIGSBYU_TRY(table.Commit(update));
  return OkStatus();
}

Status IcebergPublisher::Expire(int64_t now_us) {
  last_expire_us_ = now_us;
  const auto versions = ListCommitRecords(lake_dir_);
  std::vector<CommitRecord> records;
  std::vector<int64_t> times;
  for (uint64_t v : versions) {
    auto r = LoadCommitRecord(lake_dir_, v);
    if (!r.ok()) continue;  // a damaged record names nothing to keep
    times.push_back(r->written_at_us);
    records.push_back(std::move(*r));
  }
  if (records.empty()) return OkStatus();
  const auto keep = RecordsToKeep(
      times, now_us,
      std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count());
  std::set<size_t> kept(keep.begin(), keep.end());
  // Records first: a record must never name an expired snapshot.
  bool removed = false;
  std::map<std::string, std::set<int64_t>> named;
  for (size_t i = 0; i < records.size(); ++i) {
    if (kept.count(i)) {
      for (const auto& [name, t] : records[i].tables) named[name].insert(t.snapshot_id);
    } else {
      MIGSBYU_TRY(iceberg::RemoveFile(CommitRecordPath(lake_dir_, records[i].lake_version)));
      removed = true;
    }
  }
  if (removed) MIGSBYU_TRY(iceberg::SyncPath(CommitRecordDir(lake_dir_)));
  const std::string prefix = options_.ns + ".";
  for (const auto& [name, ids] : named) {
    if (name.rfind(prefix, 0) != 0) continue;
    auto table = iceberg::Table::Open(TableDir(name.substr(prefix.size())));
    if (!table.ok()) return table.error();
    iceberg::ExpireOptions expire;
    expire.older_than_ms = 0;  // by the records alone
    for (const auto& s : table->metadata().snapshots) {
      if (!ids.count(s.snapshot_id)) expire.expire.insert(s.snapshot_id);
    }
    if (expire.expire.empty()) continue;
    MIGSBYU_TRY(table->ExpireSnapshots(expire));
  }
  return OkStatus();
}

}  // namespace migsbyu::lake
