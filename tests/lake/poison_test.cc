// Poison messages (docs/CDC.md "Poison events"): the hostile corpus in testdata/
// poison_messages.jsonl is produced to librdkafka's mock cluster between good changes; the
// KafkaSource feeding a LakeSink sets every hostile message aside in the lake's dead letters
// (raw bytes, reason, topic/partition/offset), stays up, stores the good changes before and
// after them, and writes nothing outside the lake. Without a dead-letter store (--on-error=stop)
// the first hostile message stops it, as before.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "lake/dead_letters.h"
#include "lake/lake_sink.h"
#include "lake/testing.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/kafka/testing.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;
using json = nlohmann::json;

constexpr char kTopic[] = "migsbyu.public.students";

struct PoisonCase {
  std::string name;
  std::optional<std::string> key, value;
  std::string expect;
};

std::vector<PoisonCase> Corpus() {
  std::ifstream in(std::string(MIGSBYU_LAKE_TESTDATA) + "/poison_messages.jsonl");
  EXPECT_TRUE(in) << "poison_messages.jsonl not found";
  std::vector<PoisonCase> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    json j = json::parse(line);
    PoisonCase c{j["name"], std::nullopt, std::nullopt, j["expect"]};
    if (!j["key"].is_null()) c.key = j["key"].get<std::string>();
    if (!j["value"].is_null()) c.value = j["value"].get<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

class PoisonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.CreateTopic(kTopic, 1);
    root_ = (fs::temp_directory_path() / ("lake_poison_" + std::to_string(getpid()))).string();
    fs::remove_all(root_);
    // The lake sits two levels down, so that "../../x" would still land inside root_.
    dir_ = root_ + "/a/lake";
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Produces student `id` created at commit LSN `lsn` with our own envelope.
  void ProduceGood(const std::string& id, uint64_t lsn) {
    kafka::KafkaSinkOptions o = cluster_.SinkOptions();
    o.create_topics = false;
    auto producer = kafka::KafkaSink::Create(o);
    ASSERT_TRUE(producer.ok()) << producer.error().ToString();
    events::TransactionInfo tx;
    tx.xid = static_cast<uint32_t>(lsn);
    tx.commit_lsn = Lsn(lsn);
    tx.end_lsn = Lsn(lsn + 8);
    tx.commit_time_us = 1700000000000000 + static_cast<int64_t>(lsn);
    events::Row row = {Value::Text(id),         Value::Text("Ada"),      Value::Text("L"),
                       Value::Text("Female"),   Value::Text("Street 1"), Value::Integer(12000),
                       Value::Text("Physics"),  Value::Integer(2),       Value::Text("3.50"),
                       Value::Text("Full-time")};
    ASSERT_TRUE((*producer)->Begin(tx).ok());
    ASSERT_TRUE((*producer)
                    ->Apply(testing::ChangeIn(tx, 0, testing::ContractSchema("students"),
                                              events::Operation::kInsert, std::nullopt, row))
                    .ok());
    ASSERT_TRUE((*producer)->Commit(tx).ok());
    auto flushed = (*producer)->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
  }

  void ProduceCorpus(const std::vector<PoisonCase>& corpus) {
    std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> messages;
    for (const auto& c : corpus) messages.emplace_back(c.key, c.value);
    kafka::testing::ProduceRaw(cluster_.bootstraps(), kTopic, messages);
  }

  kafka::KafkaSourceOptions SourceOptions() {
    kafka::KafkaSourceOptions o = cluster_.SourceOptions("poison-" + std::to_string(getpid()));
    o.topics = {kTopic};
    o.flush_interval = std::chrono::milliseconds(50);
    return o;
  }

  kafka::testing::MockCluster cluster_{1};
  std::string root_, dir_;
};

TEST_F(PoisonTest, HostileMessagesGoToTheDeadLettersAndConsumingGoesOn) {
  const auto corpus = Corpus();
  ASSERT_GE(corpus.size(), 20u);
  ProduceGood("S1", 500);  // offset 0
  ProduceCorpus(corpus);   // offsets 1 .. n
  ProduceGood("S2", 5000);

  auto store = DeadLetterStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  LakeSinkOptions sink_options;
  sink_options.writer.dir = dir_;
  auto sink = LakeSink::Open(sink_options, nullptr);
  ASSERT_TRUE(sink.ok()) << sink.error().ToString();
  auto options = SourceOptions();
  options.dead_letters = store->get();
  kafka::KafkaSource source(options);
  std::stop_source stop;
  std::thread run([&] {
    Status st = source.Run(stop.get_token(), **sink);
    EXPECT_TRUE(st.ok()) << st.error().ToString();
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while ((source.stats().dead_letters < corpus.size() || source.stats().changes < 2) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop.request_stop();
  run.join();
  sink->reset();

  EXPECT_EQ(source.stats().dead_letters, corpus.size());
  EXPECT_EQ(source.stats().changes, 2u);
  EXPECT_EQ((*store)->count(), corpus.size());
  // Both good students are in the lake, nothing of the hostile ones.
  EXPECT_EQ(testing::QueryLines(dir_, "SELECT id, gpa FROM students_dim ORDER BY id"),
            (std::vector<std::string>{"S1|3.50", "S2|3.50"}));
  auto letters = ListDeadLetters(dir_);
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto& d = (*letters)[i];
    SCOPED_TRACE(corpus[i].name);
    EXPECT_EQ(d.source, "kafka");
    EXPECT_EQ(d.topic, kTopic);
    EXPECT_EQ(d.partition, 0);
    EXPECT_EQ(d.offset, static_cast<int64_t>(i + 1));
    EXPECT_NE(d.reason.find(corpus[i].expect), std::string::npos) << d.reason;
    EXPECT_EQ(d.key, corpus[i].key);
    EXPECT_EQ(d.value, corpus[i].value);  // the raw bytes, whole
    EXPECT_GT(d.time_us, 0);
  }
  // Nothing was written outside the lake: root_ holds the lake's folder and nothing else.
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    const std::string path = e.path().string();
    EXPECT_TRUE(path == root_ + "/a" || path.starts_with(dir_)) << path;
  }
  // A second consumer of the same store (a restart) keeps each letter once.
  auto reopened = DeadLetterStore::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->count(), corpus.size());
  EXPECT_TRUE((*reopened)->Quarantine((*letters)[0]).ok());
  EXPECT_EQ((*reopened)->count(), corpus.size());
}

TEST_F(PoisonTest, WithoutDeadLettersTheFirstHostileMessageStopsTheConsumer) {
  const auto corpus = Corpus();
  ProduceGood("S1", 500);
  ProduceCorpus({corpus.front()});
  LakeSinkOptions sink_options;
  sink_options.writer.dir = dir_;
  auto sink = LakeSink::Open(sink_options, nullptr);
  ASSERT_TRUE(sink.ok()) << sink.error().ToString();
  kafka::KafkaSource source(SourceOptions());
  std::stop_source stop;
  Status st = source.Run(stop.get_token(), **sink);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(st.error().message().find(std::string(kTopic) + "[0]@1"), std::string::npos)
      << st.error().message();
  EXPECT_FALSE(fs::exists(fs::path(dir_) / kDeadLetterDir));
}

}  // namespace
}  // namespace migsbyu::lake
