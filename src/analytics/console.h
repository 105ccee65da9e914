// SqlConsole: the analytics API's read-only SQL console over the lake.
//
// A user's SQL runs in a DuckDB database of its own, never in the lake's: an in-memory instance
// that may read files under the lake's folder and nothing else (allowed_directories = the lake's
// folder, enable_external_access = false, extension autoload and autoinstall off, no temporary
// directory), with its configuration then locked (lock_configuration = true) so no statement
// can loosen it. The contract views (students_dim, ..., takes_changes) are copied into it from
// the lake snapshot each query reads (re-copied only when they changed), and that snapshot
// stays pinned until the query ends, so compaction cannot delete the files under it.
//
// A query is accepted only if it is one statement, of DuckDB's SELECT type, starting with a
// read keyword (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT, UNPIVOT or
// a parenthesis), with no parameters: COPY, ATTACH, DETACH, INSTALL, LOAD, SET, RESET, PRAGMA,
// EXPORT, IMPORT, CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, CALL, EXPLAIN, transactions, ...
// are refused before anything runs. It returns at most `limit` rows (default 1,000, at most
// 10,000; the answer says whether more existed) and is interrupted after the time limit
// (default 5 s).
// Every refusal is a kInvalidArgument error whose message says why ("sql: ...").
//
// Threading: Run is thread-safe; each call gets its own connection and watchdog thread, so
// queries run concurrently and one query's interrupt never touches another. The LakeAccess must
// outlive the console.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analytics/lake_access.h"
#include "common/result.h"
#include "lake/duck.h"

namespace migsbyu::analytics {

struct ConsoleOptions {
  int64_t default_limit = 1000;
  int64_t max_limit = 10000;
  std::chrono::milliseconds time_limit{5000};
  std::string memory_limit = "1GB";
  int threads = 2;
};

struct ConsoleResult {
  nlohmann::json columns = nlohmann::json::array();  // [{"name", "type"}, ...]
  nlohmann::json rows = nlohmann::json::array();     // [[value, ...], ...], query.h JSON forms
  bool truncated = false;                            // the query had more than `limit` rows
  double elapsed_ms = 0;

  // {"columns", "rows", "truncated", "elapsed_ms"}: the body of POST /analytics/sql.
  nlohmann::json ToJson() const;
};

class SqlConsole {
 public:
  // Opens the sandbox for `lake`'s folder. Fails if the folder cannot be resolved or DuckDB
  // refuses a setting.
  static Result<std::unique_ptr<SqlConsole>> Open(LakeAccess& lake, ConsoleOptions options = {});

  SqlConsole(const SqlConsole&) = delete;
  SqlConsole& operator=(const SqlConsole&) = delete;

  // Runs one read query over the lake's latest snapshot and returns its first `limit` rows
  // (nullopt: the default limit). Refusals, SQL errors, a limit out of range and a query over the
  // time limit are kInvalidArgument with the reason.
  Result<ConsoleResult> Run(const std::string& sql, std::optional<int64_t> limit);

  const ConsoleOptions& options() const { return options_; }
  const std::string& directory() const { return directory_; }

 private:
  SqlConsole(LakeAccess& lake, ConsoleOptions options, std::string directory, duck::Database db)
      : lake_(lake),
        options_(std::move(options)),
        directory_(std::move(directory)),
        db_(std::move(db)) {}

  // Makes the sandbox's views those of `lake_conn` (a lake snapshot), copying them when they
  // differ from the last copy.
  Status MatchViews(duck::Connection& lake_conn);
  Result<ConsoleResult> RunInSandbox(const std::string& sql, int64_t rows_wanted);

  LakeAccess& lake_;
  const ConsoleOptions options_;
  const std::string directory_;  // absolute, with a trailing '/'
  duck::Database db_;

  std::mutex views_mu_;
  std::string views_sql_;  // GUARDED_BY(views_mu_): the CREATE VIEW script last copied
};

// Why `sql` may not run in the console (the "sql: ..." message of the refusal), judged from its
// text alone: empty, or not starting with a read keyword. nullopt when the text may go on to
// DuckDB's own checks.
std::optional<std::string> RefuseByText(const std::string& sql);

}  // namespace migsbyu::analytics
