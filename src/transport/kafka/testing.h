// Test support for the Kafka transport (linked only into tests): ChangeEvents from JSON
// descriptions, a description of decoded events for comparison with expected JSON, an
// in-memory recording Sink, and an RAII mock Kafka cluster (librdkafka's rdkafka_mock.h) that
// real clients reach over loopback TCP.
//
// Threading: RecordingSink is called from one thread at a time (the Sink contract) but may be
// read from another through its mutex-guarded accessors; MockCluster is thread-safe as
// librdkafka's mock API is.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "transport/kafka/client.h"
#include "transport/kafka/envelope.h"
#include "transport/kafka/handles.h"
#include "transport/kafka/kafka_sink.h"
#include "transport/kafka/kafka_source.h"
#include "transport/sink.h"

namespace migsbyu::kafka::testing {

using json = nlohmann::ordered_json;

json ReadJson(const std::filesystem::path& path);

// {"schema", "table", "columns": [{"name", "type": "int32"|..., "oid", "typmod", "key"}]}.
std::shared_ptr<const events::TableSchema> TableFromJson(const json& j);

// {"op", "xid", "commit_lsn": "0/16B3748", "lsn", "position", "commit_time_us",
//  "changed_by" (default null), "origin" (default "database"), "before"/"after": [values] or null};
//  values typed by column: integers for ints, dates (days)
// and timestamps (µs), strings for text and numeric, "__toast__" for an unchanged TOAST value.
events::ChangeEvent EventFromJson(const json& j, std::shared_ptr<const events::TableSchema> table);

// {"end_lsn", "last_commit_lsn", "snapshot", "data_collection_order", "processed_at_us"}.
EnvelopeContext ContextFromJson(const json& j);

// A decoded change as comparable JSON: op, table, identity, actor, columns and text-form values.
json DescribeDecoded(const DecodedChange& d);
// The same for a change as a sink received it.
json DescribeChange(const events::ChangeEvent& c);

// Records every call; Flush returns the end_lsn of the last committed transaction.
class RecordingSink : public transport::Sink {
 public:
  Status Begin(const events::TransactionInfo& tx) override;
  Status Apply(const events::ChangeEvent& change) override;
  Status Commit(const events::TransactionInfo& tx) override;
  Result<Lsn> Flush() override;

  std::vector<events::ChangeEvent> changes() const;
  std::vector<events::TransactionInfo> commits() const;
  size_t flushes() const;
  size_t change_count() const;

 private:
  mutable std::mutex mu_;
  bool in_tx_ = false;
  std::vector<events::ChangeEvent> changes_;
  std::vector<events::TransactionInfo> commits_;
  size_t flushes_ = 0;
  Lsn last_;
};

// A mock cluster of `brokers` brokers on loopback; topics created with CreateTopic.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 3);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstraps() const { return bootstraps_; }
  void CreateTopic(const std::string& topic, int partitions);
  void SetAllBrokersDown();
  void SetAllBrokersUp();
  // The next `count` Produce requests fail with `error`.
  void FailNextProduceRequests(size_t count, rd_kafka_resp_err_t error);

  // A producer's options for this cluster: its bootstraps, and only librdkafka's warnings and
  // errors logged.
  KafkaSinkOptions SinkOptions() const;
  // A consumer's options for this cluster in consumer group `group`: flushes every 100 ms, and
  // the mock coordinator's timings shortened (it holds a rejoin for up to the session timeout,
  // 45 s by default). MIGSBYU_KAFKA_DEBUG (e.g. "cgrp") turns on librdkafka's debug log.
  KafkaSourceOptions SourceOptions(const std::string& group) const;

 private:
  KafkaHandlePtr rk_;  // the handle the mock cluster lives on; destroyed after it
  KafkaPtr<rd_kafka_mock_cluster_t, rd_kafka_mock_cluster_destroy> cluster_;
  std::string bootstraps_;
};

// Produces raw key/value strings (null when nullptr) to `partition` (by default the one the
// key's hash picks) and waits for their acknowledgement.
void ProduceRaw(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>>& messages,
    int32_t partition = RD_KAFKA_PARTITION_UA);

}  // namespace migsbyu::kafka::testing
