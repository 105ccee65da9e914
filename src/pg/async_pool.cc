#include "pg/async_pool.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>

namespace migsbyu::pg {
namespace {

std::vector<const char*> Values(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return values;
}

std::string Trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool StatementGone(const std::string& sqlstate) {
  // 26000: the server no longer holds the statement (DEALLOCATE, DISCARD); 0A000 "cached plan
  // must not change result type": a table's columns changed under it.
  return sqlstate == "26000" || sqlstate == "0A000";
}

}  // namespace

// A text prepared, or being prepared, on one connection.
struct AsyncPool::Statement {
  std::string sql;
  // Which PQsendPrepare made it: a query that finds its statement gone prepares it again only if
  // no other query has already done so since it was sent.
  uint64_t generation;
};

struct AsyncPool::Pending {
  Pending(std::string sql, Params params, bool prepared, QueryCallback callback)
      : sql(std::move(sql)),
        params(std::move(params)),
        prepared(prepared),
        callback(std::move(callback)) {}

  std::string sql;
  Params params;
  bool prepared;
  QueryCallback callback;

  std::optional<Result<PgResult>> outcome;
  ServerError server_error;
  bool retry = false;       // its statement was gone: send it again when its segment ends
  bool deallocate = false;  // ... after dropping the stale one the server still holds (0A000)
  bool retried = false;
  bool done = false;  // its last segment ended; its callback waits for the queries sent before it
};

// One command sent on a connection whose results are still to come, in the order sent.
struct AsyncPool::Item {
  enum Kind { kPrepare, kExecute, kDeallocate, kSync };
  explicit Item(Kind kind, Pending* query = nullptr, std::string name = {}, uint64_t generation = 0)
      : kind(kind), query(query), name(std::move(name)), generation(generation) {}

  Kind kind;
  Pending* query;    // null for a DEALLOCATE's segment, which no query waits on
  std::string name;  // kPrepare, and kExecute of a named statement
  uint64_t generation;
  bool answered = false;  // a result came; the null that ends the command is still to come
};

struct AsyncPool::Completion {
  QueryCallback callback;
  Result<PgResult> result;
  ServerError server_error;
};

// One PGconn: the destructor unwatches its socket and cancels its connect timer before `handle`
// closes it.
struct AsyncPool::Conn {
  Conn(EventLoop& loop, ConnHandle conn) : loop(loop), handle(std::move(conn)), pg(handle.get()) {}
  ~Conn() {
    if (fd >= 0) loop.Unwatch(fd);
    if (timer != 0) loop.Cancel(timer);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  EventLoop& loop;
  ConnHandle handle;
  PGconn* const pg;  // handle's, for libpq's calls
  int fd = -1;
  bool ready = false;      // connected, non-blocking, in pipeline mode
  bool writing = false;    // PQflush left output unsent: EPOLLOUT is watched
  bool unflushed = false;  // queries written to libpq's buffer, to be sent at the end of the pass
  EventLoop::TimerId timer = 0;
  std::deque<Item> items;
  std::deque<std::unique_ptr<Pending>> queries;           // in flight, in the order sent
  std::unordered_map<std::string, Statement> statements;  // by name
  uint64_t next_generation = 1;
};

AsyncPool::AsyncPool(EventLoop& loop, AsyncPoolOptions options)
    : loop_(loop), options_(std::move(options)) {}

AsyncPool::~AsyncPool() {
  closing_ = true;
  const Error closed = Error::Unavailable("postgres: pool closed");
  for (auto& c : connections_) {
    for (auto& q : c->queries) Complete(std::move(q), closed, {});
  }
  FailQueued(closed);
  in_flight_ = 0;
  connections_.clear();
  RunCompletions();
}

void AsyncPool::Query(std::string sql, Params params, bool prepared, QueryCallback callback) {
  if (closing_) {
    callback(Error::Unavailable("postgres: pool closed"), ServerError{});
    return;
  }
  if (queue_.size() >= options_.max_queued) {
    completions_.push_back({std::move(callback),
                            Error::Unavailable("postgres: busy: " + std::to_string(queue_.size()) +
                                               " queries already wait for a connection"),
                            {}});
    PostCompletions();
    return;
  }
  queue_.push_back(
      std::make_unique<Pending>(std::move(sql), std::move(params), prepared, std::move(callback)));
  Dispatch(/*may_open=*/true);
  PostCompletions();
}

void AsyncPool::Dispatch(bool may_open) {
  while (!queue_.empty()) {
    Conn* idle = nullptr;
    Conn* least = nullptr;
    for (auto& c : connections_) {
      if (!c->ready) continue;
      if (c->queries.empty()) {
        idle = c.get();
        break;
      }
      if (least == nullptr || c->queries.size() < least->queries.size()) least = c.get();
    }
    // The first `opening_` queued queries wait for the connections being opened for them; only
    // those beyond may be pipelined.
    const bool beyond_opening = queue_.size() > opening_;
    if (idle == nullptr && may_open && beyond_opening &&
        connections_.size() < options_.max_connections) {
      if (!Open()) break;
      continue;
    }
    if (idle == nullptr && beyond_opening && least != nullptr &&
        least->queries.size() < options_.max_pipeline_depth) {
      idle = least;
    }
    if (idle == nullptr) break;
    auto q = std::move(queue_.front());
    queue_.pop_front();
    Send(idle, std::move(q));
  }
  // Nothing would ever take these queries: a connection broke while sending after a failed
  // attempt, or max_connections is 0.
  if (connections_.empty())
    FailQueued(Error::Unavailable("postgres: cannot connect: no connection"));
}

void AsyncPool::FailQueued(const Error& error) {
  for (auto& q : queue_) Complete(std::move(q), error, {});
  queue_.clear();
}

bool AsyncPool::Open() {
  ConnHandle pg(PQconnectStart(options_.conninfo.c_str()));
  std::optional<Error> failed;
  if (pg == nullptr) {
    failed = Error::Unavailable("postgres: cannot connect: out of memory");
  } else if (PQstatus(pg.get()) == CONNECTION_BAD) {
    failed = ConnectError(pg.get());
  }
  if (failed) {
    if (connections_.empty()) FailQueued(*failed);
    return false;
  }
  connections_.push_back(std::make_unique<Conn>(loop_, std::move(pg)));
  Conn* c = connections_.back().get();
  ++opening_;
  // Before the first PQconnectPoll, libpq wants the socket to be writable.
  if (!Rewatch(c, EPOLLOUT)) {
    ConnectFailed(
        c, Error::Unavailable(std::string("postgres: cannot connect: cannot watch socket: ") +
                              std::strerror(errno)));
    return false;
  }
  c->timer = loop_.RunAfter(options_.connect_timeout, [this, c] {
    c->timer = 0;
    ConnectFailed(c, Error::Unavailable("postgres: cannot connect: no connection within " +
                                        std::to_string(options_.connect_timeout.count()) + " ms"));
    Dispatch(/*may_open=*/false);
    RunCompletions();
  });
  return true;
}

bool AsyncPool::Rewatch(Conn* c, uint32_t events) {
  // Unwatch and watch again rather than Modify: while connecting, libpq may close its socket and
  // open another that gets the same number, which epoll has silently dropped from its set.
  if (c->fd >= 0) loop_.Unwatch(c->fd);
  c->fd = PQsocket(c->pg);
  if (c->fd < 0) return false;
  if (!loop_.Watch(c->fd, events, [this, c](uint32_t ready) { OnEvent(c, ready); })) {
    c->fd = -1;
    return false;
  }
  return true;
}

void AsyncPool::OnEvent(Conn* c, uint32_t events) {
  if (!c->ready) {
    AdvanceConnect(c);
    RunCompletions();
    return;
  }
  bool ok = true;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ok = PQconsumeInput(c->pg) != 0;
  if (ok && c->writing) ok = Flush(c);
  // Also after a flush: libpq reads what the server sent while a write would block.
  if (ok) ok = ReadResults(c);
  // A hung-up socket stays readable: read what it held, then drop it rather than spin.
  if (!ok || (events & (EPOLLERR | EPOLLHUP)) || PQstatus(c->pg) != CONNECTION_OK) Break(c);
  Dispatch(/*may_open=*/true);
  RunCompletions();
}

void AsyncPool::AdvanceConnect(Conn* c) {
  bool watched = false;
  switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
      if (Rewatch(c, EPOLLIN)) return;
      break;
    case PGRES_POLLING_WRITING:
      if (Rewatch(c, EPOLLOUT)) return;
      break;
    case PGRES_POLLING_OK:
      watched =
          PQsetnonblocking(c->pg, 1) == 0 && PQenterPipelineMode(c->pg) == 1 && Rewatch(c, EPOLLIN);
      if (watched) {
        c->ready = true;
        --opening_;
        loop_.Cancel(c->timer);
        c->timer = 0;
        Dispatch(/*may_open=*/true);
        return;
      }
      break;
    default:
      break;
  }
  ConnectFailed(c, ConnectError(c->pg));
  Dispatch(/*may_open=*/false);
}

void AsyncPool::ConnectFailed(Conn* c, const Error& error) {
  Remove(c);
  if (connections_.empty()) FailQueued(error);  // otherwise they wait for the others
}

void AsyncPool::Send(Conn* c, std::unique_ptr<Pending> q) {
  Pending* p = q.get();
  c->queries.push_back(std::move(q));
  ++in_flight_;
  if (!Transmit(c, p)) {
    Break(c);
    return;
  }
  // Sent at the end of the loop's pass, so that the queries of one pass that go to the same
  // connection leave in one write.
  if (!c->unflushed) {
    c->unflushed = true;
    unflushed_.push_back(c);
  }
  if (!flush_posted_) {
    flush_posted_ = true;
    loop_.Post([this, alive = std::weak_ptr<char>(alive_)] {
      if (alive.expired()) return;
      flush_posted_ = false;
      FlushUnflushed();
    });
  }
}

void AsyncPool::FlushUnflushed() {
  std::vector<Conn*> batch;
  batch.swap(unflushed_);
  bool broke = false;
  for (Conn* c : batch) {
    c->unflushed = false;
    if (!Flush(c)) {
      Break(c);
      broke = true;
    }
  }
  if (broke) Dispatch(/*may_open=*/true);
  RunCompletions();
}

bool AsyncPool::Transmit(Conn* c, Pending* p) {
  const auto values = Values(p->params);
  const int n = static_cast<int>(values.size());
  Item execute(Item::kExecute, p);
  if (p->prepared) {
    std::string name = PreparedStatementName(p->sql);
    auto it = c->statements.find(name);
    if (it == c->statements.end() && p->deallocate) {
      // A segment of its own, so that its failure (nothing to drop) aborts nothing else.
      p->deallocate = false;
      if (!PQsendQueryParams(c->pg, ("DEALLOCATE " + name).c_str(), 0, nullptr, nullptr, nullptr,
                             nullptr, 0) ||
          !PQpipelineSync(c->pg)) {
        return false;
      }
      c->items.emplace_back(Item::kDeallocate);
      c->items.emplace_back(Item::kSync);
    }
    if (it == c->statements.end() && c->statements.size() < Connection::kMaxPrepared) {
      if (!PQsendPrepare(c->pg, name.c_str(), p->sql.c_str(), 0, nullptr)) return false;
      const uint64_t generation = c->next_generation++;
      it = c->statements.emplace(name, Statement{p->sql, generation}).first;
      c->items.emplace_back(Item::kPrepare, p, name, generation);
    }
    // Not prepared: beyond kMaxPrepared, or another text has this name.
    if (it != c->statements.end() && it->second.sql == p->sql) {
      execute.name = std::move(name);
      execute.generation = it->second.generation;
    }
  }
  const bool sent =
      execute.name.empty()
          ? PQsendQueryParams(c->pg, p->sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0)
          : PQsendQueryPrepared(c->pg, execute.name.c_str(), n, values.data(), nullptr, nullptr, 0);
  if (!sent || !PQpipelineSync(c->pg)) return false;
  c->items.push_back(std::move(execute));
  c->items.emplace_back(Item::kSync, p);
  return true;
}

bool AsyncPool::Flush(Conn* c) {
  const int r = PQflush(c->pg);
  if (r < 0) return false;
  const bool writing = r == 1;
  if (writing != c->writing) {
    c->writing = writing;
    loop_.Modify(c->fd, writing ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
  return true;
}

bool AsyncPool::ReadResults(Conn* c) {
  // In pipeline mode each command's results end with a null; a Sync is one PGRES_PIPELINE_SYNC
  // result with no null after it.
  while (!c->items.empty() && !PQisBusy(c->pg)) {
    ResultHandle result(PQgetResult(c->pg));
    Item& item = c->items.front();
    if (item.kind == Item::kSync) {
      const bool synced = result != nullptr && PQresultStatus(result.get()) == PGRES_PIPELINE_SYNC;
      if (!synced) return false;
      Pending* p = item.query;
      c->items.pop_front();
      if (p != nullptr && !EndSegment(c, p)) return false;
      continue;
    }
    if (result != nullptr) {
      item.answered = true;
      HandleResult(c, item, std::move(result));
      continue;
    }
    const bool answered = item.answered;
    c->items.pop_front();
    if (!answered) return false;  // every command has a result before its null
  }
  return true;
}

void AsyncPool::HandleResult(Conn* c, Item& item, ResultHandle result) {
  Pending* p = item.query;
  const ExecStatusType status = PQresultStatus(result.get());
  // The statement is forgotten only if no other query has prepared it again since.
  auto forget = [&] {
    auto it = c->statements.find(item.name);
    if (it == c->statements.end() || it->second.generation != item.generation) return false;
    c->statements.erase(it);
    return true;
  };
  switch (item.kind) {
    case Item::kDeallocate:
    case Item::kSync:
      return;
    case Item::kPrepare: {
      if (status == PGRES_COMMAND_OK) return;
      auto r = CheckResult(c->pg, std::move(result), &p->server_error);
      if (!r.ok()) p->outcome = std::move(r);
      forget();
      return;
    }
    case Item::kExecute: {
      if (status == PGRES_PIPELINE_ABORTED) {
        // The prepare in front of it failed and said why; nothing else shares its segment.
        if (!p->outcome) {
          p->outcome = Error::Internal("postgres: statement skipped by its failed pipeline");
        }
        return;
      }
      ServerError server_error;
      auto r = CheckResult(c->pg, std::move(result), &server_error);
      if (!r.ok() && !item.name.empty() && !p->retried && StatementGone(server_error.sqlstate) &&
          PQstatus(c->pg) == CONNECTION_OK) {
        p->retry = true;
        if (forget() && server_error.sqlstate == "0A000") p->deallocate = true;
        return;
      }
      p->outcome = std::move(r);
      p->server_error = std::move(server_error);
      return;
    }
  }
}

bool AsyncPool::EndSegment(Conn* c, Pending* p) {
  if (p->retry) {
    p->retry = false;
    p->retried = true;
    return Transmit(c, p) && Flush(c);
  }
  p->done = true;
  while (!c->queries.empty() && c->queries.front()->done) {
    std::unique_ptr<Pending> q = std::move(c->queries.front());
    c->queries.pop_front();
    --in_flight_;
    Result<PgResult> outcome =
        q->outcome ? std::move(*q->outcome) : Error::Internal("postgres: statement gave no result");
    ServerError server_error = std::move(q->server_error);
    Complete(std::move(q), std::move(outcome), std::move(server_error));
  }
  return true;
}

void AsyncPool::Break(Conn* c) {
  std::string message = Trimmed(PQerrorMessage(c->pg));
  const Error lost =
      Error::Unavailable("postgres: " + (message.empty() ? "connection lost" : message));
  for (auto& q : c->queries) {
    --in_flight_;
    // A statement that failed keeps its own error; one that succeeded without its Sync read may
    // not have committed, so it failed too.
    if (q->outcome && !q->outcome->ok()) {
      Result<PgResult> outcome = std::move(*q->outcome);
      ServerError server_error = std::move(q->server_error);
      Complete(std::move(q), std::move(outcome), std::move(server_error));
    } else {
      Complete(std::move(q), lost, ServerError{"08006", "", "", "", ""});
    }
  }
  c->queries.clear();
  Remove(c);
}

void AsyncPool::Remove(Conn* c) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [c](const std::unique_ptr<Conn>& owned) { return owned.get() == c; });
  if (it == connections_.end()) return;
  if (!c->ready) --opening_;
  std::erase(unflushed_, c);
  connections_.erase(it);
}

void AsyncPool::Complete(std::unique_ptr<Pending> q, Result<PgResult> result,
                         ServerError server_error) {
  completions_.push_back({std::move(q->callback), std::move(result), std::move(server_error)});
}

void AsyncPool::RunCompletions() {
  if (completions_.empty()) return;
  // Swapped out first: a callback may call Query, or destroy the pool.
  std::vector<Completion> batch;
  batch.swap(completions_);
  for (auto& done : batch) done.callback(std::move(done.result), done.server_error);
}

void AsyncPool::PostCompletions() {
  if (completions_.empty() || completions_posted_) return;
  completions_posted_ = true;
  loop_.Post([this, alive = std::weak_ptr<char>(alive_)] {
    if (alive.expired()) return;
    completions_posted_ = false;
    RunCompletions();
  });
}

}  // namespace migsbyu::pg
