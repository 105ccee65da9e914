// QueryExecutor: how code on an event loop has one SQL statement run on the operational database
// without blocking the loop.
//
// The portal's query routes (portal/router.h, Router::AddQuery) describe their statement as a
// Query and make their response from its QueryOutcome; the portal's server asks the router's
// QueryExecutorFactory for one executor per event loop and hands each statement to it. Neither
// the routes nor the server open database connections: `migsbyu serve` (src/app) wires the
// factory to PostgreSQL with PgQueryExecutorFactory (oltp/pg_query_executor.h), tests may wire
// anything else.
//
// Threading: a QueryExecutor is made, used and destroyed on its loop's thread only; its callbacks
// run there too, never inside Run (unless the executor is being destroyed). A factory's ForLoop
// is called from each loop's thread, concurrently: it must be thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::oltp {

// One statement: $1..$n bound to `params` (text), text results.
struct Query {
  std::string sql;
  pg::Params params;
  bool prepared = true;    // the text is fixed (never built from a request): keep it prepared
  bool read_only = false;  // it only reads: it may be pipelined behind other reads
};

// A statement's result, or its error with the server's diagnostics (empty on success and for
// errors the server did not send), as pg::Connection reports them.
struct QueryOutcome {
  Result<pg::PgResult> result;
  pg::ServerError server_error;
};

class QueryExecutor {
 public:
  virtual ~QueryExecutor() = default;
  // Sends `query`, each statement its own transaction, and later calls `done` exactly once with
  // its outcome (kUnavailable when the database cannot be reached or the executor is closing).
  // REQUIRES: the loop's thread; `query.sql` is one statement, neither COPY nor transaction
  // control.
  virtual void Run(Query query, std::function<void(QueryOutcome outcome)> done) = 0;
};

class QueryExecutorFactory {
 public:
  virtual ~QueryExecutorFactory() = default;
  // The executor of loop `index` of `loops` (0 <= index < loops), which may share the
  // database's connections out between the loops. REQUIRES: called on that loop's thread;
  // `loop` outlives the executor.
  virtual std::unique_ptr<QueryExecutor> ForLoop(EventLoop& loop, size_t index,
                                                 size_t loops) const = 0;
};

}  // namespace migsbyu::oltp
