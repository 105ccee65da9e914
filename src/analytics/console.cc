#include "analytics/console.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <thread>
#include <vector>

#include "analytics/query.h"

namespace migsbyu::analytics {
namespace {

constexpr size_t kMaxSqlBytes = 100000;

const char* StatementTypeName(duckdb_statement_type type) {
  switch (type) {
    case DUCKDB_STATEMENT_TYPE_SELECT:
      return "SELECT";
    case DUCKDB_STATEMENT_TYPE_INSERT:
      return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE:
      return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_EXPLAIN:
      return "EXPLAIN";
    case DUCKDB_STATEMENT_TYPE_DELETE:
      return "DELETE";
    case DUCKDB_STATEMENT_TYPE_PREPARE:
      return "PREPARE";
    case DUCKDB_STATEMENT_TYPE_CREATE:
      return "CREATE";
    case DUCKDB_STATEMENT_TYPE_EXECUTE:
      return "EXECUTE";
    case DUCKDB_STATEMENT_TYPE_ALTER:
      return "ALTER";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION:
      return "transaction";
    case DUCKDB_STATEMENT_TYPE_COPY:
      return "COPY";
    case DUCKDB_STATEMENT_TYPE_ANALYZE:
      return "ANALYZE";
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
      return "SET VARIABLE";
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC:
      return "CREATE FUNCTION";
    case DUCKDB_STATEMENT_TYPE_DROP:
      return "DROP";
    case DUCKDB_STATEMENT_TYPE_EXPORT:
      return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_PRAGMA:
      return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_VACUUM:
      return "VACUUM";
    case DUCKDB_STATEMENT_TYPE_CALL:
      return "CALL";
    case DUCKDB_STATEMENT_TYPE_SET:
      return "SET";
    case DUCKDB_STATEMENT_TYPE_LOAD:
      return "LOAD/INSTALL";
    case DUCKDB_STATEMENT_TYPE_ATTACH:
      return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH:
      return "DETACH";
    case DUCKDB_STATEMENT_TYPE_MULTI:
      return "multi-statement";
    default:
      return "unknown";
  }
}

constexpr const char* kOnlyReads =
    "the console runs a single read-only query (SELECT) over the lake";

// Skips whitespace and -- and /* */ comments from `pos`; returns the new position.
size_t SkipSpaceAndComments(const std::string& sql, size_t pos) {
  while (pos < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[pos]))) {
      ++pos;
    } else if (sql.compare(pos, 2, "--") == 0) {
      auto end = sql.find('\n', pos);
      pos = end == std::string::npos ? sql.size() : end + 1;
    } else if (sql.compare(pos, 2, "/*") == 0) {
      auto end = sql.find("*/", pos + 2);
      pos = end == std::string::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  return pos;
}

// `sql` without trailing whitespace and semicolons, so that it can stand inside parentheses.
std::string WithoutTrailingSemicolons(const std::string& sql) {
  size_t end = sql.size();
  while (end > 0 &&
         (std::isspace(static_cast<unsigned char>(sql[end - 1])) || sql[end - 1] == ';')) {
    --end;
  }
  return sql.substr(0, end);
}

// Interrupts a connection's running query once `limit` passes, unless finished first.
class Watchdog {
 public:
  Watchdog(duck::Connection& conn, std::chrono::milliseconds limit)
      : thread_([this, &conn, limit] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired_ = true;
            conn.Interrupt();
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { Finish(); }

  // Stops watching; true if the limit passed (and the query was interrupted).
  bool Finish() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

// "CREATE [OR REPLACE] [TEMP|TEMPORARY] VIEW <rest>" as "CREATE OR REPLACE VIEW <rest>", so a
// lake view (temporary on the lake's connection or not) becomes a shared view of the sandbox.
std::optional<std::string> AsSharedView(const std::string& create_sql) {
  std::string upper;
  for (char c : create_sql) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto at = upper.find("VIEW ");
  if (!upper.starts_with("CREATE ") || at == std::string::npos) return std::nullopt;
  return "CREATE OR REPLACE VIEW " + create_sql.substr(at + 5);
}

}  // namespace

nlohmann::json ConsoleResult::ToJson() const {
  return {
      {"columns", columns}, {"rows", rows}, {"truncated", truncated}, {"elapsed_ms", elapsed_ms}};
}

std::optional<std::string> RefuseByText(const std::string& sql) {
  size_t start = SkipSpaceAndComments(sql, 0);
  if (start >= sql.size()) return "sql: the query is empty";
  if (sql[start] == '(') return std::nullopt;
  size_t end = start;
  while (end < sql.size() &&
         (std::isalpha(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
    ++end;
  }
  std::string word;
  for (size_t i = start; i < end; ++i) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
  }
  static const char* kReadKeywords[] = {"SELECT",   "WITH", "FROM",      "VALUES", "TABLE",
                                        "DESCRIBE", "SHOW", "SUMMARIZE", "PIVOT",  "UNPIVOT"};
  for (const char* keyword : kReadKeywords) {
    if (word == keyword) return std::nullopt;
  }
  return "sql: " + (word.empty() ? std::string("this") : word) +
         " statements are refused: " + kOnlyReads;
}

Result<std::unique_ptr<SqlConsole>> SqlConsole::Open(LakeAccess& lake, ConsoleOptions options) {
  std::error_code ec;
  std::string given = lake.Directory();
  auto lexical = std::filesystem::absolute(given, ec).lexically_normal();
  auto canonical = ec ? lexical : std::filesystem::weakly_canonical(lexical, ec);
  if (ec || given.empty()) {
    return Error::InvalidArgument("sql console: cannot resolve the lake folder '" + given +
                                  "': " + ec.message());
  }
  // The lake names its files under its folder as given; a symbolic link in the path makes the
  // resolved folder differ, so both are allowed.
  std::vector<std::string> allowed;
  for (const auto& path : {lexical, canonical}) {
    std::string folder = path.string();
    if (!folder.ends_with('/')) folder += '/';
    if (std::find(allowed.begin(), allowed.end(), folder) == allowed.end()) {
      allowed.push_back(folder);
    }
  }
  std::string directory = allowed.front();
  std::string allowed_list;
  for (const auto& folder : allowed) {
    allowed_list += (allowed_list.empty() ? "" : ", ") + duck::QuoteString(folder);
  }

  MIGSBYU_ASSIGN(auto db, duck::Database::Open(":memory:"));
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db));
  // The folder is ours (the lake's configuration), not user input; SET takes no parameters.
  const std::string settings = "SET threads = " + std::to_string(options.threads) +
                               ";"
                               "SET memory_limit = " +
                               duck::QuoteString(options.memory_limit) +
                               ";"
                               "SET temp_directory = '';"
                               "SET autoinstall_known_extensions = false;"
                               "SET autoload_known_extensions = false;"
                               "SET allowed_directories = [" +
                               allowed_list +
                               "];"
                               "SET enable_external_access = false;"
                               "SET lock_configuration = true;";
  if (auto status = conn.Execute(settings); !status.ok()) {
    return status.error().WithContext("sql console: cannot configure the sandbox");
  }
  return std::unique_ptr<SqlConsole>(
      new SqlConsole(lake, std::move(options), std::move(directory), std::move(db)));
}

Status SqlConsole::MatchViews(duck::Connection& lake_conn) {
  MIGSBYU_ASSIGN(auto views,
                 lake_conn.Query("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                                 "ORDER BY view_name"));
  std::string script;
  for (uint64_t r = 0; r < views.RowCount(); ++r) {
    auto create = AsSharedView(views.GetString(1, r));
    if (!create) {
      return Error::Internal("sql console: cannot copy lake view " + views.GetString(0, r));
    }
    script += *create + (create->ends_with(';') ? "" : ";");
  }
  std::lock_guard lock(views_mu_);
  if (script == views_sql_) return OkStatus();
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  if (auto status = conn.Execute("BEGIN TRANSACTION;" + script + "COMMIT;"); !status.ok()) {
    (void)conn.Execute("ROLLBACK");
    return status.error().WithContext("sql console: cannot copy the lake's views");
  }
  views_sql_ = std::move(script);
  return OkStatus();
}

Result<ConsoleResult> SqlConsole::Run(const std::string& sql, std::optional<int64_t> limit) {
  int64_t rows_wanted = limit.value_or(options_.default_limit);
  if (rows_wanted < 1 || rows_wanted > options_.max_limit) {
    return Error::InvalidArgument("limit: " + std::to_string(rows_wanted) +
                                  " is not between 1 and " + std::to_string(options_.max_limit));
  }
  if (sql.size() > kMaxSqlBytes) {
    return Error::InvalidArgument("sql: the query is longer than " + std::to_string(kMaxSqlBytes) +
                                  " bytes");
  }
  if (auto refusal = RefuseByText(sql)) return Error::InvalidArgument(*refusal);
  // The query runs inside a lake read so that the snapshot whose files the views name stays
  // pinned (compaction deletes no file of it) until the query is done.
  std::optional<Result<ConsoleResult>> out;
  Status read = lake_.Read([&](duck::Connection& lake_conn) -> Status {
    if (auto matched = MatchViews(lake_conn); !matched.ok()) {
      out.emplace(matched.error());
    } else {
      out.emplace(RunInSandbox(sql, rows_wanted));
    }
    return OkStatus();
  });
  if (!read.ok()) return std::move(read).error();
  return std::move(*out);
}

Result<ConsoleResult> SqlConsole::RunInSandbox(const std::string& sql, int64_t rows_wanted) {
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db_));
  auto refuse_permission = [&](const Error& error) {
    const std::string& m = error.message();
    if (m.find("Permission Error") != std::string::npos) {
      return Error::InvalidArgument(
          "sql: refused: the console reads only the lake's files (under " + directory_ + "): " + m);
    }
    if (m.find("multiple statements") != std::string::npos) {
      return Error::InvalidArgument(std::string("sql: several statements are refused: ") +
                                    kOnlyReads);
    }
    return Error::InvalidArgument("sql: " + m);
  };
  {
    auto prepared = conn.Prepare(sql);
    if (!prepared.ok()) return refuse_permission(prepared.error());
    duckdb_statement_type type = prepared->StatementType();
    if (type != DUCKDB_STATEMENT_TYPE_SELECT) {
      return Error::InvalidArgument(std::string("sql: ") + StatementTypeName(type) +
                                    " statements are refused: " + kOnlyReads);
    }
    if (prepared->ParameterCount() != 0) {
      return Error::InvalidArgument("sql: parameters ($1, ?) are not supported in the console");
    }
  }
  // The row limit: the accepted query as a subquery, one row more than wanted to learn whether
  // there were more.
  const std::string limited =
      "SELECT * FROM (\n" + WithoutTrailingSemicolons(sql) + "\n) AS console_query LIMIT $1";
  auto started = std::chrono::steady_clock::now();
  Watchdog watchdog(conn, options_.time_limit);
  auto result = RunQuery(conn, limited, {Param(rows_wanted + 1)});
  bool interrupted = watchdog.Finish();
  double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!result.ok()) {
    if (interrupted) {
      return Error::InvalidArgument("sql: the query ran longer than the time limit of " +
                                    std::to_string(options_.time_limit.count()) +
                                    " ms and was interrupted");
    }
    return refuse_permission(result.error());
  }
  ConsoleResult out;
  for (const auto& column : result->columns) {
    out.columns.push_back({{"name", column.name}, {"type", column.type}});
  }
  out.rows = RowsToArrays(*result, 0, static_cast<uint64_t>(rows_wanted));
  out.truncated = result->result.RowCount() > static_cast<uint64_t>(rows_wanted);
  out.elapsed_ms = elapsed_ms;
  return out;
}

}  // namespace migsbyu::analytics
