// PgQueryExecutorFactory: the QueryExecutor (oltp/query_executor.h) over PostgreSQL, each loop's
// executor with asynchronous connections of its own (pg::AsyncPool).
//
// Statements that write and statements that only read (Query::read_only) go to separate sets of
// connections. Writes get `write_connections` over all loops, one statement in flight on each:
// concurrent commits then come from different sessions, whose WAL flushes PostgreSQL makes
// together. Reads get `read_connections` (0: one per loop), each pipelining up to
// `read_pipeline_depth` statements, so that the server reads and answers them in batches. Each
// loop gets its share of a total, the first loops taking the remainder, and at least one.
//
// Threading: the factory is immutable once made (ForLoop from any thread); each executor as
// QueryExecutor says.
#pragma once

#include <string>

#include "oltp/query_executor.h"

namespace migsbyu::oltp {

struct PgQueryExecutorOptions {
  int write_connections = 16;
  int read_connections = 0;
  int read_pipeline_depth = 32;
};

class PgQueryExecutorFactory : public QueryExecutorFactory {
 public:
  // `conninfo`: a libpq URL or key=value string; nothing is opened until statements come.
  PgQueryExecutorFactory(std::string conninfo, PgQueryExecutorOptions options = {})
      : conninfo_(std::move(conninfo)), options_(options) {}

  std::unique_ptr<QueryExecutor> ForLoop(EventLoop& loop, size_t index,
                                         size_t loops) const override;

 private:
  const std::string conninfo_;
  const PgQueryExecutorOptions options_;
};

}  // namespace migsbyu::oltp
