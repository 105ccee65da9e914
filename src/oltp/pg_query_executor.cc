#include "oltp/pg_query_executor.h"

#include <algorithm>

#include "pg/async_pool.h"

namespace migsbyu::oltp {
namespace {

class PgQueryExecutor : public QueryExecutor {
 public:
  PgQueryExecutor(EventLoop& loop, const pg::AsyncPoolOptions& writes,
                  const pg::AsyncPoolOptions& reads)
      : writes_(loop, writes), reads_(loop, reads) {}

  void Run(Query query, std::function<void(QueryOutcome outcome)> done) override {
    pg::AsyncPool& pool = query.read_only ? reads_ : writes_;
    pool.Query(
        std::move(query.sql), std::move(query.params), query.prepared,
        [done = std::move(done)](Result<pg::PgResult> result, const pg::ServerError& server_error) {
          done(QueryOutcome{std::move(result), server_error});
        });
  }

 private:
  pg::AsyncPool writes_;
  pg::AsyncPool reads_;
};

}  // namespace

std::unique_ptr<QueryExecutor> PgQueryExecutorFactory::ForLoop(EventLoop& loop, size_t index,
                                                               size_t loops) const {
  loops = std::max<size_t>(1, loops);
  // This loop's share of `total`, the first loops taking the remainder; at least one.
  auto share = [&](int total) {
    const size_t n = static_cast<size_t>(std::max(1, total));
    return std::max<size_t>(1, n / loops + (index < n % loops ? 1 : 0));
  };
  pg::AsyncPoolOptions writes;
  writes.conninfo = conninfo_;
  writes.max_connections = share(options_.write_connections);
  writes.max_pipeline_depth = 1;
  pg::AsyncPoolOptions reads = writes;
  reads.max_connections = options_.read_connections > 0 ? share(options_.read_connections) : 1;
  reads.max_pipeline_depth = static_cast<size_t>(std::max(1, options_.read_pipeline_depth));
  return std::make_unique<PgQueryExecutor>(loop, writes, reads);
}

}  // namespace migsbyu::oltp
