// pg::AsyncPool: PostgreSQL connections driven by one EventLoop, so that a loop thread runs its
// requests' statements without ever blocking on the server.
//
// Each connection is opened, written and read through libpq's asynchronous API (PQconnectStart /
// PQconnectPoll, then non-blocking pipeline mode) with its socket watched by the loop. A query is
// one statement with text-format parameters and text results, sent as its own implicit
// transaction (a pipeline Sync after each), so that a query that fails never affects another one
// pipelined behind it on the same connection. Errors come back exactly as pg::Connection reports
// them (same ErrorCode mapping, same message, same ServerError), so code written for the blocking
// Connection translates them the same way.
//
// Dispatch: a query goes to a connection with nothing in flight if one is ready; otherwise, while
// fewer than max_connections are open or opening, a new connection is opened (the query waits in
// a FIFO queue meanwhile and goes to whichever connection becomes available first); otherwise it
// is pipelined onto the ready connection with the fewest queries in flight, if that is below
// max_pipeline_depth; otherwise it waits in the queue, and fails at once as busy when the queue
// holds max_queued. Callbacks on one connection run in the order their queries were sent.
//
// Prepared queries stay prepared per connection under PreparedStatementName(sql), as
// Connection::ExecPrepared keeps them, at most Connection::kMaxPrepared texts per connection. A
// statement the server no longer holds (SQLSTATE 26000, after DEALLOCATE or DISCARD) or whose
// result type changed (0A000) is prepared again and retried once.
//
// A connection that breaks fails its queries in flight with kUnavailable and is dropped; later
// queries open a new one. A connection attempt that fails fails the queued queries when no other
// connection is open or opening; the pool never reconnects on its own, the next Query tries again.
// Host names are resolved by libpq, blocking, when a connection starts: give a numeric host (or
// hostaddr) to keep the loop from ever waiting on DNS.
//
// Threading: everything, construction and destruction included, on the loop's thread (or before
// the loop runs). Callbacks run on the loop's thread, never inside Query (unless the pool is being
// destroyed); they may call Query and may destroy the pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::pg {

// Called on the loop's thread exactly once per query: the result, or the error with the server's
// diagnostics in `server_error` (empty on success and for errors the server did not send).
using QueryCallback = std::function<void(Result<PgResult> result, const ServerError& server_error)>;

struct AsyncPoolOptions {
  std::string conninfo;           // a libpq URL or key=value string
  size_t max_connections = 8;     // opened lazily, as load needs them
  size_t max_pipeline_depth = 1;  // queries in flight per connection; >1 pipelines
  size_t max_queued = 10000;      // beyond: the query fails at once with kUnavailable ("busy")
  // A connection attempt still unfinished after this fails like a refused one.
  std::chrono::milliseconds connect_timeout{10000};
};

class AsyncPool {
 public:
  // Opens nothing yet. REQUIRES: `loop` outlives the pool.
  AsyncPool(EventLoop& loop, AsyncPoolOptions options);
  // Unwatches and closes every connection; the callbacks of queries still queued or in flight
  // run (inside the destructor) with kUnavailable "postgres: pool closed". A Query from one of
  // those callbacks fails the same way at once. REQUIRES: the loop's thread.
  ~AsyncPool();
  AsyncPool(const AsyncPool&) = delete;
  AsyncPool& operator=(const AsyncPool&) = delete;

  // Sends one statement `sql` with $1..$n bound to `params`, and later runs `callback` with its
  // outcome. `prepared`: the text is fixed (built once, never from request values), so keep it
  // prepared on each connection it runs on; beyond kMaxPrepared texts it runs unnamed.
  // REQUIRES: the loop's thread; `sql` is a single statement, neither COPY nor transaction
  // control (BEGIN, COMMIT), since every query is a transaction of its own.
  void Query(std::string sql, Params params, bool prepared, QueryCallback callback);

  // Queries queued plus in flight; a query stops counting once its outcome is known, just before
  // its callback runs.
  size_t pending() const { return queue_.size() + in_flight_; }
  // Connections open or opening.
  size_t connections() const { return connections_.size(); }

 private:
  struct Statement;
  struct Pending;
  struct Item;
  struct Conn;
  struct Completion;

  void Dispatch(bool may_open);
  void FailQueued(const Error& error);
  bool Open();
  void Send(Conn* c, std::unique_ptr<Pending> q);
  bool Transmit(Conn* c, Pending* p);
  bool Flush(Conn* c);
  void FlushUnflushed();
  bool Rewatch(Conn* c, uint32_t events);
  void OnEvent(Conn* c, uint32_t events);
  void AdvanceConnect(Conn* c);
  void ConnectFailed(Conn* c, const Error& error);
  bool ReadResults(Conn* c);
  void HandleResult(Conn* c, Item& item, ResultHandle result);
  bool EndSegment(Conn* c, Pending* p);
  void Break(Conn* c);
  void Remove(Conn* c);
  void Complete(std::unique_ptr<Pending> q, Result<PgResult> result, ServerError server_error);
  void RunCompletions();
  void PostCompletions();

  EventLoop& loop_;
  const AsyncPoolOptions options_;
  std::vector<std::unique_ptr<Conn>> connections_;
  size_t opening_ = 0;    // connections_ not yet ready
  size_t in_flight_ = 0;  // queries sent, callbacks not yet run
  std::deque<std::unique_ptr<Pending>> queue_;
  // Outcomes whose callbacks are yet to run: every path that finishes a query lands here, and
  // the callbacks run once the pool's state is consistent (end of an event, a posted task).
  std::vector<Completion> completions_;
  bool completions_posted_ = false;
  std::vector<Conn*> unflushed_;  // connections with queries not yet sent
  bool flush_posted_ = false;
  bool closing_ = false;
  // Posted tasks hold a weak_ptr to it: a task that outlives the pool finds it expired.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace migsbyu::pg
