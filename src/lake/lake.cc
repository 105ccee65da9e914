#include "lake/lake.h"

#include <filesystem>

#include "common/log.h"
#include "lake/catalog.h"

namespace migsbyu::lake {
namespace fs = std::filesystem;

namespace {

constexpr const char* kChangeMeta[][2] = {{"op", "VARCHAR"},  {"commit_lsn", "UBIGINT"},
                                          {"lsn", "UBIGINT"}, {"position", "UBIGINT"},
                                          {"xid", "UBIGINT"}, {"commit_time", "TIMESTAMPTZ"}};
constexpr const char* kDimMeta[][2] = {{"row_effective_start", "TIMESTAMPTZ"},
                                       {"row_effective_end", "TIMESTAMPTZ"},
                                       {"current_row_indicator", "VARCHAR"},
                                       {"is_deleted", "BOOLEAN"},
                                       {"source_lsn", "UBIGINT"},
                                       {"source_position", "UBIGINT"},
                                       {"source_xid", "UBIGINT"}};

// "SELECT NULL::T AS c, ... LIMIT 0": a typed empty relation.
std::string EmptyRelation(const std::vector<std::pair<std::string, std::string>>& columns) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) sql += ", ";
    sql += "NULL::" + columns[i].second + " AS " + duck::QuoteIdentifier(columns[i].first);
  }
  return sql + " LIMIT 0";
}

std::string FileList(const std::string& dir, const std::vector<DataFile>& files) {
  std::string list = "[";
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) list += ", ";
    list += duck::QuoteString((fs::path(dir) / files[i].path).string());
  }
  return list + "]";
}

std::string ReadFiles(const std::string& dir, const std::vector<DataFile>& files) {
  return "read_parquet(" + FileList(dir, files) + ", union_by_name = true)";
}

// The rows of change log or dimension `files` as a subquery, with the actor columns even when no
// file has them (files written before the lake recorded actors): NULL there. DuckDB drops the
// empty branch when it plans, so projections and filters still reach the Parquet scan.
std::string ReadWithActor(const std::string& dir, const std::vector<DataFile>& files) {
  std::string missing;
  for (const auto& [name, type] : ActorColumns()) {
    missing +=
        (missing.empty() ? "" : ", ") + ("NULL::" + type) + " AS " + duck::QuoteIdentifier(name);
  }
  return "(SELECT * FROM " + ReadFiles(dir, files) + " UNION ALL BY NAME SELECT " + missing +
         " WHERE false)";
}

std::vector<std::pair<std::string, std::string>> ChangeColumns(const KnownTable& t) {
  std::vector<std::pair<std::string, std::string>> cols;
  for (const auto& m : kChangeMeta) cols.emplace_back(m[0], m[1]);
  for (const auto& c : ActorColumns()) cols.push_back(c);
  for (const char* side : {"before_", "after_"}) {
    for (const auto& c : t.columns) cols.emplace_back(side + c.name, c.duck_type);
  }
  return cols;
}

std::vector<std::pair<std::string, std::string>> DimColumns(const KnownTable& t) {
  std::vector<std::pair<std::string, std::string>> cols{{t.KeyColumn(), "BIGINT"}};
  for (const auto& c : t.columns) cols.emplace_back(c.name, c.duck_type);
  for (const auto& m : kDimMeta) cols.emplace_back(m[0], m[1]);
  for (const auto& c : ActorColumns()) cols.push_back(c);
  return cols;
}

std::string DimRelation(const std::string& dir, const Manifest& m, const KnownTable& t) {
  const auto& dims = m.Files(t.DimName());
  if (dims.empty()) return EmptyRelation(DimColumns(t));
  const auto& closes = m.Files(ClosesDataset(t));
  if (closes.empty()) return "SELECT * FROM " + ReadWithActor(dir, dims);
  std::string key = duck::QuoteIdentifier(t.KeyColumn());
  // A version written as closed ('no') is final. One written as current may have been closed by
  // a later commit: the closes dataset (one row per closed key) fixes it up. Keeping the two
  // apart lets a filter on current_row_indicator skip the join's other side entirely.
  return "SELECT * FROM " + ReadWithActor(dir, dims) +
         " WHERE current_row_indicator = 'no' UNION ALL "
         "SELECT d.* REPLACE ("
         "CASE WHEN c.k IS NULL THEN d.row_effective_end ELSE c.row_effective_end END "
         "AS row_effective_end, "
         "CASE WHEN c.k IS NULL THEN 'yes' ELSE 'no' END AS current_row_indicator, "
         "CASE WHEN c.k IS NULL THEN d.is_deleted ELSE c.is_deleted END AS is_deleted) "
         "FROM (SELECT * FROM " +
         ReadWithActor(dir, dims) +
         " WHERE current_row_indicator = 'yes') d "
         "LEFT JOIN (SELECT " +
         key + " AS k, row_effective_end, is_deleted FROM " + ReadFiles(dir, closes) + ") c ON d." +
         key + " = c.k";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> Lake::ViewQueries(const std::string& dir,
                                                                   const Manifest& m) {
  std::vector<std::pair<std::string, std::string>> views;
  std::set<std::string> done;
  for (const auto& t : KnownTables()) {
    std::string changes = ChangesDataset(t.name);
    done.insert(changes);
    const auto& files = m.Files(changes);
    views.emplace_back(changes, files.empty() ? EmptyRelation(ChangeColumns(t))
                                              : "SELECT * FROM " + ReadWithActor(dir, files));
    if (!t.entity.empty()) views.emplace_back(t.DimName(), DimRelation(dir, m, t));
  }
  // Change logs of tables outside the contract.
  for (const auto& [name, files] : m.datasets) {
    if (files.empty() || done.count(name) || !name.ends_with("_changes")) continue;
    views.emplace_back(name, "SELECT * FROM " + ReadWithActor(dir, files));
  }
  // Their dimensions (a table whose changes carried a primary key).
  for (const auto& [name, keys] : m.dimension_keys) {
    const KnownTable* t = CapturedDimension(name);
    if (t && t->generic) views.emplace_back(t->DimName(), DimRelation(dir, m, *t));
  }
  const auto& fact = m.Files(kFactDataset);
  views.emplace_back(kFactDataset, fact.empty() ? EmptyRelation(FactColumns())
                                                : "SELECT * FROM " + ReadFiles(dir, fact));
  return views;
}

std::string Lake::ViewsSql(const std::string& dir, const Manifest& m, bool temporary) {
  std::string create = temporary ? "CREATE OR REPLACE TEMP VIEW " : "CREATE OR REPLACE VIEW ";
  std::string sql;
  for (const auto& [name, query] : ViewQueries(dir, m)) {
    sql += create + duck::QuoteIdentifier(name) + " AS " + query + ";\n";
  }
  return sql;
}

std::vector<std::string> Lake::FilePaths(const std::string& dir, const Manifest& m) {
  std::vector<std::string> paths;
  for (const auto& [name, files] : m.datasets) {
    for (const auto& f : files) paths.push_back((fs::path(dir) / f.path).string());
  }
  return paths;
}

Result<std::shared_ptr<Lake>> Lake::Open(const std::string& dir, int duckdb_threads) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::Internal("cannot create lake directory " + dir + ": " + ec.message());
  std::string abs = fs::absolute(dir).lexically_normal().string();
  MIGSBYU_ASSIGN(auto db,
                 duck::Database::Open(":memory:", {{"threads", std::to_string(duckdb_threads)}}));
  {
    // Data files never change once written, so their Parquet metadata can be cached. Parquet is
    // built into libduckdb (loading it downloads nothing).
    MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db));
    MIGSBYU_TRY(conn.Execute("LOAD parquet; SET GLOBAL parquet_metadata_cache = true"));
  }
  std::shared_ptr<Lake> lake(new Lake(abs, std::move(db)));
  MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(abs));
  lake->latest_ = std::make_shared<const Manifest>(latest ? std::move(*latest) : Manifest{});
  return lake;
}

std::shared_ptr<const Manifest> Lake::PinLocked() {
  // Pins are the shared_ptr copies handed out; expired ones are pruned here.
  std::erase_if(handed_out_, [](const auto& w) { return w.expired(); });
  auto copy = std::make_shared<const Manifest>(*latest_);
  handed_out_.push_back(copy);
  return copy;
}

std::shared_ptr<const Manifest> Lake::Snapshot() {
  std::lock_guard lock(mu_);
  return PinLocked();
}

CommitPosition Lake::Position() {
  std::lock_guard lock(mu_);
  return {latest_->version, latest_->end_lsn, latest_->commit_lsn, latest_->commit_time_us,
          latest_->written_at_us};
}

CommitPosition Lake::WaitForCommit(uint64_t after_version, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto slice =
          std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      committed_.wait_until(lock, slice, [&] { return latest_->version > after_version; });
      if (latest_->version > after_version || std::chrono::steady_clock::now() >= deadline) {
        return {latest_->version, latest_->end_lsn, latest_->commit_lsn, latest_->commit_time_us,
                latest_->written_at_us};
      }
    }
    // A failed re-read (a manifest that cannot be read) leaves the latest as it was, and the
    // next slice tries again; it is logged once, not every 50 ms while it lasts.
    Status refreshed = Refresh();
    std::lock_guard lock(mu_);
    std::string error = refreshed.ok() ? "" : refreshed.error().ToString();
    if (!error.empty() && error != refresh_error_) {
      spdlog::warn("lake {}: cannot re-read the latest manifest: {}", dir_, error);
    }
    refresh_error_ = std::move(error);
  }
}

Status Lake::Refresh() {
  auto versions = ListManifestVersions(dir_);
  {
    std::lock_guard lock(mu_);
    if (versions.empty() || versions.back() <= latest_->version) return OkStatus();
  }
  MIGSBYU_ASSIGN(auto latest, LoadLatestManifest(dir_));
  if (latest) {
    std::lock_guard lock(mu_);
    if (latest->version > latest_->version) {
      latest_ = std::make_shared<const Manifest>(std::move(*latest));
      committed_.notify_all();
    }
  }
  return OkStatus();
}

void Lake::Publish(Manifest m) {
  std::lock_guard lock(mu_);
  latest_ = std::make_shared<const Manifest>(std::move(m));
  committed_.notify_all();
}

std::set<uint64_t> Lake::PinnedVersions() {
  std::lock_guard lock(mu_);
  std::set<uint64_t> pinned;
  for (const auto& w : handed_out_) {
    if (auto m = w.lock()) pinned.insert(m->version);
  }
  return pinned;
}

Result<LakeConnection> Lake::Connect(std::shared_ptr<const Manifest> snapshot) {
  if (!snapshot) snapshot = Snapshot();
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  // Timestamps print in UTC whatever the machine's zone (DuckDB's ICU extension, linked in):
  // without it every time read back would be silently off.
  MIGSBYU_TRY(conn.Execute("SET TimeZone = 'UTC'"));
  MIGSBYU_TRY(conn.Execute(ViewsSql(dir_, *snapshot, /*temporary=*/true)));
  return LakeConnection{std::move(snapshot), std::move(conn)};
}

std::map<std::string, uint64_t> Lake::Counts() {
  auto snap = Snapshot();
  std::map<std::string, uint64_t> counts;
  for (const auto& [name, files] : snap->datasets) counts[name] = snap->Rows(name);
  return counts;
}

std::map<std::string, std::vector<std::string>> Lake::LiveFiles() {
  auto snap = Snapshot();
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, files] : snap->datasets) {
    for (const auto& f : files) out[name].push_back((fs::path(dir_) / f.path).string());
  }
  return out;
}

}  // namespace migsbyu::lake
