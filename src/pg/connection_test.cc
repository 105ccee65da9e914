#include "pg/connection.h"

#include <gtest/gtest.h>

#include <thread>

#include "pg/pool.h"
#include "support/test_database.h"

namespace migsbyu::pg {

TEST(ConnectionTest, ParametersTravelApartFromSql) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok()) << conn.error().ToString();
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id text PRIMARY KEY, n int)").ok());
  const std::string hostile = "x'); DROP TABLE t; --";
  ASSERT_TRUE(conn->ExecParams("INSERT INTO t VALUES ($1, $2)", {hostile, std::nullopt}).ok());
  auto r = conn->ExecParams("SELECT id, n FROM t WHERE id = $1", {hostile});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->Get(0, 0), hostile);
  EXPECT_TRUE(r->IsNull(0, 1));
}

TEST(ConnectionTest, MapsSqlStatesToErrorCodes) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int PRIMARY KEY CHECK (id > 0))").ok());
  ASSERT_TRUE(conn->ExecParams("INSERT INTO t VALUES ($1)", {"1"}).ok());
  auto dup = conn->ExecParams("INSERT INTO t VALUES ($1)", {"1"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(conn->last_server_error().constraint, "t_pkey");
  auto check = conn->ExecParams("INSERT INTO t VALUES ($1)", {"-1"});
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().code(), ErrorCode::kValidation);
  auto bad = conn->ExecParams("INSERT INTO t VALUES ($1)", {"not a number"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

// How many statements this session holds prepared.
int PreparedCount(Connection& conn) {
  auto r = conn.Exec("SELECT count(*) FROM pg_prepared_statements");
  return r.ok() ? std::stoi(std::string(r->Get(0, 0))) : -1;
}

TEST(ConnectionTest, ExecPreparedPreparesEachTextOnceAndKeepsValuesApart) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id text PRIMARY KEY, n int)").ok());
  const std::string insert = "INSERT INTO t VALUES ($1, $2)";
  const std::string hostile = "x'); DROP TABLE t; --";
  ASSERT_TRUE(conn->ExecPrepared(insert, {hostile, "1"}).ok());
  ASSERT_TRUE(conn->ExecPrepared(insert, {"b", std::nullopt}).ok());
  auto dup = conn->ExecPrepared(insert, {"b", "2"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  auto r = conn->ExecPrepared("SELECT id, n FROM t WHERE id = $1", {hostile});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->Get(0, 0), hostile);
  EXPECT_EQ(r->Get(0, 1), "1");
  EXPECT_EQ(PreparedCount(*conn), 2);
  auto text = conn->Exec("SELECT statement FROM pg_prepared_statements ORDER BY statement");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->Get(0, 0), insert);
}

TEST(ConnectionTest, ExecPreparedPreparesAgainWhatTheServerDropped) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)").ok());
  const std::string select = "SELECT * FROM t WHERE id = $1";
  ASSERT_TRUE(conn->ExecPrepared(select, {"1"}).ok());
  ASSERT_TRUE(conn->Exec("DEALLOCATE ALL").ok());
  auto again = conn->ExecPrepared(select, {"1"});
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(again->rows(), 1);
  // A column more: the prepared statement's result type changed (SQLSTATE 0A000).
  ASSERT_TRUE(conn->Exec("ALTER TABLE t ADD COLUMN n int DEFAULT 7").ok());
  auto wider = conn->ExecPrepared(select, {"1"});
  ASSERT_TRUE(wider.ok()) << wider.error().ToString();
  ASSERT_EQ(wider->columns(), 2);
  EXPECT_EQ(wider->Get(0, 1), "7");
}

TEST(ConnectionTest, ExecPreparedHoldsAtMostMaxPreparedStatements) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  for (size_t i = 0; i < Connection::kMaxPrepared + 5; ++i) {
    auto r = conn->ExecPrepared("SELECT $1::int + " + std::to_string(i), {"1"});
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->Get(0, 0), std::to_string(i + 1));
  }
  EXPECT_EQ(PreparedCount(*conn), static_cast<int>(Connection::kMaxPrepared));
}

TEST(ConnectionTest, CopyOutStreamsEveryRowAsTheServerSentIt) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int PRIMARY KEY, s text)").ok());
  ASSERT_TRUE(
      conn->Exec("INSERT INTO t SELECT n, 'row ' || n FROM generate_series(1, 50000) n").ok());
  ASSERT_TRUE(conn->ExecParams("INSERT INTO t VALUES (0, $1)", {"tab\tnewline\n"}).ok());
  std::vector<std::string> rows;
  Status copied =
      conn->CopyOut("COPY (SELECT id, s FROM t ORDER BY id) TO STDOUT", [&](std::string_view row) {
        rows.emplace_back(row);
        return OkStatus();
      });
  ASSERT_TRUE(copied.ok()) << copied.error().ToString();
  ASSERT_EQ(rows.size(), 50001u);
  EXPECT_EQ(rows[0], "0\ttab\\tnewline\\n\n");  // text format: escaped, one line per row
  EXPECT_EQ(rows[1], "1\trow 1\n");
  EXPECT_EQ(rows[50000], "50000\trow 50000\n");
  EXPECT_FALSE(conn->InTransaction());
  auto after = conn->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(after.ok()) << after.error().ToString();
  EXPECT_EQ(after->Get(0, 0), "50001");
}

TEST(ConnectionTest, CopyOutStopsAtTheCallersErrorAndLeavesTheConnectionUsable) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  int calls = 0;
  Status copied = conn->CopyOut("COPY (SELECT generate_series(1, 20000)) TO STDOUT",
                                [&](std::string_view row) -> Status {
                                  if (++calls == 10)
                                    return Error::Corruption("row " + std::string(row));
                                  return OkStatus();
                                });
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code(), ErrorCode::kCorruption);
  EXPECT_EQ(copied.error().message(), "row 10\n");
  EXPECT_EQ(calls, 10);
  auto next = conn->Exec("SELECT 1");
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->Get(0, 0), "1");
}

TEST(ConnectionTest, CopyOutReportsTheServersErrorMidStream) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  int calls = 0;
  // Rows stream until the 50,000th divides by zero.
  Status copied =
      conn->CopyOut("COPY (SELECT 1 / (50000 - n) FROM generate_series(1, 60000) n) TO STDOUT",
                    [&](std::string_view) {
                      ++calls;
                      return OkStatus();
                    });
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(conn->last_server_error().sqlstate, "22012") << copied.error().ToString();
  EXPECT_LT(calls, 50000);
  EXPECT_TRUE(conn->Exec("SELECT 1").ok());
}

TEST(ConnectionTest, CopyOutRefusesWhatIsNotACopyToStdout) {
  testing::TestDatabase db;
  auto conn = Connection::Open(db.url());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (id int)").ok());
  auto never = [](std::string_view) -> Status {
    ADD_FAILURE() << "no row expected";
    return OkStatus();
  };
  for (const std::string sql : {"SELECT 1", "COPY t FROM STDIN"}) {
    Status copied = conn->CopyOut(sql, never);
    ASSERT_FALSE(copied.ok()) << sql;
    EXPECT_EQ(copied.error().code(), ErrorCode::kInvalidArgument) << sql;
    EXPECT_NE(copied.error().message().find(sql), std::string::npos) << copied.error().ToString();
    EXPECT_FALSE(conn->InTransaction()) << sql;
  }
  auto rows = conn->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  EXPECT_EQ(rows->Get(0, 0), "0");
  Status missing = conn->CopyOut("COPY missing TO STDOUT", never);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(conn->last_server_error().sqlstate, "42P01");
}

TEST(PoolTest, AReplacedConnectionStartsWithoutPreparedStatements) {
  testing::TestDatabase db;
  Pool pool(db.url(), 1);
  const std::string select = "SELECT $1::int";
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE((*lease)->ExecPrepared(select, {"1"}).ok());
    // The server ends this session: the pool drops the broken connection when it comes back.
    auto pid = (*lease)->Exec("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok());
    auto killer = Connection::Open(db.url());
    ASSERT_TRUE(killer.ok());
    ASSERT_TRUE(
        killer->ExecParams("SELECT pg_terminate_backend($1::int)", {std::string(pid->Get(0, 0))})
            .ok());
    EXPECT_FALSE((*lease)->ExecPrepared(select, {"1"}).ok());
  }
  auto fresh = pool.Acquire();
  ASSERT_TRUE(fresh.ok());
  auto r = (*fresh)->ExecPrepared(select, {"2"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->Get(0, 0), "2");
}

TEST(ConnectionTest, UnreachableServerIsUnavailable) {
  auto conn = Connection::Open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().code(), ErrorCode::kUnavailable);
}

TEST(PoolTest, BoundsConnectionsAndRollsBackReturnedTransactions) {
  testing::TestDatabase db;
  Pool pool(db.url(), 2);
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    auto c = pool.Acquire(std::chrono::milliseconds(50));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code(), ErrorCode::kUnavailable);
    ASSERT_TRUE((*a)->Exec("CREATE TABLE t (x int)").ok());
    ASSERT_TRUE((*b)->Exec("BEGIN; INSERT INTO t VALUES (1)").ok());
  }
  auto d = pool.Acquire();
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE((*d)->InTransaction());
  auto n = (*d)->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Get(0, 0), "0");
}

TEST(PoolTest, WaitersGetConnectionsAsTheyReturn) {
  testing::TestDatabase db;
  Pool pool(db.url(), 1);
  auto first = pool.Acquire();
  ASSERT_TRUE(first.ok());
  auto pid = (*first)->Exec("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  std::string second_pid;
  std::thread t([&] {
    auto second = pool.Acquire(std::chrono::seconds(60));
    ASSERT_TRUE(second.ok()) << second.error().ToString();
    auto r = (*second)->Exec("SELECT pg_backend_pid()");
    ASSERT_TRUE(r.ok());
    second_pid = std::string(r->Get(0, 0));
  });
  // Released only once the other thread waits for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (pool.waiting() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pool.waiting(), 1u);
  { auto released = std::move(first).value(); }
  t.join();
  EXPECT_EQ(second_pid, pid->Get(0, 0)) << "the waiter got the returned connection";
  EXPECT_EQ(pool.waiting(), 0u);
}

TEST(ConnectionTest, RedactedConninfoHidesThePasswordInEveryForm) {
  EXPECT_EQ(RedactedConninfo("postgresql://u:s3cr%40t@db.example:5432/x"),
            "postgresql://u:***@db.example:5432/x");
  EXPECT_EQ(RedactedConninfo("postgresql://u:pw@[::1]:5432/x?sslmode=require"),
            "postgresql://u:***@[::1]:5432/x?sslmode=require");
  EXPECT_EQ(RedactedConninfo("postgresql://u@h/x?password=hunter22&application_name=a"),
            "postgresql://u@h/x?password=***&application_name=a");
  EXPECT_EQ(RedactedConninfo("host=h user=u password=hunter22 dbname=x"),
            "host=h user=u password=*** dbname=x");
  EXPECT_EQ(RedactedConninfo("postgresql://migsbyu@127.0.0.1:54320/migsbyu"),
            "postgresql://migsbyu@127.0.0.1:54320/migsbyu");
  EXPECT_EQ(RedactedConninfo("host=h password='unterminated"), "(unparsable conninfo)");
}

TEST(ConnectionTest, AFailedConnectionNamesNoPassword) {
  // A refused connection: libpq's message is about the server, and the password never shows.
  auto conn = Connection::Open("postgresql://u:Pw-9f8e7d6c@127.0.0.1:1/x?connect_timeout=2");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().message().find("Pw-9f8e7d6c"), std::string::npos)
      << conn.error().message();
  EXPECT_EQ(WithoutSecret("a secret, secret!", "secret"), "a ***, ***!");
  EXPECT_EQ(WithoutSecret("unchanged", ""), "unchanged");
}

}  // namespace migsbyu::pg
