// Kafka → lake: transactions produced by the KafkaSink to librdkafka's mock cluster, each of
// them twice (as after a connector crash), are consumed by the KafkaSource into a LakeSink;
// the lake stores every change once and builds the dimensions and the fact from them, each with
// who made it (the envelope's source.changed_by and source.origin).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "lake/testing.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;

using testing::ChangeIn;
using testing::ContractSchema;

struct Tx {
  events::TransactionInfo info;
  std::vector<events::ChangeEvent> changes;
};

class KafkaLakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* t : {"students", "courses", "takes"}) {
      cluster_.CreateTopic(std::string("migsbyu.public.") + t, 1);
    }
    dir_ = (fs::temp_directory_path() / ("lake_kafka_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A transaction with commit_lsn 100·n made by `actor`; `rows`: (table, op, before, after).
  Tx Make(uint64_t n,
          std::vector<
              std::tuple<std::string, char, std::optional<events::Row>, std::optional<events::Row>>>
              rows,
          const Actor& actor = Actor::Database()) {
    Tx tx;
    tx.info = {static_cast<uint32_t>(n), Lsn(100 * n), Lsn(100 * n + 8),
               1700000000000000 + static_cast<int64_t>(n) * 1000, false};
    for (auto& [table, op, before, after] : rows) {
      tx.changes.push_back(ChangeIn(tx.info, tx.changes.size(), schemas_.at(table),
                                    static_cast<events::Operation>(op), before, after));
      tx.changes.back().actor = actor;
    }
    return tx;
  }

  static events::Row Student(const std::string& id, const std::string& gpa) {
    return {Value::Text(id),         Value::Text("Ada"),      Value::Text("L"),
            Value::Text("Female"),   Value::Text("Street 1"), Value::Integer(12000),
            Value::Text("Physics"),  Value::Integer(2),       Value::Text(gpa),
            Value::Text("Full-time")};
  }
  static events::Row Course(const std::string& id) {
    return {Value::Text(id), Value::Text("Intro"), Value::Integer(3), Value::Text("Physics")};
  }
  static events::Row Takes(const std::string& s, const std::string& c) {
    return {Value::Text(s), Value::Text(c), Value::Text("Fall 2024")};
  }

  kafka::testing::MockCluster cluster_{1};
  std::string dir_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_ = {
      {"students", ContractSchema("students")},
      {"courses", ContractSchema("courses")},
      {"takes", ContractSchema("takes")}};
};

TEST_F(KafkaLakeTest, RedeliveredTransactionsAreStoredOnceAndFeedTheDimensions) {
  std::vector<Tx> txs = {
      Make(1,
           {{"students", 'c', std::nullopt, Student("S1", "3.10")},
            {"students", 'c', std::nullopt, Student("S2", "2.00")},
            {"courses", 'c', std::nullopt, Course("C1")}},
           Actor::Portal("registrar1")),
      Make(2,
           {{"students", 'u', Student("S1", "3.10"), Student("S1", "3.90")},
            {"takes", 'c', std::nullopt, Takes("S1", "C1")}},
           Actor::Simulator()),
      Make(3, {{"students", 'd', Student("S2", "2.00"), std::nullopt}}),
  };
  // The marker: one change per topic, after everything else.
  Tx marker = Make(4, {{"students", 'c', std::nullopt, Student("S9", "1.00")},
                       {"courses", 'c', std::nullopt, Course("C9")},
                       {"takes", 'c', std::nullopt, Takes("S9", "C9")}});
  {
    kafka::KafkaSinkOptions o = cluster_.SinkOptions();
    o.create_topics = false;
    auto producer = kafka::KafkaSink::Create(o);
    ASSERT_TRUE(producer.ok()) << producer.error().ToString();
    for (int round = 0; round < 2; ++round) {  // everything twice, as a replaying connector would
      for (const auto& tx : txs) {
        ASSERT_TRUE((*producer)->Begin(tx.info).ok());
        for (const auto& c : tx.changes) ASSERT_TRUE((*producer)->Apply(c).ok());
        ASSERT_TRUE((*producer)->Commit(tx.info).ok());
      }
    }
    ASSERT_TRUE((*producer)->Begin(marker.info).ok());
    for (const auto& c : marker.changes) ASSERT_TRUE((*producer)->Apply(c).ok());
    ASSERT_TRUE((*producer)->Commit(marker.info).ok());
    auto flushed = (*producer)->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
  }

  auto lake = Lake::Open(dir_, 1);
  ASSERT_TRUE(lake.ok());
  LakeSinkOptions options;
  options.writer.dir = dir_;
  auto sink = LakeSink::Open(options, *lake);
  ASSERT_TRUE(sink.ok());
  kafka::KafkaSourceOptions so = cluster_.SourceOptions("lake");
  kafka::KafkaSource source(so);
  Status run = OkStatus();
  std::jthread consumer([&](std::stop_token stop) { run = source.Run(stop, **sink); });

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto markers = [&] {
    auto c = (*lake)->Counts();
    return c["students_changes"] == 5 && c["courses_changes"] == 2 && c["takes_changes"] == 2;
  };
  while (!markers() && std::chrono::steady_clock::now() < deadline) {
    (*lake)->WaitForCommit((*lake)->Position().version, std::chrono::milliseconds(200));
  }
  consumer.request_stop();
  consumer.join();
  ASSERT_TRUE(run.ok()) << run.error().ToString();
  ASSERT_TRUE(markers()) << "the lake did not receive every change once";

  auto conn = (*lake)->Connect();
  ASSERT_TRUE(conn.ok());
  auto rows = conn->connection.Query(
      "SELECT string_agg(student_key || ':' || id || ':' || gpa || ':' || current_row_indicator "
      "|| ':' || is_deleted, ' ' ORDER BY student_key) FROM students_dim");
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  EXPECT_EQ(rows->GetString(0, 0),
            "1:S1:3.10:no:false 2:S2:2.00:no:true 3:S1:3.90:yes:false 4:S9:1.00:yes:false");
  auto fact = conn->connection.Query(
      "SELECT string_agg(student_id || '-' || course_id || ':' || course_enrollment_count, ' ' "
      "ORDER BY student_id) FROM course_enrollment_fact");
  ASSERT_TRUE(fact.ok());
  EXPECT_EQ(fact->GetString(0, 0), "S1-C1:1 S9-C9:1");
  auto actors = conn->connection.Query(
      "SELECT string_agg(commit_lsn || ':' || position || ':' || coalesce(changed_by, '-') || ':' "
      "|| origin, ' ' ORDER BY commit_lsn, position) FROM students_changes");
  ASSERT_TRUE(actors.ok()) << actors.error().ToString();
  EXPECT_EQ(actors->GetString(0, 0),
            "100:0:registrar1:portal 100:1:registrar1:portal 200:0:simulator:simulator "
            "300:0:-:database 400:0:-:database");
  auto versions = conn->connection.Query(
      "SELECT string_agg(student_key || ':' || coalesce(changed_by, '-') || ':' || origin, ' ' "
      "ORDER BY student_key) FROM students_dim");
  ASSERT_TRUE(versions.ok()) << versions.error().ToString();
  EXPECT_EQ(versions->GetString(0, 0),
            "1:registrar1:portal 2:registrar1:portal 3:simulator:simulator 4:-:database");
  auto takes = conn->connection.Query(
      "SELECT changed_by, origin FROM takes_changes "
      "WHERE commit_lsn = 200");
  ASSERT_TRUE(takes.ok()) << takes.error().ToString();
  ASSERT_EQ(takes->RowCount(), 1u);
  EXPECT_EQ(takes->GetString(0, 0), "simulator");
}

}  // namespace
}  // namespace migsbyu::lake
