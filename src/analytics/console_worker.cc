#include "analytics/console_worker.h"

#include <unistd.h>

#include <cctype>
#include <exception>
#include <new>
#include <set>

#include "analytics/query.h"
#include "analytics/sql_policy.h"
#include "analytics/worker_process.h"
#include "lake/duck.h"

namespace migsbyu::analytics {
namespace {

using nlohmann::json;

// The reply for an allocation that failed, framed before any query runs: when memory is gone,
// sending it needs none.
std::string& MemoryReplyFrame() {
  static std::string frame;
  return frame;
}

[[noreturn]] void OnAllocationFailure() {
  const std::string& frame = MemoryReplyFrame();
  (void)!::write(STDOUT_FILENO, frame.data(), frame.size());
  _exit(kExitMemory);
}

json FailureReply(const std::string& kind, std::string message) {
  return {{"ok", false}, {"kind", kind}, {"message", std::move(message)}};
}

bool IsMemoryError(const std::string& message) {
  return message.find("Out of Memory") != std::string::npos ||
         message.find("bad_alloc") != std::string::npos ||
         message.find("failed to allocate") != std::string::npos ||
         message.find("Cannot allocate memory") != std::string::npos;
}

// A DuckDB error as the user should read it: without our "duckdb: " prefix and without the
// statement text, which is ours (the query wrapped in a LIMIT), not the user's.
std::string UserMessage(const Error& error) {
  std::string m = error.message();
  if (m.starts_with("duckdb: ")) m = m.substr(8);
  if (auto at = m.rfind(" in: "); at != std::string::npos) m = m.substr(0, at);
  // DuckDB's advice (SET a higher limit, fewer threads, a temporary directory) is for its own
  // users: the console's settings are not the user's to change.
  for (const char* advice :
       {"\n\nPossible solutions", "\nDatabase is launched in in-memory mode", " Use \"SET "}) {
    if (auto at = m.find(advice); at != std::string::npos) m = m.substr(0, at);
  }
  return "sql: " + m;
}

json ErrorReply(const Error& error) {
  std::string message = UserMessage(error);
  return FailureReply(IsMemoryError(message) ? "memory" : "failed", message);
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

// A DuckDB list of string literals.
std::string QuotedList(const std::vector<std::string>& items) {
  std::string list = "[";
  for (size_t i = 0; i < items.size(); ++i) list += (i ? ", " : "") + duck::QuoteString(items[i]);
  return list + "]";
}

// Opens the sandbox database: it may read the request's files and nothing else.
Result<duck::Database> OpenSandbox(const WorkerRequest& request) {
  MIGSBYU_ASSIGN(
      auto db,
      duck::Database::Open(
          ":memory:", {{"threads", std::to_string(std::max(1, request.threads))},
                       {"memory_limit", std::to_string(request.duckdb_memory_bytes / 1024) + "KiB"},
                       {"autoinstall_known_extensions", "false"},
                       {"autoload_known_extensions", "false"},
                       {"allow_community_extensions", "false"},
                       {"allow_persistent_secrets", "false"},
                       {"enable_external_file_cache", "false"}}));
  MIGSBYU_ASSIGN(auto conn, duck::Connection::Open(db));
  // The paths are the portal's (a pinned manifest's files), not the user's.
  MIGSBYU_TRY(
      conn.Execute("SET temp_directory = '';"
                   "SET allowed_directories = [];"
                   "SET allowed_paths = " +
                   QuotedList(request.files) +
                   ";"
                   "SET enable_external_access = false;"));
  // Timestamps print in UTC whatever the machine's zone (DuckDB's ICU extension, linked in):
  // without it every time read back would be silently off.
  MIGSBYU_TRY(conn.Execute("SET TimeZone = 'UTC'"));
  return db;
}

// Creates the request's views, each masked column reading as the masked value, then locks the
// configuration for good.
Status CreateViews(duck::Connection& conn, const WorkerRequest& request) {
  const std::set<std::string> masked(request.masked_columns.begin(), request.masked_columns.end());
  std::string script = "BEGIN TRANSACTION;";
  for (const auto& [name, select] : request.views) {
    MIGSBYU_ASSIGN(auto shape, conn.Query("SELECT * FROM (" + select + ") LIMIT 0"));
    std::string replaced;
    for (uint64_t c = 0; c < shape.ColumnCount(); ++c) {
      std::string column = shape.ColumnName(c);
      if (!masked.count(column)) continue;
      replaced += (replaced.empty() ? "" : ", ") + duck::QuoteString(request.masked_value) +
                  " AS " + duck::QuoteIdentifier(column);
    }
    std::string body =
        replaced.empty() ? select
                         : "SELECT * REPLACE (" + replaced + ") FROM (" + select + ") AS lake_view";
    script += "CREATE VIEW " + duck::QuoteIdentifier(name) + " AS " + body + ";";
  }
  return conn.Execute(script + "COMMIT; SET lock_configuration = true;");
}

// The policy's refusal of `sql`, nullopt when it may run; a failure when DuckDB cannot parse it.
Result<std::optional<std::string>> Check(duck::Connection& conn, const std::string& sql,
                                         const std::set<std::string>& views) {
  MIGSBYU_ASSIGN(auto serialized, RunRaw(conn, "SELECT json_serialize_sql($1::VARCHAR)", {sql}));
  json tree = json::parse(serialized.GetString(0, 0), nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return std::optional<std::string>("sql: the query could not be parsed");
  return RefuseParsedQuery(tree, views);
}

json Answer(const WorkerRequest& request) {
  auto db = OpenSandbox(request);
  if (!db.ok())
    return FailureReply("failed",
                        "sql: the console could not open its sandbox: " + db.error().message());
  auto conn = duck::Connection::Open(*db);
  if (!conn.ok()) return ErrorReply(conn.error());
  std::set<std::string> views;
  for (const auto& [name, select] : request.views) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    views.insert(lower);
  }
  // The policy needs only the views' names: a refused query reads no file at all.
  auto refused = Check(*conn, request.sql, views);
  if (!refused.ok()) return ErrorReply(refused.error());
  if (*refused) return FailureReply("refused", **refused);
  if (auto created = CreateViews(*conn, request); !created.ok()) {
    return FailureReply("failed", "sql: the console could not prepare the lake's views: " +
                                      created.error().message());
  }
  // One row more than wanted tells whether there were more. The statement that runs is checked
  // too, so that no trick of the text (a comment, a quote) can make it differ from what was
  // checked.
  const std::string limited = "SELECT * FROM (\n" + WithoutTrailingSemicolons(request.sql) +
                              "\n) AS console_query LIMIT " + std::to_string(request.rows + 1);
  auto limited_refused = Check(*conn, limited, views);
  if (!limited_refused.ok()) return ErrorReply(limited_refused.error());
  if (*limited_refused) return FailureReply("refused", **limited_refused);

  auto rows = RunQuery(*conn, limited);
  if (!rows.ok()) return ErrorReply(rows.error());
  json columns = json::array();
  for (const auto& column : rows->columns) {
    columns.push_back({{"name", column.name}, {"type", column.type}});
  }
  uint64_t available = rows->result.RowCount();
  uint64_t wanted = static_cast<uint64_t>(request.rows);
  json out_rows = json::array();
  size_t bytes = 2;  // "[]"
  std::optional<std::string> truncated_by;
  for (uint64_t r = 0; r < std::min(available, wanted); ++r) {
    json row = RowsToArrays(*rows, r, 1)[0];
    size_t size = row.dump(-1, ' ', false, json::error_handler_t::replace).size() + 1;
    if (bytes + size > static_cast<size_t>(request.max_bytes)) {
      truncated_by = "bytes";
      break;
    }
    bytes += size;
    out_rows.push_back(std::move(row));
  }
  if (!truncated_by && available > wanted) truncated_by = "rows";
  return {{"ok", true},
          {"columns", std::move(columns)},
          {"rows", std::move(out_rows)},
          {"truncated", truncated_by.has_value()},
          {"truncated_by", truncated_by ? json(*truncated_by) : json(nullptr)}};
}

std::string Dump(const json& reply) {
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string EncodeRequest(const WorkerRequest& request) {
  json views = json::array();
  for (const auto& [name, select] : request.views) {
    views.push_back({{"name", name}, {"select", select}});
  }
  return json{{"sql", request.sql},
              {"rows", request.rows},
              {"max_bytes", request.max_bytes},
              {"duckdb_memory_bytes", request.duckdb_memory_bytes},
              {"threads", request.threads},
              {"views", std::move(views)},
              {"files", request.files},
              {"masked_columns", request.masked_columns},
              {"masked_value", request.masked_value}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<WorkerRequest> DecodeRequest(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error::InvalidArgument("console request: not a JSON object");
  auto string_member = [&](const char* key, std::string* out) -> Status {
    if (!j.contains(key) || !j[key].is_string()) {
      return Error::InvalidArgument(std::string("console request: ") + key + " must be a string");
    }
    *out = j[key].get<std::string>();
    return OkStatus();
  };
  auto integer_member = [&](const char* key, int64_t* out) -> Status {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1) {
      return Error::InvalidArgument(std::string("console request: ") + key +
                                    " must be a positive integer");
    }
    *out = j[key].get<int64_t>();
    return OkStatus();
  };
  auto strings_member = [&](const char* key, std::vector<std::string>* out) -> Status {
    if (!j.contains(key) || !j[key].is_array()) {
      return Error::InvalidArgument(std::string("console request: ") + key + " must be an array");
    }
    for (const auto& item : j[key]) {
      if (!item.is_string()) {
        return Error::InvalidArgument(std::string("console request: ") + key +
                                      " must hold strings");
      }
      out->push_back(item.get<std::string>());
    }
    return OkStatus();
  };
  WorkerRequest r;
  int64_t threads = 1;
  MIGSBYU_TRY(string_member("sql", &r.sql));
  MIGSBYU_TRY(integer_member("rows", &r.rows));
  MIGSBYU_TRY(integer_member("max_bytes", &r.max_bytes));
  MIGSBYU_TRY(integer_member("duckdb_memory_bytes", &r.duckdb_memory_bytes));
  MIGSBYU_TRY(integer_member("threads", &threads));
  r.threads = static_cast<int>(std::min<int64_t>(threads, 64));
  MIGSBYU_TRY(strings_member("files", &r.files));
  MIGSBYU_TRY(strings_member("masked_columns", &r.masked_columns));
  MIGSBYU_TRY(string_member("masked_value", &r.masked_value));
  if (!j.contains("views") || !j["views"].is_array()) {
    return Error::InvalidArgument("console request: views must be an array");
  }
  for (const auto& v : j["views"]) {
    if (!v.is_object() || !v.contains("name") || !v["name"].is_string() || !v.contains("select") ||
        !v["select"].is_string()) {
      return Error::InvalidArgument("console request: each view needs a name and a select");
    }
    r.views.emplace_back(v["name"].get<std::string>(), v["select"].get<std::string>());
  }
  return r;
}

int RunConsoleWorker(pid_t parent) {
  if (!ConfineThisProcess(parent).ok()) return kExitBadStart;
  MemoryReplyFrame() =
      EncodeFrame(Dump(FailureReply("memory", "sql: the query ran out of memory")));
  std::set_new_handler(OnAllocationFailure);
  if (!WriteFrame(STDOUT_FILENO, kWorkerHello).ok()) return kExitBadStart;
  auto text = ReadFrame(STDIN_FILENO, kMaxRequestBytes);
  if (!text.ok()) return kExitBadStart;
  auto request = DecodeRequest(*text);
  if (!request.ok()) return kExitBadStart;
  json reply;
  try {
    reply = Answer(*request);
  } catch (const std::bad_alloc&) {
    OnAllocationFailure();
  } catch (const std::exception& e) {
    reply = FailureReply("failed", std::string("sql: the query failed: ") + e.what());
  }
  return WriteFrame(STDOUT_FILENO, Dump(reply)).ok() ? 0 : kExitBadStart;
}

}  // namespace migsbyu::analytics
