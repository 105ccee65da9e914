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
  std::thread t([&] {
    auto second = pool.Acquire(std::chrono::seconds(10));
    EXPECT_TRUE(second.ok());
  });
  { auto released = std::move(first).value(); }
  t.join();
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
