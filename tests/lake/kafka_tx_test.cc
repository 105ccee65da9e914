// Kafka → lake with transactions spread over several topics and partitions, against librdkafka's
// mock cluster over TCP: a producer that writes two interleaved transactions in an adversarial
// order (the transaction metadata first, then the second transaction's changes, then the first's)
// is read whole and in commit order, so the dimensions' keys and the fact equal a rebuild's; a
// 3-partition topic read per partition loses no change to another partition's watermark and
// stores redeliveries once; the KafkaSink spreads a table over partitions by primary key.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "lake/testing.h"
#include "lake/writer.h"
#include "transport/kafka/client.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;

using testing::ChangeIn;
using testing::ContractSchema;
using testing::QueryText;

constexpr const char* kPrefix = "migsbyu.public.";
constexpr const char* kTransactionTopic = "migsbyu.transaction";

struct Tx {
  events::TransactionInfo info;
  std::vector<events::ChangeEvent> changes;
};

// One Kafka message, where it goes.
struct Msg {
  std::string topic;
  int32_t partition = 0;
  std::optional<std::string> key, value;
};

// A transaction's messages: BEGIN, its changes in order, END.
struct TxMessages {
  Msg begin;
  std::vector<Msg> changes;
  Msg end;
};

class KafkaTxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.CreateTopic(std::string(kPrefix) + "students", 3);
    cluster_.CreateTopic(std::string(kPrefix) + "courses", 1);
    cluster_.CreateTopic(std::string(kPrefix) + "takes", 3);
    cluster_.CreateTopic(kTransactionTopic, 1);
    dir_ = (fs::temp_directory_path() / ("lake_kafka_tx_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override {
    StopConsumer();
    fs::remove_all(dir_);
  }

  // A transaction with commit_lsn 100·n; `rows`: (table, op, before, after).
  Tx Make(uint64_t n,
          std::vector<
              std::tuple<std::string, char, std::optional<events::Row>, std::optional<events::Row>>>
              rows) {
    Tx tx;
    tx.info = {static_cast<uint32_t>(n),
               Lsn(100 * n),
               Lsn(100 * n + 8),
               1700000000000000 + static_cast<int64_t>(n) * 1000000,
               false,
               {}};
    for (auto& [table, op, before, after] : rows) {
      tx.changes.push_back(ChangeIn(tx.info, tx.changes.size(), schemas_.at(table),
                                    static_cast<events::Operation>(op), before, after));
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

  // The partition of a change: the number in its (first) key column modulo the topic's
  // partitions, as a producer keyed by primary key would keep each key in one partition.
  static int32_t PartitionOf(const events::ChangeEvent& c) {
    if (c.table->name == "courses") return 0;
    const events::Row& row = c.after ? *c.after : *c.before;
    return std::stoi(row[0].text.substr(1)) % 3;
  }

  // The messages our KafkaSink would write for `tx`, with transaction metadata.
  TxMessages Encode(const Tx& tx) {
    kafka::EnvelopeOptions options;
    TxMessages out;
    std::map<std::string, uint64_t> order, counts;
    for (const auto& c : tx.changes) {
      kafka::EnvelopeContext ctx;
      ctx.data_collection_order = ++order[c.table->name];
      ctx.processed_at_us = tx.info.commit_time_us;
      ++counts["public." + c.table->name];
      auto key = kafka::EncodeKey(c, options);
      auto value = kafka::EncodeValue(c, ctx, options);
      EXPECT_TRUE(key.ok() && value.ok());
      out.changes.push_back({kPrefix + c.table->name, PartitionOf(c), *key, *value});
    }
    const std::string id = kafka::TransactionId(tx.info.xid, tx.info.commit_lsn);
    auto [bk, bv] =
        kafka::EncodeTransactionRecord(id, std::nullopt, tx.info.commit_time_us, options);
    out.begin = {kTransactionTopic, 0, bk, bv};
    std::vector<kafka::DataCollectionCount> end;
    for (const auto& [collection, n] : counts) end.push_back({collection, n});
    auto [ek, ev] = kafka::EncodeTransactionRecord(id, end, tx.info.commit_time_us, options);
    out.end = {kTransactionTopic, 0, ek, ev};
    return out;
  }

  // Produces `messages` in this order (each partition keeps it) and waits for the acks.
  void Produce(const std::vector<Msg>& messages) {
    int failures = 0;
    auto producer =
        kafka::Producer::Create({{"bootstrap.servers", cluster_.bootstraps()},
                                 {"enable.idempotence", "true"},
                                 {"log_level", "3"}},
                                [&](void*, rd_kafka_resp_err_t e) { failures += e != 0; });
    ASSERT_TRUE(producer.ok()) << producer.error().ToString();
    for (const auto& m : messages) {
      ASSERT_TRUE(producer
                      ->Produce(m.topic, m.key ? &*m.key : nullptr, m.value ? &*m.value : nullptr,
                                nullptr, m.partition)
                      .ok());
    }
    ASSERT_EQ(producer->Flush(std::chrono::seconds(30)), 0);
    ASSERT_EQ(failures, 0);
    produced_ += messages.size();
  }

  void StartConsumer(kafka::TransactionMode mode, const std::string& group = "lake",
                     size_t max_buffered_changes = 50000) {
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
    LakeSinkOptions options;
    options.writer.dir = dir_;
    auto sink = LakeSink::Open(options, lake_);
    ASSERT_TRUE(sink.ok()) << sink.error().ToString();
    sink_ = std::move(*sink);
    kafka::KafkaSourceOptions so = cluster_.SourceOptions(group);
    so.transactions = mode;
    so.max_buffered_changes = max_buffered_changes;
    source_ = std::make_unique<kafka::KafkaSource>(so);
    consumer_ = std::jthread([this](std::stop_token stop) { run_ = source_->Run(stop, *sink_); });
  }
  void StopConsumer() {
    if (!consumer_.joinable()) return;
    consumer_.request_stop();
    consumer_.join();
    EXPECT_TRUE(run_.ok()) << run_.error().ToString();
    sink_.reset();
    lake_.reset();
  }

  // Polls `done` for up to a minute.
  bool WaitFor(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  bool Consumed(uint64_t messages) {
    return WaitFor([&] { return source_->stats().messages >= messages; });
  }
  bool Stored(uint64_t students, uint64_t courses, uint64_t takes) {
    return WaitFor([&] {
      auto c = lake_->Counts();
      return c["students_changes"] == students && c["courses_changes"] == courses &&
             c["takes_changes"] == takes;
    });
  }

  std::string Dims() {
    return QueryText(dir_,
                     "SELECT student_key, id, gpa, current_row_indicator, "
                     "epoch_us(row_effective_start) FROM students_dim UNION ALL SELECT "
                     "course_key, id, name, current_row_indicator, epoch_us(row_effective_start) "
                     "FROM courses_dim ORDER BY ALL");
  }
  std::string Fact() {
    return QueryText(dir_,
                     "SELECT student_key, professor_key, course_key, semester, "
                     "course_enrollment_count, epoch_us(event_time), source_lsn, source_position, "
                     "student_id, course_id FROM course_enrollment_fact ORDER BY ALL");
  }
  // Rebuilds the dimensions and the fact from the change logs (REQUIRES: no consumer running).
  void Rebuild() {
    WriterOptions options;
    options.dir = dir_;
    auto writer = LakeWriter::Open(options, nullptr);
    ASSERT_TRUE(writer.ok()) << writer.error().ToString();
    Status rebuilt = (*writer)->Rebuild();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().ToString();
  }

  kafka::testing::MockCluster cluster_{1};
  std::string dir_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_ = {
      {"students", ContractSchema("students")},
      {"courses", ContractSchema("courses")},
      {"takes", ContractSchema("takes")}};
  std::shared_ptr<Lake> lake_;
  std::unique_ptr<LakeSink> sink_;
  std::unique_ptr<kafka::KafkaSource> source_;
  std::jthread consumer_;
  Status run_ = OkStatus();
  uint64_t produced_ = 0;
};

TEST_F(KafkaTxTest, InterleavedTransactionsAcrossTopicsAndPartitionsArePublishedWholeInOrder) {
  // tx1 creates S1 (students[1]), C1 and enrolls S1 (takes[1]); tx2 creates S2 (students[2]),
  // enrolls S2 (takes[2]) and updates S1 (students[1], after tx1's create).
  Tx tx1 = Make(1, {{"students", 'c', std::nullopt, Student("S1", "3.10")},
                    {"courses", 'c', std::nullopt, Course("C1")},
                    {"takes", 'c', std::nullopt, Takes("S1", "C1")}});
  Tx tx2 = Make(2, {{"students", 'c', std::nullopt, Student("S2", "2.00")},
                    {"takes", 'c', std::nullopt, Takes("S2", "C1")},
                    {"students", 'u', Student("S1", "3.10"), Student("S1", "3.90")}});
  TxMessages m1 = Encode(tx1), m2 = Encode(tx2);
  StartConsumer(kafka::TransactionMode::kAuto);
  // The metadata of both, interleaved, and tx2's new student and enrollment: nothing of tx2 may
  // be published before tx1, which has nothing yet.
  Produce({m1.begin, m2.begin, m1.end, m2.end, m2.changes[0], m2.changes[1]});
  ASSERT_TRUE(Consumed(produced_));
  EXPECT_EQ(source_->stats().changes, 0u);
  EXPECT_TRUE(source_->WholeTransactions());
  // tx1's enrollment and course: tx1 still lacks its student.
  Produce({m1.changes[2], m1.changes[1]});
  ASSERT_TRUE(Consumed(produced_));
  EXPECT_EQ(source_->stats().changes, 0u);
  // students[1]: tx1's create, then tx2's update.
  Produce({m1.changes[0], m2.changes[2]});
  ASSERT_TRUE(Stored(3, 1, 2)) << "the lake did not receive both transactions";
  auto stats = source_->stats();
  StopConsumer();
  EXPECT_EQ(stats.transactions, 2u);
  EXPECT_EQ(stats.incomplete, 0u);
  EXPECT_EQ(stats.late, 0u);

  // The keys of commit order: S1's first version 1 (tx1), S2 2, S1's update 3 (tx2).
  const std::string dims = Dims(), fact = Fact();
  EXPECT_EQ(dims,
            "1|C1|Intro|yes|1700000001000000\n"
            "1|S1|3.10|no|1700000001000000\n"
            "2|S2|2.00|yes|1700000002000000\n"
            "3|S1|3.90|yes|1700000002000000\n");
  // The oracle: each enrollment with no professor, with the keys current at its change.
  EXPECT_EQ(fact,
            "1|NULL|1|Fall 2024|1|1700000001000000|100|2|S1|C1\n"
            "2|NULL|1|Fall 2024|1|1700000002000000|200|1|S2|C1\n");
  Rebuild();
  EXPECT_EQ(Dims(), dims);
  EXPECT_EQ(Fact(), fact);
}

TEST_F(KafkaTxTest, AThreePartitionTopicReadPerPartitionStoresEveryChangeOnce) {
  // Students S1..S6 over students[0..2]; tx n creates S(n), tx 7 and 8 update S1 and S2.
  std::vector<Tx> txs;
  for (uint64_t n = 1; n <= 6; ++n) {
    txs.push_back(
        Make(n, {{"students", 'c', std::nullopt, Student("S" + std::to_string(n), "2.00")}}));
  }
  txs.push_back(Make(7, {{"students", 'u', Student("S1", "2.00"), Student("S1", "3.00")}}));
  txs.push_back(Make(8, {{"students", 'u', Student("S2", "2.00"), Student("S2", "3.00")},
                         {"students", 'u', Student("S3", "2.00"), Student("S3", "3.00")}}));
  std::vector<Msg> late, early;  // students[2] (S2, S5) first: the highest commit LSNs of a table
  for (const auto& tx : txs) {
    for (auto& m : Encode(tx).changes) (m.partition == 2 ? early : late).push_back(m);
  }
  StartConsumer(kafka::TransactionMode::kPartition);
  Produce(early);
  ASSERT_TRUE(Consumed(produced_));
  Produce(late);
  ASSERT_TRUE(Consumed(produced_));
  // Everything again, as a connector replaying after a crash would.
  Produce(early);
  Produce(late);
  ASSERT_TRUE(Consumed(produced_));
  ASSERT_TRUE(Stored(9, 0, 0)) << "a change was lost or stored twice";
  EXPECT_FALSE(source_->WholeTransactions());
  StopConsumer();
  const std::string expected =
      "100|0|S1\n200|0|S2\n300|0|S3\n400|0|S4\n500|0|S5\n600|0|S6\n700|0|S1\n800|0|S2\n800|1|S3\n";
  const std::string changes_sql =
      "SELECT commit_lsn, position, coalesce(after_id, before_id) FROM students_changes "
      "ORDER BY ALL";
  EXPECT_EQ(QueryText(dir_, changes_sql), expected);

  // Another group reads every partition again from the start: the lake's marks per partition,
  // restored from its manifest, drop all of it.
  StartConsumer(kafka::TransactionMode::kPartition, "lake-again");
  ASSERT_TRUE(Consumed(produced_));
  StopConsumer();
  EXPECT_EQ(QueryText(dir_, changes_sql), expected);
}

TEST_F(KafkaTxTest, TheSinkWritesSeveralPartitionsKeyedByPrimaryKey) {
  kafka::KafkaSinkOptions o = cluster_.SinkOptions();
  o.create_topics = false;  // the mock cluster has no CreateTopics; SetUp made 3 partitions
  o.transaction_metadata = true;
  auto producer = kafka::KafkaSink::Create(o);
  ASSERT_TRUE(producer.ok()) << producer.error().ToString();
  std::vector<Tx> txs;
  for (uint64_t n = 1; n <= 20; ++n) {
    std::string a = "S" + std::to_string(n % 12), b = "S" + std::to_string((n * 7) % 12);
    txs.push_back(Make(n, {{"students", 'c', std::nullopt, Student(a, "2.00")},
                           {"students", 'c', std::nullopt, Student(b, "3.00")},
                           {"takes", 'c', std::nullopt, Takes(a, "C1")}}));
  }
  for (const auto& tx : txs) {
    ASSERT_TRUE((*producer)->Begin(tx.info).ok());
    for (const auto& c : tx.changes) ASSERT_TRUE((*producer)->Apply(c).ok());
    ASSERT_TRUE((*producer)->Commit(tx.info).ok());
  }
  auto flushed = (*producer)->Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();

  kafka::testing::RecordingSink recorded;
  kafka::KafkaSourceOptions so = cluster_.SourceOptions("recorder");
  kafka::KafkaSource source(so);
  Status run = OkStatus();
  std::jthread consumer([&](std::stop_token stop) { run = source.Run(stop, recorded); });
  ASSERT_TRUE(WaitFor([&] { return recorded.change_count() >= 60; }));
  consumer.request_stop();
  consumer.join();
  ASSERT_TRUE(run.ok()) << run.error().ToString();

  std::map<std::string, std::set<int32_t>> partitions;  // per table and key
  std::set<int32_t> used;
  for (const auto& c : recorded.changes()) {
    const std::string key = c.table->name + ":" + c.after->at(0).text;
    partitions[key].insert(c.source_partition);
    if (c.table->name == "students") used.insert(c.source_partition);
  }
  for (const auto& [key, parts] : partitions) EXPECT_EQ(parts.size(), 1u) << key;
  EXPECT_GT(used.size(), 1u) << "every student went to one partition";
  // Whole transactions, in commit order.
  auto commits = recorded.commits();
  ASSERT_EQ(commits.size(), txs.size());
  for (size_t i = 0; i < commits.size(); ++i) {
    EXPECT_EQ(commits[i].commit_lsn, txs[i].info.commit_lsn);
  }
  EXPECT_EQ(source.stats().transactions, txs.size());
}

TEST_F(KafkaTxTest, ARestartReadsWaitingTransactionsAgainAndStoresEachChangeOnce) {
  using R = std::optional<events::Row>;
  const R none;
  std::vector<Tx> txs = {
      Make(1, {{"courses", 'c', none, Course("C1")},
               {"students", 'c', none, Student("S1", "2.00")},
               {"students", 'c', none, Student("S2", "2.00")}}),
      Make(2, {{"takes", 'c', none, Takes("S1", "C1")},
               {"students", 'c', none, Student("S3", "2.00")}}),
      Make(3, {{"students", 'u', Student("S2", "2.00"), Student("S2", "3.00")},
               {"takes", 'c', none, Takes("S2", "C1")}}),
      Make(4, {{"takes", 'c', none, Takes("S3", "C1")}, {"takes", 'd', Takes("S1", "C1"), none}}),
      Make(5, {{"students", 'c', none, Student("S4", "2.00")},
               {"takes", 'c', none, Takes("S4", "C1")},
               {"students", 'u', Student("S3", "2.00"), Student("S3", "3.50")}}),
      Make(6, {{"takes", 'd', Takes("S2", "C1"), none},
               {"students", 'c', none, Student("S5", "2.00")}}),
      Make(7, {{"courses", 'c', none, Course("C2")},
               {"takes", 'c', none, Takes("S5", "C2")},
               {"students", 'u', Student("S1", "2.00"), Student("S1", "2.50")}}),
      Make(8, {{"takes", 'c', none, Takes("S3", "C2")},
               {"students", 'd', Student("S4", "2.00"), none}}),
  };
  // First: the metadata of tx1..tx6 and every partition's changes of them, except students[1]
  // from tx5 on (S4's create): tx5 stays incomplete, and tx6 must wait behind it.
  std::map<std::pair<std::string, int32_t>, std::vector<Msg>> first, second;
  std::vector<TxMessages> encoded;
  for (size_t i = 0; i < txs.size(); ++i) {
    encoded.push_back(Encode(txs[i]));
    auto& to = i < 6 ? first : second;
    to[{kTransactionTopic, 0}].push_back(encoded.back().begin);
    for (const auto& m : encoded.back().changes) {
      bool held = m.topic == std::string(kPrefix) + "students" && m.partition == 1 && i >= 4;
      (held ? second : to)[{m.topic, m.partition}].push_back(m);
    }
    to[{kTransactionTopic, 0}].push_back(encoded.back().end);
  }
  // Partitions in reverse order of their names: the transaction metadata last.
  auto flatten = [](const auto& parts) {
    std::vector<Msg> out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
    return out;
  };
  StartConsumer(kafka::TransactionMode::kAuto);
  Produce(flatten(first));
  ASSERT_TRUE(Consumed(produced_));
  ASSERT_TRUE(Stored(4, 1, 4)) << "tx1..tx4 were not published";
  EXPECT_EQ(source_->stats().transactions, 4u);
  StopConsumer();
  EXPECT_EQ(QueryText(dir_, "SELECT count(*) FROM students_changes WHERE commit_lsn >= 500"),
            "0\n");

  // Then the rest, and tx2 once more (a replaying connector), to a new consumer of the group:
  // it reads tx5 and tx6 again from the committed offsets.
  std::vector<Msg> rest = flatten(second);
  rest.push_back(encoded[1].begin);
  rest.insert(rest.end(), encoded[1].changes.begin(), encoded[1].changes.end());
  rest.push_back(encoded[1].end);
  StartConsumer(kafka::TransactionMode::kAuto);
  Produce(rest);
  ASSERT_TRUE(Stored(9, 2, 8)) << "not every change was stored once";
  auto stats = source_->stats();
  StopConsumer();
  EXPECT_GE(stats.transactions, 4u);  // tx5..tx8 whole
  EXPECT_EQ(stats.incomplete, 0u);

  std::string expected;
  for (const auto& tx : txs) {
    for (const auto& c : tx.changes) {
      expected += c.table->name + "|" + std::to_string(c.commit_lsn.value()) + "|" +
                  std::to_string(c.position) + "\n";
    }
  }
  EXPECT_EQ(QueryText(dir_,
                      "SELECT t, commit_lsn, position FROM (SELECT 'students' AS t, commit_lsn, "
                      "position FROM students_changes UNION ALL SELECT 'courses', commit_lsn, "
                      "position FROM courses_changes UNION ALL SELECT 'takes', commit_lsn, "
                      "position FROM takes_changes) ORDER BY commit_lsn, position"),
            expected);
  // The oracle: the enrollments left, each with no professor.
  EXPECT_EQ(QueryText(dir_,
                      "SELECT student_id, course_id, sum(course_enrollment_count) FROM "
                      "course_enrollment_fact GROUP BY ALL HAVING sum(course_enrollment_count) "
                      "<> 0 ORDER BY ALL"),
            "S3|C1|1\nS3|C2|1\nS4|C1|1\nS5|C2|1\n");
  const std::string dims = Dims(), fact = Fact();
  Rebuild();
  EXPECT_EQ(Dims(), dims);
  EXPECT_EQ(Fact(), fact);
}

TEST_F(KafkaTxTest, PastTheBufferBoundTheOldestTransactionGoesOnIncompleteAndNothingIsLost) {
  Tx tx1 = Make(1, {{"students", 'c', std::nullopt, Student("S1", "2.00")},
                    {"students", 'c', std::nullopt, Student("S2", "2.00")},
                    {"courses", 'c', std::nullopt, Course("C1")}});
  Tx tx2 = Make(2, {{"students", 'c', std::nullopt, Student("S3", "2.00")},
                    {"students", 'c', std::nullopt, Student("S4", "2.00")}});
  TxMessages m1 = Encode(tx1), m2 = Encode(tx2);
  StartConsumer(kafka::TransactionMode::kAuto, "lake", /*max_buffered_changes=*/3);
  // tx1 without its course waits; tx2 behind it fills the buffer past 3: tx1 goes on as it is.
  Produce({m1.begin, m1.end, m2.begin, m2.end, m1.changes[0], m1.changes[1], m2.changes[0],
           m2.changes[1]});
  ASSERT_TRUE(Stored(4, 0, 0));
  EXPECT_EQ(source_->stats().incomplete, 1u);
  EXPECT_EQ(source_->stats().transactions, 1u);  // tx2, whole
  // tx1's last change follows as it comes.
  Produce({m1.changes[2]});
  ASSERT_TRUE(Stored(4, 1, 0));
  StopConsumer();
  EXPECT_EQ(QueryText(dir_,
                      "SELECT commit_lsn, position, after_id FROM students_changes UNION ALL "
                      "SELECT commit_lsn, position, after_id FROM courses_changes ORDER BY ALL"),
            "100|0|S1\n100|1|S2\n100|2|C1\n200|0|S3\n200|1|S4\n");
}

}  // namespace
}  // namespace migsbyu::lake
