#include "analytics/fixture_lake.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace migsbyu::analytics::testing {
namespace {

std::string MakeTempFolder() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "migsbyu-analytics-lake.XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    ADD_FAILURE() << "cannot create a temporary folder from " << pattern;
    std::abort();
  }
  return pattern;
}

duck::Database OpenOrDie() {
  auto db = duck::Database::Open(":memory:");
  if (!db.ok()) {
    ADD_FAILURE() << db.error().ToString();
    std::abort();
  }
  return std::move(db).value();
}

}  // namespace

std::string StandardFixtureSql() {
  return std::string(MIGSBYU_ANALYTICS_TESTDATA) + "/lake_fixture.sql";
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    std::abort();
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

FixtureLake::FixtureLake() : directory_(MakeTempFolder()), db_(OpenOrDie()) {
  auto conn = duck::Connection::Open(db_);
  if (!conn.ok() || !conn->Execute("CREATE SCHEMA staging").ok()) std::abort();
}

FixtureLake::~FixtureLake() {
  std::error_code ec;
  std::filesystem::remove_all(directory_, ec);
}

Status FixtureLake::Execute(const std::string& sql) {
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  MIGSBYU_TRY(conn.Execute("USE memory.staging"));
  return conn.Execute(sql);
}

Status FixtureLake::Publish(Lsn end_lsn, int64_t commit_time_micros) {
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  MIGSBYU_ASSIGN(auto tables, conn.Query("SELECT table_name FROM duckdb_tables() WHERE "
                                         "schema_name = 'staging' ORDER BY table_name"));
  uint64_t version;
  {
    std::lock_guard lock(mu_);
    version = latest_.version + 1;
  }
  std::string script = "BEGIN TRANSACTION;";
  std::map<std::string, std::string> files;
  for (uint64_t r = 0; r < tables.RowCount(); ++r) {
    std::string table = tables.GetString(0, r);
    std::string file = directory_ + "/" + table + "-v" + std::to_string(version) + ".parquet";
    MIGSBYU_TRY(conn.Execute("COPY staging." + duck::QuoteIdentifier(table) + " TO " +
                             duck::QuoteString(file) + " (FORMAT parquet)"));
    // A table whose rows did not change keeps its file, as in the real lake, so that its view's
    // definition stays the same (the commit event names only the views that changed).
    std::string previous;
    {
      std::lock_guard lock(mu_);
      if (auto it = files_.find(table); it != files_.end()) previous = it->second;
    }
    if (!previous.empty() && ReadFileOrDie(previous) == ReadFileOrDie(file)) {
      std::filesystem::remove(file);
      file = previous;
    }
    files[table] = file;
    script += "CREATE OR REPLACE VIEW main." + duck::QuoteIdentifier(table) +
              " AS SELECT * FROM read_parquet(" + duck::QuoteString(file) + ");";
  }
  MIGSBYU_TRY(conn.Execute(script + "COMMIT;"));
  {
    std::lock_guard lock(mu_);
    latest_.version = version;
    latest_.end_lsn = end_lsn;
    files_ = std::move(files);
    if (commit_time_micros) latest_.commit_time = FromMicros(commit_time_micros);
  }
  cv_.notify_all();
  return OkStatus();
}

Status FixtureLake::Read(const std::function<Status(duck::Connection&)>& read) {
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  MIGSBYU_TRY(conn.Execute("BEGIN TRANSACTION"));
  Status status = read(conn);
  (void)conn.Execute("ROLLBACK");
  return status;
}

Result<PinnedViews> FixtureLake::PinViews() {
  std::lock_guard lock(mu_);
  PinnedViews pinned;
  pinned.version = latest_.version;
  for (const auto& [view, file] : files_) {
    pinned.views.emplace_back(view, "SELECT * FROM read_parquet(" + duck::QuoteString(file) + ")");
    pinned.files.push_back(file);
  }
  return pinned;
}

LakeCommit FixtureLake::Latest() {
  std::lock_guard lock(mu_);
  return latest_;
}

std::optional<LakeCommit> FixtureLake::WaitForCommit(uint64_t after_version,
                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return latest_.version > after_version; })) {
    return std::nullopt;
  }
  return latest_;
}

}  // namespace migsbyu::analytics::testing
