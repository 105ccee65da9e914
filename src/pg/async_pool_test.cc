#include "pg/async_pool.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "support/test_database.h"

namespace migsbyu::pg {
namespace {

using namespace std::chrono_literals;

// Runs the loop on the test's thread until a callback stops it; a loop still running after
// `deadline` fails the test and stops.
void RunLoop(EventLoop& loop, std::chrono::milliseconds deadline = 60s) {
  auto timer = loop.RunAfter(deadline, [&loop] {
    ADD_FAILURE() << "the loop was still running after its deadline";
    loop.Stop();
  });
  loop.Run();
  loop.Cancel(timer);
}

AsyncPoolOptions Options(const std::string& url, size_t max_connections, size_t depth) {
  AsyncPoolOptions options;
  options.conninfo = url;
  options.max_connections = max_connections;
  options.max_pipeline_depth = depth;
  return options;
}

// A port on 127.0.0.1 that nothing listens on: bound by us, then closed.
int ClosedPort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  return ntohs(addr.sin_port);
}

// A socket listening on 127.0.0.1; its port through `port`.
UniqueFd ListeningSocket(int* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.Get(), 16), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string Cell(const Result<PgResult>& r, int row = 0, int col = 0) {
  if (!r.ok()) return "error: " + r.error().ToString();
  if (row >= r->rows() || col >= r->columns()) return "no such cell";
  return std::string(r->Get(row, col));
}

class AsyncPoolLoadTest : public ::testing::TestWithParam<size_t> {};

TEST_P(AsyncPoolLoadTest, ManyQueriesReturnTheirRowsInSendOrderOnEachConnection) {
  testing::TestDatabase db;
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 4, GetParam()));
  constexpr int kQueries = 200;
  std::map<std::string, std::vector<int>> answered_by_backend;
  int answered = 0;
  for (int i = 0; i < kQueries; ++i) {
    pool.Query("SELECT $1::int, pg_backend_pid()", {std::to_string(i)}, /*prepared=*/i % 2 == 0,
               [&, i](Result<PgResult> r, const ServerError&) {
                 EXPECT_EQ(Cell(r), std::to_string(i));
                 if (r.ok()) answered_by_backend[Cell(r, 0, 1)].push_back(i);
                 if (++answered == kQueries) loop.Stop();
               });
  }
  EXPECT_EQ(pool.pending(), static_cast<size_t>(kQueries));
  EXPECT_EQ(pool.connections(), 4u);
  RunLoop(loop);
  EXPECT_EQ(answered, kQueries);
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_LE(pool.connections(), 4u);
  EXPECT_LE(answered_by_backend.size(), 4u);
  for (const auto& [backend, order] : answered_by_backend) {
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << "backend " << backend;
  }
}

INSTANTIATE_TEST_SUITE_P(PipelineDepth, AsyncPoolLoadTest, ::testing::Values(1, 8));

TEST(AsyncPoolTest, UniqueViolationIsReportedAsConnectionDoesAndSparesTheQueryBehindIt) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)").ok());
  const std::string insert = "INSERT INTO t VALUES ($1)";
  auto blocking = conn->ExecParams(insert, {"1"});
  ASSERT_FALSE(blocking.ok());
  const ServerError expected = conn->last_server_error();

  EventLoop loop;
  // One connection, pipelined: each duplicate has the next insert right behind it.
  AsyncPool pool(loop, Options(db.url(), 1, 8));
  std::vector<std::string> order;
  auto expect_duplicate = [&](std::string name) {
    return [&, name](Result<PgResult> r, const ServerError& server_error) {
      order.push_back(name);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
      EXPECT_EQ(r.error().message(), blocking.error().message());
      EXPECT_EQ(server_error.sqlstate, "23505");
      EXPECT_EQ(server_error.constraint, "t_pkey");
      EXPECT_EQ(server_error.table, expected.table);
      EXPECT_EQ(server_error.column, expected.column);
      EXPECT_EQ(server_error.detail, expected.detail);
    };
  };
  auto expect_inserted = [&](std::string name) {
    return [&, name](Result<PgResult> r, const ServerError& server_error) {
      order.push_back(name);
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_EQ(r->AffectedRows(), 1);
      EXPECT_EQ(server_error.sqlstate, "");
    };
  };
  pool.Query(insert, {"1"}, false, expect_duplicate("duplicate"));
  pool.Query(insert, {"2"}, false, expect_inserted("insert 2"));
  pool.Query(insert, {"1"}, true, expect_duplicate("prepared duplicate"));
  pool.Query(insert, {"3"}, true, expect_inserted("prepared insert 3"));
  pool.Query("SELECT count(*) FROM t", {}, false, [&](Result<PgResult> r, const ServerError&) {
    order.push_back("count");
    EXPECT_EQ(Cell(r), "3");
    loop.Stop();
  });
  RunLoop(loop);
  EXPECT_EQ(order, (std::vector<std::string>{"duplicate", "insert 2", "prepared duplicate",
                                             "prepared insert 3", "count"}));
}

TEST(AsyncPoolTest, PreparedStatementsAreReusedAndSurviveDeallocateAllAndNewColumns) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)").ok());
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 1, 8));
  const std::string select = "SELECT * FROM t WHERE id = $1";
  const std::string plus = "SELECT $1::int + 1";
  const std::string statements =
      "SELECT name, statement FROM pg_prepared_statements ORDER BY statement";
  auto expect_ok = [](Result<PgResult> r, const ServerError&) {
    EXPECT_TRUE(r.ok()) << r.error().ToString();
  };

  std::function<void()> after_deallocate, after_alter;
  for (int i = 0; i < 3; ++i) {
    pool.Query(select, {"1"}, true, expect_ok);
    pool.Query(plus, {std::to_string(i)}, true, [i](Result<PgResult> r, const ServerError&) {
      EXPECT_EQ(Cell(r), std::to_string(i + 1));
    });
  }
  pool.Query(statements, {}, false, [&](Result<PgResult> r, const ServerError&) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ASSERT_EQ(r->rows(), 2);
    EXPECT_EQ(r->Get(0, 0), PreparedStatementName(plus));
    EXPECT_EQ(r->Get(0, 1), plus);
    EXPECT_EQ(r->Get(1, 0), PreparedStatementName(select));
    EXPECT_EQ(r->Get(1, 1), select);
    // Through the pool itself, so that its one connection loses what it prepared.
    pool.Query("DEALLOCATE ALL", {}, false, expect_ok);
    pool.Query(select, {"1"}, true, [&](Result<PgResult> again, const ServerError&) {
      EXPECT_EQ(Cell(again), "1");
      after_deallocate();
    });
  });
  after_deallocate = [&] {
    pool.Query(statements, {}, false, [&](Result<PgResult> r, const ServerError&) {
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_EQ(r->rows(), 1);
      EXPECT_EQ(Cell(r, 0, 1), select);
      // A column more: the statement's result type changed (SQLSTATE 0A000).
      ASSERT_TRUE(conn->Exec("ALTER TABLE t ADD COLUMN n int DEFAULT 7").ok());
      pool.Query(select, {"1"}, true, [&](Result<PgResult> wider, const ServerError&) {
        ASSERT_TRUE(wider.ok()) << wider.error().ToString();
        EXPECT_EQ(wider->columns(), 2);
        EXPECT_EQ(Cell(wider, 0, 1), "7");
        after_alter();
      });
    });
  };
  after_alter = [&] {
    pool.Query(statements, {}, false, [&](Result<PgResult> r, const ServerError&) {
      EXPECT_EQ(r.ok() ? r->rows() : -1, 1);
      loop.Stop();
    });
  };
  RunLoop(loop);
}

TEST(AsyncPoolTest, AFailedPrepareFailsItsOwnQueryOnly) {
  testing::TestDatabase db;
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 1, 8));
  int answered = 0;
  auto expect_syntax_error = [&](Result<PgResult> r, const ServerError& server_error) {
    ++answered;
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
    EXPECT_EQ(server_error.sqlstate, "42601");
    EXPECT_NE(r.error().message().find("(SQLSTATE 42601)"), std::string::npos);
  };
  pool.Query("SELEC $1", {"1"}, true, expect_syntax_error);
  pool.Query("SELECT $1::int", {"5"}, true, [&](Result<PgResult> r, const ServerError&) {
    ++answered;
    EXPECT_EQ(Cell(r), "5");
  });
  // The same text again: prepared afresh, failing the same way.
  pool.Query("SELEC $1", {"1"}, true, expect_syntax_error);
  pool.Query("SELECT count(*) FROM pg_prepared_statements", {}, false,
             [&](Result<PgResult> r, const ServerError&) {
               EXPECT_EQ(Cell(r), "1");
               EXPECT_EQ(answered, 3);
               loop.Stop();
             });
  RunLoop(loop);
}

TEST(AsyncPoolTest, HoldsAtMostMaxPreparedStatementsPerConnection) {
  testing::TestDatabase db;
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 1, 8));
  const size_t texts = Connection::kMaxPrepared + 5;
  for (size_t i = 0; i < texts; ++i) {
    pool.Query(
        "SELECT $1::int + " + std::to_string(i), {"1"}, true,
        [i](Result<PgResult> r, const ServerError&) { EXPECT_EQ(Cell(r), std::to_string(i + 1)); });
  }
  pool.Query("SELECT count(*) FROM pg_prepared_statements", {}, false,
             [&](Result<PgResult> r, const ServerError&) {
               EXPECT_EQ(Cell(r), std::to_string(Connection::kMaxPrepared));
               loop.Stop();
             });
  RunLoop(loop);
}

TEST(AsyncPoolTest, TerminatedBackendFailsWhatIsInFlightAndTheNextQueryReconnects) {
  testing::TestDatabase db;
  auto killer = Connection::Open(db.url());
  ASSERT_TRUE(killer.ok());
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 1, 8));
  std::string first_backend;
  int failed = 0;
  auto expect_lost = [&](Result<PgResult> r, const ServerError&) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().ToString();
    if (++failed < 2) return;
    pool.Query("SELECT pg_backend_pid()", {}, false, [&](Result<PgResult> r, const ServerError&) {
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_NE(Cell(r), first_backend);
      EXPECT_EQ(pool.connections(), 1u);
      loop.Stop();
    });
  };
  pool.Query("SELECT pg_backend_pid()", {}, false, [&](Result<PgResult> r, const ServerError&) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    first_backend = Cell(r);
    pool.Query("SELECT pg_sleep(60)", {}, false, expect_lost);
    pool.Query("SELECT 1", {}, true, expect_lost);
    EXPECT_EQ(pool.pending(), 2u);
    auto killed = killer->ExecParams("SELECT pg_terminate_backend($1::int)", {first_backend});
    EXPECT_EQ(Cell(killed), "t");
  });
  RunLoop(loop);
  EXPECT_EQ(failed, 2);
}

TEST(AsyncPoolTest, AConnectionTheServerEndsWhileIdleIsDroppedAndReplaced) {
  testing::TestDatabase db;
  auto killer = Connection::Open(db.url());
  ASSERT_TRUE(killer.ok());
  EventLoop loop;
  AsyncPool pool(loop, Options(db.url(), 1, 1));
  std::string first_backend;
  std::function<void()> when_dropped = [&] {
    if (pool.connections() != 0) {
      loop.RunAfter(5ms, when_dropped);
      return;
    }
    pool.Query("SELECT pg_backend_pid()", {}, false, [&](Result<PgResult> r, const ServerError&) {
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      EXPECT_NE(Cell(r), first_backend);
      loop.Stop();
    });
  };
  pool.Query("SELECT pg_backend_pid()", {}, false, [&](Result<PgResult> r, const ServerError&) {
    first_backend = Cell(r);
    auto killed = killer->ExecParams("SELECT pg_terminate_backend($1::int)", {first_backend});
    EXPECT_EQ(Cell(killed), "t");
    when_dropped();
  });
  RunLoop(loop);
}

TEST(AsyncPoolTest, UnreachableServerFailsQuicklyWithUnavailable) {
  EventLoop loop;
  const std::string url = "postgresql://nobody@127.0.0.1:" + std::to_string(ClosedPort()) + "/none";
  AsyncPoolOptions options = Options(url, 2, 1);
  // Refused at once: a failure that waited for this timeout would outlast the loop's deadline.
  options.connect_timeout = std::chrono::hours(1);
  AsyncPool pool(loop, options);
  int failed = 0;
  bool in_query = false;
  std::function<void(Result<PgResult>, const ServerError&)> expect_refused =
      [&](Result<PgResult> r, const ServerError&) {
        EXPECT_FALSE(in_query) << "a callback ran inside Query";
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
        EXPECT_TRUE(r.error().message().starts_with("postgres: cannot connect: "))
            << r.error().message();
        if (++failed == 3) {
          EXPECT_EQ(pool.connections(), 0u);
          EXPECT_EQ(pool.pending(), 0u);
          // The next query tries again, and fails the same way.
          pool.Query("SELECT 1", {}, false, expect_refused);
        } else if (failed == 4) {
          loop.Stop();
        }
      };
  for (int i = 0; i < 3; ++i) {
    in_query = true;
    pool.Query("SELECT 1", {}, false, expect_refused);
    in_query = false;
  }
  RunLoop(loop, 30s);
  EXPECT_EQ(failed, 4);
}

TEST(AsyncPoolTest, AServerThatHangsUpWhileConnectingFailsTheQueuedQueriesOnceNoneIsLeft) {
  EventLoop loop;
  int port = 0;
  const UniqueFd listener = ListeningSocket(&port);
  int accepted = 0;
  ASSERT_TRUE(loop.Watch(listener.Get(), EPOLLIN, [&](uint32_t) {
    UniqueFd fd(::accept(listener.Get(), nullptr, nullptr));  // and hang up at once
    if (fd) ++accepted;
  }));
  AsyncPool pool(loop,
                 Options("postgresql://nobody@127.0.0.1:" + std::to_string(port) + "/none", 2, 1));
  int failed = 0;
  std::function<void(Result<PgResult>, const ServerError&)> expect_failed =
      [&](Result<PgResult> r, const ServerError&) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
        EXPECT_TRUE(r.error().message().starts_with("postgres: cannot connect: "))
            << r.error().message();
        ++failed;
        if (failed == 3) {
          // All three waited for the second attempt to fail too.
          EXPECT_EQ(accepted, 2);
          EXPECT_EQ(pool.connections(), 0u);
          pool.Query("SELECT 1", {}, false, expect_failed);
        } else if (failed == 4) {
          EXPECT_EQ(accepted, 3);
          loop.Stop();
        }
      };
  for (int i = 0; i < 3; ++i) pool.Query("SELECT 1", {}, false, expect_failed);
  EXPECT_EQ(pool.connections(), 2u);
  RunLoop(loop, 10s);
  EXPECT_EQ(failed, 4);
  loop.Unwatch(listener.Get());
}

TEST(AsyncPoolTest, AConnectionAttemptWithNoAnswerFailsAfterConnectTimeout) {
  EventLoop loop;
  int port = 0;
  // Listening, never accepting: the kernel completes the handshake, nobody ever answers.
  const UniqueFd listener = ListeningSocket(&port);
  AsyncPoolOptions options =
      Options("postgresql://nobody@127.0.0.1:" + std::to_string(port) + "/none", 1, 1);
  options.connect_timeout = 200ms;
  AsyncPool pool(loop, options);
  const auto start = std::chrono::steady_clock::now();
  pool.Query("SELECT 1", {}, false, [&](Result<PgResult> r, const ServerError&) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(r.error().message(), "postgres: cannot connect: no connection within 200 ms");
    EXPECT_EQ(pool.connections(), 0u);
    loop.Stop();
  });
  RunLoop(loop, 30s);
  // Not before its time (the message above says the timer, not a refusal, ended it).
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
}

TEST(AsyncPoolTest, DestructionFailsPendingQueriesWithUnavailable) {
  testing::TestDatabase db;
  EventLoop loop;
  auto pool = std::make_unique<AsyncPool>(loop, Options(db.url(), 2, 1));
  AsyncPool* closing = pool.get();
  int closed = 0;
  bool queried_while_closing = false;
  auto expect_closed = [&](Result<PgResult> r, const ServerError&) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
    EXPECT_EQ(r.error().message(), "postgres: pool closed");
    if (++closed > 1) return;
    closing->Query("SELECT 1", {}, false, [&](Result<PgResult> r, const ServerError&) {
      queried_while_closing = true;
      EXPECT_FALSE(r.ok());
    });
  };
  pool->Query("SELECT 1", {}, false, [&](Result<PgResult> r, const ServerError&) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    // One in flight on the ready connection, one waiting for a second, two queued.
    for (int i = 0; i < 4; ++i) pool->Query("SELECT pg_sleep(60)", {}, false, expect_closed);
    EXPECT_EQ(pool->pending(), 4u);
    EXPECT_EQ(pool->connections(), 2u);
    loop.Post([&] {
      pool.reset();
      EXPECT_EQ(closed, 4);
      EXPECT_TRUE(queried_while_closing);
      loop.Stop();
    });
  });
  RunLoop(loop);
  EXPECT_EQ(pool, nullptr);
}

TEST(AsyncPoolTest, QueriesBeyondMaxQueuedFailAtOnceAsBusy) {
  testing::TestDatabase db;
  EventLoop loop;
  AsyncPoolOptions options = Options(db.url(), 1, 1);
  options.max_queued = 3;
  AsyncPool pool(loop, options);
  std::vector<std::string> outcomes(6);
  int answered = 0;
  bool in_query = false;
  for (int i = 0; i < 6; ++i) {
    in_query = true;
    pool.Query("SELECT $1::int", {std::to_string(i)}, false,
               [&, i](Result<PgResult> r, const ServerError&) {
                 EXPECT_FALSE(in_query) << "a callback ran inside Query";
                 if (r.ok()) {
                   outcomes[i] = Cell(r);
                 } else {
                   EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
                   outcomes[i] = r.error().message().starts_with("postgres: busy")
                                     ? "busy"
                                     : r.error().message();
                 }
                 if (++answered == 6) loop.Stop();
               });
    in_query = false;
  }
  EXPECT_EQ(pool.pending(), 3u);
  RunLoop(loop);
  EXPECT_EQ(outcomes, (std::vector<std::string>{"0", "1", "2", "busy", "busy", "busy"}));
}

}  // namespace
}  // namespace migsbyu::pg
