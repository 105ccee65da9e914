// End to end on the real PostgreSQL server: cdc::Connector → KafkaSink → librdkafka's mock
// cluster → KafkaSource → a recording sink. Every operation and the main column types arrive
// typed and in commit order, and the connector confirms to PostgreSQL only what Kafka
// acknowledged.
#include <gtest/gtest.h>

#include <thread>

#include "cdc/connector.h"
#include "pg/connection.h"
#include "support/test_database.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::kafka {
namespace {

using testing::json;

template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = std::chrono::seconds(120)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll interval
  }
  return true;
}

void Exec(pg::Connection& conn, const std::string& sql) {
  auto r = conn.Exec(sql);
  ASSERT_TRUE(r.ok()) << r.error().ToString() << "\n" << sql;
}

TEST(KafkaCdcTest, ConnectorChangesReachKafkaAndComeBackTypedInCommitOrder) {
  ::migsbyu::testing::TestDatabase db("kafka");
  auto conn = pg::Connection::Open(db.url());
  ASSERT_TRUE(conn.ok()) << conn.error().ToString();
  Exec(*conn,
       "CREATE TABLE offerings (id int PRIMARY KEY, title varchar(40), fee numeric(7,2), "
       "starts date, updated timestamp, created timestamptz, open bool, ratio float8, "
       "seats int8);"
       "ALTER TABLE offerings REPLICA IDENTITY FULL;"
       "INSERT INTO offerings (id, title) VALUES (1, 'from the snapshot')");

  testing::MockCluster cluster(3);
  cluster.CreateTopic("migsbyu.public.offerings", 1);
  KafkaSinkOptions sink_options;
  sink_options.brokers = cluster.bootstraps();
  sink_options.extra["log_level"] = "3";
  auto sink = KafkaSink::Create(sink_options);
  ASSERT_TRUE(sink.ok()) << sink.error().ToString();

  cdc::ConnectorOptions options;
  options.database_url = db.url();
  options.slot_name = db.name();
  options.publication_name = db.name();
  options.tables = {"offerings"};
  options.status_interval = std::chrono::milliseconds(50);
  cdc::Connector connector(options, sink->get());
  Status connector_status = OkStatus();
  std::jthread capture([&](std::stop_token stop) { connector_status = connector.Run(stop); });
  ASSERT_TRUE(
      WaitFor([&] { return connector.GetMetrics().state == cdc::ConnectorState::kStreaming; }));

  Exec(*conn,
       "INSERT INTO offerings VALUES (2, 'Databases', 1234.50, '2024-02-29', "
       "'2024-01-31 12:34:56.789', '2024-01-31 12:34:56.5+02', true, 0.25, 9007199254740993)");
  Exec(*conn,
       "BEGIN; UPDATE offerings SET fee = -0.05 WHERE id = 2; "
       "DELETE FROM offerings WHERE id = 1; COMMIT");

  testing::RecordingSink recorded;
  KafkaSourceOptions source_options;
  source_options.brokers = cluster.bootstraps();
  source_options.group_id = "lake";
  source_options.extra["log_level"] = "3";
  source_options.extra["session.timeout.ms"] = "6000";
  KafkaSource source(source_options);
  std::jthread consume([&](std::stop_token stop) {
    Status s = source.Run(stop, recorded);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
  });
  ASSERT_TRUE(WaitFor([&] {
    return recorded.change_count() >= 4 && source.stats().tombstones >= 1;
  })) << recorded.change_count()
      << " changes";
  consume.request_stop();
  consume.join();

  auto changes = recorded.changes();
  ASSERT_EQ(changes.size(), 4u);
  std::vector<json> described;
  for (const auto& c : changes) described.push_back(testing::DescribeChange(c));
  EXPECT_EQ(described[0]["op"], "r");
  EXPECT_EQ(described[0]["after"]["title"], "from the snapshot");
  EXPECT_EQ(described[1]["op"], "c");
  EXPECT_EQ(described[1]["after"], json({{"id", "2"},
                                         {"title", "Databases"},
                                         {"fee", "1234.50"},
                                         {"starts", "2024-02-29"},
                                         {"updated", "2024-01-31 12:34:56.789"},
                                         {"created", "2024-01-31 10:34:56.5+00"},
                                         {"open", "t"},
                                         {"ratio", "0.25"},
                                         {"seats", "9007199254740993"}}));
  EXPECT_EQ(described[2]["op"], "u");
  EXPECT_EQ(described[2]["before"]["fee"], "1234.50");
  EXPECT_EQ(described[2]["after"]["fee"], "-0.05");
  EXPECT_EQ(described[3]["op"], "d");
  EXPECT_EQ(described[3]["before"]["id"], "1");
  // Column types survive the envelope: the schema part carries them.
  const auto& columns = changes[1].table->columns;
  ASSERT_EQ(columns.size(), 9u);
  EXPECT_TRUE(columns[0].key);
  EXPECT_EQ(columns[2].type, events::ValueType::kNumeric);
  EXPECT_EQ(columns[3].type, events::ValueType::kDate);
  EXPECT_EQ(columns[5].type, events::ValueType::kTimestampTz);
  // Identity: the update and delete share a transaction, numbered 0 and 1; commit order holds.
  EXPECT_EQ(changes[2].commit_lsn, changes[3].commit_lsn);
  EXPECT_EQ(changes[2].position, 0u);
  EXPECT_EQ(changes[3].position, 1u);
  EXPECT_LT(changes[0].commit_lsn, changes[1].commit_lsn);
  EXPECT_LT(changes[1].commit_lsn, changes[2].commit_lsn);

  // The connector confirmed to PostgreSQL what Kafka acknowledged: past the last commit.
  ASSERT_TRUE(
      WaitFor([&] { return connector.GetMetrics().last_flushed_lsn > changes[3].commit_lsn; }));
  EXPECT_GT((*sink)->AcknowledgedLsn(), changes[3].commit_lsn);
  capture.request_stop();
  capture.join();
  EXPECT_TRUE(connector_status.ok()) << connector_status.error().ToString();
}

}  // namespace
}  // namespace migsbyu::kafka
