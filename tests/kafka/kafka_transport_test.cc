// KafkaSink and KafkaSource against librdkafka's mock cluster, which real clients reach over
// loopback TCP: every operation and column type through the sink and back through a separate
// consumer (and through kcat, an independent client), tombstones, de-duplication of a replayed
// transaction, a broker outage, a consumer group of two (eager and cooperative), a consumer
// closed with a revocation pending, Debezium's own events, and the transaction metadata topic.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::kafka {
namespace {

using testing::json;
using testing::RecordingSink;
namespace fs = std::filesystem;

const fs::path kTestData = MIGSBYU_KAFKA_TESTDATA;
// Generous: the mock group coordinator can hold a (re)join for a session timeout, repeatedly
// under load.
constexpr auto kDeadline = std::chrono::seconds(120);

// Polls `done` until it holds or the deadline passes; returns whether it held.
template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = kDeadline) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll interval, not a wait
  }
  return true;
}

// A transaction to push through a sink: its info and its changes.
struct Tx {
  events::TransactionInfo info;
  std::vector<events::ChangeEvent> changes;
};

// Builds transactions with consecutive LSNs over the tables of table_students.json.
class TxBuilder {
 public:
  TxBuilder()
      : students_(testing::TableFromJson(testing::ReadJson(kTestData / "table_students.json"))) {}

  std::shared_ptr<const events::TableSchema> Table(const std::string& name) {
    auto& t = tables_[name];
    if (!t) {
      auto copy = std::make_shared<events::TableSchema>(*students_);
      copy->name = name;
      t = copy;
    }
    return t;
  }

  // A row with every column set from `id` (text, numeric, date, timestamps, ints, float, bool).
  events::Row RowFor(int64_t id, bool nulls = false) const {
    using events::Value;
    if (nulls) {
      events::Row row(students_->columns.size(), Value::Null());
      row[0] = Value::Integer(id);
      return row;
    }
    return {Value::Integer(id),
            Value::Text("student-" + std::to_string(id) + " \"quoted\" ünïcode"),
            Value::Text(std::to_string(id % 4) + ".2" + std::to_string(id % 10)),
            Value::Integer(19753 + id),
            Value::Integer(1706659200123450 + id),
            Value::Integer(-86400000000LL + id),
            Value::Integer(id % 300),
            Value::Integer(9007199254740993LL + id),
            Value::Real(0.5 + id),
            Value::Integer(id % 2),
            Value::Text("-" + std::to_string(id) + ".000123")};
  }

  // One transaction of `ops` on `table` (op letter, id), each change getting the next LSN.
  Tx Make(const std::vector<std::pair<std::string, std::pair<char, int64_t>>>& ops,
          bool snapshot = false) {
    Tx tx;
    tx.info.xid = ++xid_;
    tx.info.snapshot = snapshot;
    uint64_t first = next_lsn_;
    uint64_t position = 0;
    for (const auto& [table, op] : ops) {
      events::ChangeEvent e;
      e.op = static_cast<events::Operation>(op.first);
      e.table = Table(table);
      e.lsn = Lsn(snapshot ? first : next_lsn_ += 0x40);
      e.position = position++;
      e.xid = tx.info.xid;
      switch (e.op) {
        case events::Operation::kRead:
        case events::Operation::kInsert:
          e.after = RowFor(op.second, op.second % 5 == 4);
          break;
        case events::Operation::kUpdate:
          e.before = RowFor(op.second);
          e.after = RowFor(op.second + 1000);
          (*e.after)[0] = events::Value::Integer(op.second);
          (*e.after)[1] = events::Value::UnchangedToast();
          break;
        case events::Operation::kDelete:
          e.before = RowFor(op.second);
          break;
        case events::Operation::kTruncate:
          break;
      }
      tx.changes.push_back(std::move(e));
    }
    tx.info.commit_lsn = Lsn(snapshot ? first : next_lsn_ += 0x40);
    tx.info.end_lsn = Lsn(snapshot ? first : tx.info.commit_lsn.value() + 0x30);
    next_lsn_ = tx.info.end_lsn.value();
    tx.info.commit_time_us = 1706695530000000 + static_cast<int64_t>(xid_) * 1001;
    for (auto& e : tx.changes) {
      e.commit_lsn = tx.info.commit_lsn;
      e.commit_time_us = tx.info.commit_time_us;
    }
    return tx;
  }

 private:
  std::shared_ptr<const events::TableSchema> students_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> tables_;
  uint32_t xid_ = 700;
  uint64_t next_lsn_ = 0x1A000000;
};

// As the connector does: end_lsn is known only at the commit (zero in Begin unless snapshot).
events::TransactionInfo BeginInfo(const Tx& tx) {
  events::TransactionInfo info = tx.info;
  if (!info.snapshot) info.end_lsn = Lsn();
  return info;
}

Status TryPush(transport::Sink& sink, const Tx& tx) {
  MIGSBYU_TRY(sink.Begin(BeginInfo(tx)));
  for (const auto& c : tx.changes) MIGSBYU_TRY(sink.Apply(c));
  return sink.Commit(tx.info);
}

void Push(transport::Sink& sink, const Tx& tx) {
  ASSERT_TRUE(sink.Begin(BeginInfo(tx)).ok());
  for (const auto& c : tx.changes) {
    auto s = sink.Apply(c);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
  }
  ASSERT_TRUE(sink.Commit(tx.info).ok());
}

std::unique_ptr<KafkaSink> MakeSink(
    const testing::MockCluster& cluster,
    std::chrono::milliseconds flush_timeout = std::chrono::seconds(30),
    bool transaction_metadata = false) {
  KafkaSinkOptions o = cluster.SinkOptions();
  o.flush_timeout = flush_timeout;
  o.transaction_metadata = transaction_metadata;
  auto sink = KafkaSink::Create(o);
  EXPECT_TRUE(sink.ok()) << sink.error().ToString();
  return std::move(sink).value();
}

KafkaSourceOptions SourceOptions(const testing::MockCluster& cluster, const std::string& group) {
  return cluster.SourceOptions(group);
}

// Runs a KafkaSource on its own thread until destroyed; Run's status is kept.
class RunningSource {
 public:
  RunningSource(KafkaSourceOptions options, transport::Sink& sink)
      : source_(std::move(options)),
        thread_([this, &sink](std::stop_token stop) { status_ = source_.Run(stop, sink); }) {}
  ~RunningSource() { (void)Stop(); }
  Status Stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    return status_;
  }
  KafkaSource& source() { return source_; }

 private:
  KafkaSource source_;
  Status status_ = OkStatus();
  std::jthread thread_;
};

// Identity of a change across the whole stream.
std::string IdentityOf(const events::ChangeEvent& c) {
  return c.table->name + "@" + c.commit_lsn.ToString() + "#" + std::to_string(c.position);
}

// The changes of `txs` a consumer must see, described for comparison.
std::map<std::string, json> Expected(const std::vector<Tx>& txs) {
  std::map<std::string, json> out;
  for (const auto& tx : txs) {
    for (const auto& c : tx.changes) out[IdentityOf(c)] = testing::DescribeChange(c);
  }
  return out;
}

std::map<std::string, json> Received(const std::vector<events::ChangeEvent>& changes) {
  std::map<std::string, json> out;
  for (const auto& c : changes) {
    EXPECT_FALSE(out.contains(IdentityOf(c))) << "duplicate " << IdentityOf(c);
    out[IdentityOf(c)] = testing::DescribeChange(c);
  }
  return out;
}

class KafkaTransportTest : public ::testing::Test {
 protected:
  void CreateTopics(const std::vector<std::string>& tables, int partitions = 1) {
    for (const auto& t : tables) cluster_.CreateTopic("migsbyu.public." + t, partitions);
  }
  // Two KafkaSources with partition.assignment.strategy `strategy` split the tables, and one
  // takes over the other's when it leaves; every change arrives once.
  void GroupOfTwoSplitsTheTablesAndHandsOverOnLeave(const std::string& strategy);

  testing::MockCluster cluster_{3};
  TxBuilder b_;
};

TEST_F(KafkaTransportTest, EveryOperationAndTypeRoundTripsThroughTheMockCluster) {
  CreateTopics({"students", "courses"});
  std::vector<Tx> txs = {
      b_.Make({{"students", {'r', 1}}, {"students", {'r', 2}}, {"courses", {'r', 3}}}, true),
      b_.Make({{"students", {'c', 4}}, {"courses", {'c', 5}}, {"students", {'c', 9}}}),
      b_.Make({{"students", {'u', 4}}}),
      b_.Make({{"students", {'d', 2}}, {"courses", {'d', 3}}}),
      b_.Make({{"courses", {'t', 0}}}),
  };
  auto sink = MakeSink(cluster_);
  for (const auto& tx : txs) Push(*sink, tx);
  auto flushed = sink->Flush();
  ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
  EXPECT_EQ(*flushed, txs.back().info.end_lsn);

  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "roundtrip"), recorded);
  const size_t total = Expected(txs).size();
  ASSERT_TRUE(WaitFor([&] {
    return recorded.change_count() >= total && source.source().stats().tombstones >= 2;
  })) << recorded.change_count()
      << " of " << total;
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(Received(recorded.changes()), Expected(txs));
  EXPECT_EQ(source.source().stats().tombstones, 2u);
  EXPECT_EQ(source.source().stats().duplicates, 0u);
  // Every transaction handed to the sink carries the original transaction's identity (the end
  // LSN only where the producing sink knew it: the snapshot; otherwise the commit LSN).
  for (const auto& c : recorded.commits()) {
    bool known = std::any_of(txs.begin(), txs.end(), [&](const Tx& tx) {
      Lsn end = tx.info.snapshot ? tx.info.end_lsn : tx.info.commit_lsn;
      return tx.info.commit_lsn == c.commit_lsn && end == c.end_lsn && tx.info.xid == c.xid &&
             tx.info.snapshot == c.snapshot && tx.info.commit_time_us == c.commit_time_us;
    });
    EXPECT_TRUE(known) << "unknown transaction " << c.commit_lsn.ToString();
  }
}

// Every (key, value) of `topic`, read by kcat (an independent client); a null value as "NULL".
std::vector<std::pair<std::string, std::string>> KcatRead(const testing::MockCluster& cluster,
                                                          const std::string& topic) {
  std::string cmd = "kcat -C -b " + cluster.bootstraps() + " -t " + topic +
                    " -e -q -Z -f '%k\\t%s\\n' 2>/dev/null";
  std::vector<std::pair<std::string, std::string>> lines;
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (!pipe) return lines;
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  EXPECT_EQ(pclose(pipe), 0) << out;
  for (size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = out.substr(start, nl - start);
    auto tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << line;
    if (tab != std::string::npos) lines.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return lines;
}

TEST_F(KafkaTransportTest, KcatReadsEveryMessageIncludingTombstones) {
  CreateTopics({"students"});
  std::vector<Tx> txs = {b_.Make({{"students", {'c', 1}}, {"students", {'c', 2}}}),
                         b_.Make({{"students", {'d', 1}}})};
  auto sink = MakeSink(cluster_);
  for (const auto& tx : txs) Push(*sink, tx);
  ASSERT_TRUE(sink->Flush().ok());

  auto lines = KcatRead(cluster_, "migsbyu.public.students");
  ASSERT_EQ(lines.size(), 4u);  // two inserts, a delete and its tombstone
  EXPECT_EQ(json::parse(lines[0].first)["payload"], json({{"id", 1}}));
  EXPECT_EQ(json::parse(lines[1].second)["payload"]["op"], "c");
  EXPECT_EQ(json::parse(lines[1].second)["payload"]["after"]["id"], 2);
  EXPECT_EQ(json::parse(lines[2].second)["payload"]["op"], "d");
  EXPECT_EQ(json::parse(lines[3].first)["payload"], json({{"id", 1}}));
  EXPECT_EQ(lines[3].second, "NULL");  // kcat -Z prints a null value as NULL
}

TEST_F(KafkaTransportTest, TransactionMetadataBracketsEachTransactionWithItsCounts) {
  CreateTopics({"students", "courses"});
  cluster_.CreateTopic("migsbyu.transaction", 1);
  std::vector<Tx> txs = {
      b_.Make({{"students", {'c', 1}}, {"courses", {'c', 7}}, {"students", {'c', 2}}}),
      b_.Make({{"students", {'d', 1}}})};
  auto sink = MakeSink(cluster_, std::chrono::seconds(30), /*transaction_metadata=*/true);
  for (const auto& tx : txs) Push(*sink, tx);
  ASSERT_TRUE(sink->Flush().ok());

  auto records = KcatRead(cluster_, "migsbyu.transaction");
  ASSERT_EQ(records.size(), 4u);
  // The ids are the data messages' transaction.id.
  auto students = KcatRead(cluster_, "migsbyu.public.students");
  ASSERT_EQ(students.size(), 4u);  // two inserts, a delete, its tombstone
  const std::string id1 = json::parse(students[0].second)["payload"]["transaction"]["id"];
  const std::string id2 = json::parse(students[2].second)["payload"]["transaction"]["id"];
  ASSERT_NE(id1, id2);
  auto payload = [&](size_t i) { return json::parse(records[i].second)["payload"]; };
  EXPECT_EQ(json::parse(records[0].first)["payload"], json({{"id", id1}}));
  EXPECT_EQ(payload(0)["status"], "BEGIN");
  EXPECT_EQ(payload(0)["id"], id1);
  EXPECT_TRUE(payload(0)["event_count"].is_null());
  EXPECT_TRUE(payload(0)["data_collections"].is_null());
  EXPECT_EQ(payload(1)["status"], "END");
  EXPECT_EQ(payload(1)["id"], id1);
  EXPECT_EQ(payload(1)["event_count"], 3);
  EXPECT_EQ(payload(1)["data_collections"],
            json::parse(R"([{"data_collection":"public.courses","event_count":1},)"
                        R"({"data_collection":"public.students","event_count":2}])"));
  EXPECT_EQ(payload(2)["status"], "BEGIN");
  EXPECT_EQ(payload(3)["status"], "END");
  EXPECT_EQ(payload(3)["id"], id2);
  EXPECT_EQ(payload(3)["event_count"], 1);
  EXPECT_EQ(json::parse(records[3].second)["schema"]["name"],
            "io.debezium.connector.common.TransactionMetadataValue");

  // A consumer of every topic of the prefix passes over the records and hands on each change.
  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "metadata"), recorded);
  ASSERT_TRUE(WaitFor(
      [&] { return recorded.change_count() >= 4 && source.source().stats().skipped >= 4; }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(source.source().stats().skipped, 4u);
  EXPECT_EQ(Received(recorded.changes()), Expected(txs));
}

TEST_F(KafkaTransportTest, TombstonesCanBeTurnedOff) {
  CreateTopics({"students"});
  KafkaSinkOptions o = cluster_.SinkOptions();
  o.envelope.tombstones_on_delete = false;
  auto sink = KafkaSink::Create(o);
  ASSERT_TRUE(sink.ok());
  std::vector<Tx> txs = {b_.Make({{"students", {'c', 1}}}), b_.Make({{"students", {'d', 1}}})};
  for (const auto& tx : txs) Push(**sink, tx);
  ASSERT_TRUE((*sink)->Flush().ok());
  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "no-tombstones"), recorded);
  ASSERT_TRUE(WaitFor([&] { return recorded.change_count() >= 2; }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(source.source().stats().tombstones, 0u);
  EXPECT_EQ(source.source().stats().messages, 2u);
}

TEST_F(KafkaTransportTest, ATransactionReplayedAfterAConnectorRestartIsStoredOnce) {
  CreateTopics({"students", "courses"});
  std::vector<Tx> txs = {b_.Make({{"students", {'c', 1}}, {"courses", {'c', 2}}}),
                         b_.Make({{"students", {'u', 1}}, {"courses", {'c', 3}}}),
                         b_.Make({{"students", {'c', 4}}})};
  {
    auto first = MakeSink(cluster_);
    Push(*first, txs[0]);
    Push(*first, txs[1]);
    ASSERT_TRUE(first->Flush().ok());
  }
  {
    // The connector restarted from an LSN before txs[1]: it sends txs[1] again.
    auto second = MakeSink(cluster_);
    Push(*second, txs[1]);
    Push(*second, txs[2]);
    ASSERT_TRUE(second->Flush().ok());
  }
  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "replay"), recorded);
  ASSERT_TRUE(WaitFor([&] { return source.source().AssignedPartitions() == 2; }));
  const size_t messages = 2 + 2 + 2 + 1;
  ASSERT_TRUE(WaitFor([&] {
    return recorded.change_count() >= 5 && source.source().stats().messages >= messages;
  }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(source.source().stats().messages, messages);
  EXPECT_EQ(source.source().stats().duplicates, 2u);
  EXPECT_EQ(Received(recorded.changes()), Expected(txs));
}

TEST_F(KafkaTransportTest, FlushDoesNotAdvanceWhileBrokersAreDownAndNothingIsLostAfter) {
  CreateTopics({"students"});
  auto sink = MakeSink(cluster_, std::chrono::milliseconds(1500));
  std::vector<Tx> txs = {b_.Make({{"students", {'c', 1}}}),
                         b_.Make({{"students", {'c', 2}}, {"students", {'u', 1}}}),
                         b_.Make({{"students", {'d', 2}}})};
  Push(*sink, txs[0]);
  auto first = sink->Flush();
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_EQ(*first, txs[0].info.end_lsn);

  cluster_.SetAllBrokersDown();
  Push(*sink, txs[1]);
  Push(*sink, txs[2]);
  auto during = sink->Flush();
  ASSERT_FALSE(during.ok()) << "flush succeeded with every broker down";
  EXPECT_EQ(during.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(sink->AcknowledgedLsn(), txs[0].info.end_lsn);

  cluster_.SetAllBrokersUp();
  Result<Lsn> after = Error::Unavailable("not flushed yet");
  ASSERT_TRUE(WaitFor([&] {
    after = sink->Flush();
    return after.ok();
  })) << after.error().ToString();
  EXPECT_EQ(*after, txs[2].info.end_lsn);

  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "outage"), recorded);
  ASSERT_TRUE(WaitFor([&] { return recorded.change_count() >= 4; }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(Received(recorded.changes()), Expected(txs));
  EXPECT_EQ(source.source().stats().duplicates, 0u) << "the idempotent producer wrote no duplicate";
}

TEST_F(KafkaTransportTest, AFailedDeliveryIsAnErrorAndTheReplayedTransactionArrivesOnce) {
  CreateTopics({"students"});
  auto sink = MakeSink(cluster_, std::chrono::milliseconds(5000));
  std::vector<Tx> txs = {b_.Make({{"students", {'c', 1}}}), b_.Make({{"students", {'c', 2}}})};
  Push(*sink, txs[0]);
  ASSERT_TRUE(sink->Flush().ok());

  cluster_.FailNextProduceRequests(1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  Push(*sink, txs[1]);
  auto failed = sink->Flush();
  ASSERT_FALSE(failed.ok()) << "a permanently failed delivery was acknowledged";
  EXPECT_EQ(sink->AcknowledgedLsn(), txs[0].info.end_lsn);

  // The connector replays from its last confirmed LSN after every error, as often as it takes
  // (here the idempotent producer may report the failure once more before it is replaced).
  Result<Lsn> replayed = Error::Unavailable("not replayed");
  for (int attempt = 0; attempt < 3 && !replayed.ok(); ++attempt) {
    Status pushed = TryPush(*sink, txs[1]);
    replayed = pushed.ok() ? sink->Flush() : Result<Lsn>(pushed.error());
  }
  ASSERT_TRUE(replayed.ok()) << replayed.error().ToString();
  EXPECT_EQ(*replayed, txs[1].info.end_lsn);

  RecordingSink recorded;
  RunningSource source(SourceOptions(cluster_, "failed-delivery"), recorded);
  ASSERT_TRUE(WaitFor([&] { return recorded.change_count() >= 2; }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(Received(recorded.changes()), Expected(txs));
}

void KafkaTransportTest::GroupOfTwoSplitsTheTablesAndHandsOverOnLeave(const std::string& strategy) {
  const std::vector<std::string> tables = {"students", "professors", "courses", "enrollments"};
  CreateTopics(tables);
  RecordingSink sink_a, sink_b;
  auto options = SourceOptions(cluster_, "lake");
  options.extra["partition.assignment.strategy"] = strategy;
  RunningSource a(options, sink_a);
  auto b = std::make_unique<RunningSource>(options, sink_b);
  ASSERT_TRUE(WaitFor([&] {
    return a.source().AssignedPartitions() >= 1 && b->source().AssignedPartitions() >= 1 &&
           a.source().AssignedPartitions() + b->source().AssignedPartitions() == tables.size();
  })) << a.source().AssignedPartitions()
      << " + " << b->source().AssignedPartitions();

  std::vector<Tx> round1;
  for (int i = 0; i < 5; ++i) {
    round1.push_back(b_.Make({{tables[i % 4], {'c', i}}, {tables[(i + 1) % 4], {'c', 100 + i}}}));
  }
  auto sink = MakeSink(cluster_);
  for (const auto& tx : round1) Push(*sink, tx);
  ASSERT_TRUE(sink->Flush().ok());
  const size_t total1 = Expected(round1).size();
  ASSERT_TRUE(WaitFor([&] { return sink_a.change_count() + sink_b.change_count() >= total1; }));

  // Each table was written by exactly one member.
  std::set<std::string> tables_a, tables_b;
  for (const auto& c : sink_a.changes()) tables_a.insert(c.table->name);
  for (const auto& c : sink_b.changes()) tables_b.insert(c.table->name);
  EXPECT_FALSE(tables_a.empty());
  EXPECT_FALSE(tables_b.empty());
  for (const auto& t : tables_a) EXPECT_FALSE(tables_b.contains(t)) << t << " read by both";

  // B leaves (flushing and committing first); A takes over B's tables from B's offsets.
  ASSERT_TRUE(b->Stop().ok());
  b.reset();
  ASSERT_TRUE(WaitFor([&] { return a.source().AssignedPartitions() == tables.size(); }));
  std::vector<Tx> round2;
  for (int i = 0; i < 4; ++i) round2.push_back(b_.Make({{tables[i], {'u', 100 + i}}}));
  for (const auto& tx : round2) Push(*sink, tx);
  ASSERT_TRUE(sink->Flush().ok());
  const size_t total2 = total1 + Expected(round2).size();
  ASSERT_TRUE(WaitFor([&] { return sink_a.change_count() + sink_b.change_count() >= total2; }));
  ASSERT_TRUE(a.Stop().ok());

  std::vector<Tx> all = round1;
  all.insert(all.end(), round2.begin(), round2.end());
  std::vector<events::ChangeEvent> union_changes = sink_a.changes();
  for (const auto& c : sink_b.changes()) union_changes.push_back(c);
  EXPECT_EQ(Received(union_changes), Expected(all));
}

TEST_F(KafkaTransportTest, AConsumerGroupOfTwoSplitsTheTablesAndHandsOverOnLeave) {
  GroupOfTwoSplitsTheTablesAndHandsOverOnLeave("roundrobin");
}

// The cooperative protocol assigns and revokes incrementally, which the consumer must know from
// the strategy (made with the eager calls, the assignment is refused and nothing arrives).
TEST_F(KafkaTransportTest, ACooperativeGroupOfTwoSplitsTheTablesAndHandsOverOnLeave) {
  GroupOfTwoSplitsTheTablesAndHandsOverOnLeave("cooperative-sticky");
}

// A member stopped while a rebalance's revocation waits in its queue (the other member just left
// and it has not polled since) is handed that revocation inside rd_kafka_consumer_close, by which
// time the group may have terminated. The consumer must still apply it without asking the group
// anything: it used to ask for the rebalance protocol there, got NULL whenever the handler took a
// moment (as the lake's does, publishing before it lets a table go) and died in strlen.
TEST_F(KafkaTransportTest, AConsumerClosedWithARevocationPendingAppliesItAfterASlowHandler) {
  CreateTopics({"students", "professors", "courses"});
  const Config config = {{"bootstrap.servers", cluster_.bootstraps()},
                         {"group.id", "pending-revocation"},
                         {"partition.assignment.strategy", "roundrobin"},
                         {"session.timeout.ms", "6000"},
                         {"heartbeat.interval.ms", "300"},
                         {"log_level", "3"}};
  struct Member {
    std::atomic<size_t> assigned{0};
    std::atomic<bool> closing{false};
    std::atomic<size_t> revoked_while_closing{0};
    std::optional<Consumer> consumer;
  };
  auto join = [&](Member& m) {
    auto consumer = Consumer::Create(config, [&m](bool assigned, const auto& parts) {
      if (assigned) {
        m.assigned += parts.size();
        return;
      }
      if (m.closing && !parts.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a handler at work
        m.revoked_while_closing += parts.size();
      }
      m.assigned -= std::min(m.assigned.load(), parts.size());
    });
    ASSERT_TRUE(consumer.ok()) << consumer.error().ToString();
    m.consumer.emplace(std::move(*consumer));
    ASSERT_TRUE(m.consumer->Subscribe({"^migsbyu\\..*"}).ok());
  };
  Member a, b;
  join(a);
  join(b);
  ASSERT_TRUE(WaitFor([&] {
    for (Member* m : {&a, &b}) EXPECT_TRUE(m->consumer->Poll(std::chrono::milliseconds(10)).ok());
    return a.assigned > 0 && b.assigned > 0;
  }));
  const size_t b_held = b.assigned;

  // The topics are empty: nothing waits in B's queue until the rebalance does.
  ASSERT_EQ(b.consumer->QueuedEvents(), 0u);
  a.closing = true;
  a.consumer.reset();  // leaves the group, which rebalances
  // B does not poll: its heartbeat (every 300 ms) learns of the rebalance and the revocation of
  // its partitions is queued for it.
  ASSERT_TRUE(WaitFor([&] { return b.consumer->QueuedEvents() > 0; }));
  b.closing = true;
  b.consumer.reset();
  EXPECT_EQ(b.revoked_while_closing.load(), b_held);
  EXPECT_EQ(b.assigned.load(), 0u);
}

TEST_F(KafkaTransportTest, DebeziumEventsFromItsDocumentationAreConsumedIntoChangeEvents) {
  // Each testdata/debezium file becomes one message on its table's topic.
  std::map<std::string, std::vector<json>> by_topic;
  for (const auto& e : fs::directory_iterator(kTestData / "debezium")) {
    json c = testing::ReadJson(e.path());
    const json& v = c["value"];
    std::string topic;
    const json& payload = v.is_object() && v.contains("payload") ? v["payload"] : v;
    if (payload.contains("status")) {
      topic = "dbserver1.transaction";  // Debezium's transaction metadata topic
    } else if (!payload.is_null()) {
      topic = payload["source"]["name"].get<std::string>() + "." +
              payload["source"]["schema"].get<std::string>() + "." +
              payload["source"]["table"].get<std::string>();
    } else {
      topic = "PostgreSQL_server.inventory.customers";  // the tombstone follows its delete
    }
    by_topic[topic].push_back(c);
  }
  size_t expected_changes = 0;
  for (auto& [topic, cases] : by_topic) {
    // In the order Debezium wrote them: by (commit_lsn, position), tombstones last.
    auto order = [](const json& c) {
      if (c["expected"].is_null()) return std::make_tuple(1, Lsn(), uint64_t{0});  // tombstone
      const json& e = c["expected"];
      uint64_t position = e["position"].is_number() ? e["position"].get<uint64_t>() : 0;
      return std::make_tuple(0, *Lsn::Parse(e["commit_lsn"].get<std::string>()), position);
    };
    std::stable_sort(cases.begin(), cases.end(),
                     [&](const json& x, const json& y) { return order(x) < order(y); });
    cluster_.CreateTopic(topic, 1);
    std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> messages;
    for (const auto& c : cases) {
      messages.emplace_back(c["key"].is_null() ? std::nullopt : std::optional(c["key"].dump()),
                            c["value"].is_null() ? std::nullopt : std::optional(c["value"].dump()));
      expected_changes += !c["expected"].is_null();
    }
    testing::ProduceRaw(cluster_.bootstraps(), topic, messages);
  }
  RecordingSink recorded;
  auto options = SourceOptions(cluster_, "debezium");
  options.topics = {"^PostgreSQL_server\\..*", "^dbserver1\\..*"};
  RunningSource source(options, recorded);
  ASSERT_TRUE(WaitFor([&] {
    return recorded.change_count() >= expected_changes && source.source().stats().skipped >= 1 &&
           source.source().stats().tombstones >= 1;
  }));
  ASSERT_TRUE(source.Stop().ok());
  EXPECT_EQ(source.source().stats().tombstones, 1u);
  EXPECT_EQ(source.source().stats().skipped, 1u);

  // Match each received change to its file's expectation (the snapshot row's position is its
  // Kafka offset).
  std::vector<json> expected;
  for (auto& [topic, cases] : by_topic) {
    for (const auto& c : cases) {
      if (c["expected"].is_null()) continue;
      json e = c["expected"];
      e.erase("snapshot");
      e.erase("end_lsn");
      expected.push_back(e);
    }
  }
  std::vector<json> got;
  for (const auto& c : recorded.changes()) got.push_back(testing::DescribeChange(c));
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& e : expected) {
    bool found = std::any_of(got.begin(), got.end(), [&](json g) {
      if (e["position"] == "offset") g["position"] = "offset";
      return g == e;
    });
    EXPECT_TRUE(found) << "not received: " << e.dump();
  }
}

}  // namespace
}  // namespace migsbyu::kafka
