// The server restarts mid-stream: the connector reconnects with backoff and resumes from the
// slot, and the file holds every change exactly once. Runs on a private cluster of its own
// (scripts/pg.sh), so the shared test server is never restarted under other tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "cdc_test_support.h"

namespace migsbyu::cdc {
namespace {

using namespace std::chrono_literals;
using testing::Connect;
using testing::Exec;
using testing::InProcessConnector;
using testing::PollUntil;
using testing::PrivateCluster;
using testing::ReadCommitted;

TEST(ServerRestartTest, ConnectorReconnectsAfterServerRestartAndLosesNothing) {
  PrivateCluster cluster(MIGSBYU_PG_SCRIPT);
  auto conn = Connect(cluster.url());
  Exec(conn,
       "CREATE TABLE r (id int PRIMARY KEY);"
       "ALTER TABLE r REPLICA IDENTITY FULL");
  ConnectorOptions o;
  o.database_url = cluster.url();
  o.tables = {"r"};
  o.status_interval = 50ms;
  o.max_backoff = 500ms;
  std::string file = cluster.dir() + "/changes.jsonl";
  InProcessConnector connector(o, file);
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(conn.ExecParams("INSERT INTO r VALUES ($1)", {std::to_string(i)}).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return ReadCommitted(file).changes.size() >= 50; }, 60s));
  cluster.Stop();  // mid-stream, perhaps
  cluster.Start();
  auto again = Connect(cluster.url());
  for (int i = 101; i <= 200; ++i) {
    ASSERT_TRUE(again.ExecParams("INSERT INTO r VALUES ($1)", {std::to_string(i)}).ok());
  }
  std::vector<nlohmann::json> changes;
  ASSERT_TRUE(PollUntil(
      [&] {
        changes = ReadCommitted(file).changes;
        return changes.size() >= 200;
      },
      120s))
      << changes.size() << " changes";
  std::map<int, int> seen;
  for (const auto& c : changes) ++seen[c["after"]["id"].get<int>()];
  ASSERT_EQ(seen.size(), 200u);
  for (auto [id, times] : seen) ASSERT_EQ(times, 1) << "row " << id;
  auto m = connector.GetMetrics();
  EXPECT_GE(m.reconnects, 1u);
  EXPECT_EQ(m.state, ConnectorState::kStreaming);
  EXPECT_TRUE(connector.Stop().ok());
}

}  // namespace
}  // namespace migsbyu::cdc
