#include "oltp/pg_query_executor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_database.h"

namespace migsbyu::oltp {
namespace {

using namespace std::chrono_literals;

class PgQueryExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = pg::Connection::Open(db_.url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    ASSERT_TRUE(conn->Exec("CREATE TABLE kv (k text PRIMARY KEY, v text)").ok());
  }

  // Runs `queries` in order on one loop's executor (loop 1 of 3: a share of each pool), each
  // sent once the one before has its outcome; returns the outcomes.
  std::vector<QueryOutcome> RunInOrder(std::vector<Query> queries) {
    EventLoop loop;
    PgQueryExecutorFactory factory(db_.url(), {.write_connections = 4, .read_connections = 2});
    std::unique_ptr<QueryExecutor> executor = factory.ForLoop(loop, 1, 3);
    std::vector<QueryOutcome> outcomes;
    std::function<void()> next = [&] {
      if (outcomes.size() == queries.size()) return loop.Stop();
      executor->Run(queries[outcomes.size()], [&](QueryOutcome outcome) {
        outcomes.push_back(std::move(outcome));
        next();
      });
    };
    loop.Post(next);
    auto timer = loop.RunAfter(60s, [&] {
      ADD_FAILURE() << "the statements were still running after a minute";
      loop.Stop();
    });
    loop.Run();
    loop.Cancel(timer);
    executor.reset();
    return outcomes;
  }

  ::migsbyu::testing::TestDatabase db_{"queryexec"};
};

TEST_F(PgQueryExecutorTest, WritesAndReadsReachTheDatabaseAndErrorsCarryTheServersDiagnostics) {
  auto outcomes = RunInOrder({
      {.sql = "INSERT INTO kv VALUES ($1, $2)", .params = {"a", "1"}},
      {.sql = "SELECT v FROM kv WHERE k = $1", .params = {"a"}, .read_only = true},
      {.sql = "INSERT INTO kv VALUES ($1, $2)", .params = {"a", "2"}},
      {.sql = "SELECT count(*) FROM kv", .prepared = false, .read_only = true},
  });
  ASSERT_EQ(outcomes.size(), 4u);
  ASSERT_TRUE(outcomes[0].result.ok()) << outcomes[0].result.error().ToString();
  EXPECT_EQ(outcomes[0].result->AffectedRows(), 1);
  ASSERT_TRUE(outcomes[1].result.ok()) << outcomes[1].result.error().ToString();
  ASSERT_EQ(outcomes[1].result->rows(), 1);
  EXPECT_EQ(outcomes[1].result->Get(0, 0), "1");
  ASSERT_FALSE(outcomes[2].result.ok());
  EXPECT_EQ(outcomes[2].result.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(outcomes[2].server_error.sqlstate, "23505");
  EXPECT_EQ(outcomes[2].server_error.constraint, "kv_pkey");
  ASSERT_TRUE(outcomes[3].result.ok()) << outcomes[3].result.error().ToString();
  EXPECT_EQ(outcomes[3].result->Get(0, 0), "1");  // the failed insert changed nothing
}

TEST(PgQueryExecutorUnreachableTest, AStatementFailsAsUnavailable) {
  EventLoop loop;
  PgQueryExecutorFactory factory("postgresql://migsbyu@127.0.0.1:1/none?connect_timeout=2");
  auto executor = factory.ForLoop(loop, 0, 1);
  std::optional<QueryOutcome> outcome;
  loop.Post([&] {
    executor->Run({.sql = "SELECT 1", .read_only = true}, [&](QueryOutcome o) {
      outcome = std::move(o);
      loop.Stop();
    });
  });
  auto timer = loop.RunAfter(60s, [&] {
    ADD_FAILURE() << "no outcome after a minute";
    loop.Stop();
  });
  loop.Run();
  loop.Cancel(timer);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->result.ok());
  EXPECT_EQ(outcome->result.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace migsbyu::oltp
