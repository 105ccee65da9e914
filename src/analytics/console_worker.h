// The SQL console's worker: the process in which one user query runs, and the messages it
// exchanges with the portal (this header owns their format).
//
// SqlConsole (console.h) starts `migsbyu console-worker --parent <pid>` (a hidden subcommand of
// the portal's own binary, run through /proc/self/exe) for each query, through WorkerProcess
// (worker_process.h), and discards it afterwards: no state survives from one query, or one user,
// to the next. A worker:
//   1. confines itself (ConfineThisProcess) and sends the hello frame "ready";
//   2. reads one request frame (at most kMaxRequestBytes);
//   3. opens an in-memory DuckDB that may read the request's files and nothing else
//      (allowed_paths = those files, enable_external_access = false, no extension installed or
//      loaded, no temporary directory, no persistent secrets, its memory_limit and threads), and
//      creates the request's views over them: a masked column reads as the masked value in its
//      view, so no query can reach the value underneath; then locks the configuration;
//   4. has DuckDB parse the query (json_serialize_sql) and checks the tree (sql_policy.h), runs the
//      query as a subquery with a LIMIT one row over the request's, checks that statement's tree
//      too, and answers the rows that fit in the request's byte budget;
//   5. sends one reply frame and exits 0.
// An allocation that fails outside DuckDB (which reports its own as errors) sends the memory reply
// and exits kExitMemory. Resource limits are the parent's to set and enforce (worker_process.h).
//
// Request, JSON:
//   {"sql": text, "rows": n, "max_bytes": b, "duckdb_memory_bytes": m, "threads": t,
//    "views": [{"name": view, "select": SELECT over files}, ...], "files": [absolute path, ...],
//    "masked_columns": [column, ...], "masked_value": "***"}
//   rows: answer at most n rows (and say whether there were more); max_bytes: at most b bytes of
//   rows, as their JSON text.
// Reply, JSON, one of:
//   {"ok": true, "columns": [{"name", "type"}, ...], "rows": [[value, ...], ...] (query.h's JSON
//    forms), "truncated": bool, "truncated_by": "rows" | "bytes" | null}
//   {"ok": false, "kind": "refused" | "failed" | "memory", "message": "sql: ..."}
//
// Threading: a worker is single-threaded apart from DuckDB's own threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace migsbyu::analytics {

inline constexpr const char* kWorkerCommand = "console-worker";
inline constexpr const char* kWorkerHello = "ready";
inline constexpr size_t kMaxRequestBytes = size_t{64} << 20;
inline constexpr int kExitBadStart = 2;  // confinement or the request failed: no reply
inline constexpr int kExitMemory = 3;    // an allocation failed; the memory reply was sent

struct WorkerRequest {
  std::string sql;
  int64_t rows = 1000;
  int64_t max_bytes = 1 << 20;
  int64_t duckdb_memory_bytes = 256 << 20;
  int threads = 1;
  std::vector<std::pair<std::string, std::string>> views;  // name, SELECT
  std::vector<std::string> files;
  std::vector<std::string> masked_columns;
  std::string masked_value = "***";
};

std::string EncodeRequest(const WorkerRequest& request);
// kInvalidArgument naming the member that is missing or of the wrong type.
Result<WorkerRequest> DecodeRequest(const std::string& text);

// The worker's whole life (steps 1 to 5) on stdin and stdout; returns the exit status. `parent`
// is the pid of the portal that started it.
int RunConsoleWorker(pid_t parent);

}  // namespace migsbyu::analytics
