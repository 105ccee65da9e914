// KafkaSink: a transport::Sink that publishes every change to Kafka in Debezium's envelope
// (envelope.h), one topic per table (<prefix>.<schema>.<table>), keyed by the primary key.
//
// Delivery: an idempotent producer (enable.idempotence=true, acks=all) whose messages never
// expire (message.timeout.ms=0): while a broker is down librdkafka keeps them and retries, in
// order. Flush() waits for the delivery reports of everything produced and returns the end_lsn
// of the last transaction whose every message Kafka acknowledged; only that LSN is confirmed to
// PostgreSQL. If the reports do not all arrive within flush_timeout (a broker outage), Flush
// returns Unavailable and the acknowledged LSN does not move; a later Flush picks up where
// delivery resumed. A failed delivery (a permanent error) is returned by the next call: the
// connector then replays from its last confirmed LSN; the duplicates this can put in Kafka carry
// the same (commit_lsn, position) identity and are dropped by KafkaSource.
//
// Transaction metadata (transaction_metadata): Debezium's BEGIN and END records on
// <prefix>.transaction, produced with the transaction's messages, so they are acknowledged and
// replayed with them.
//
// Topics are created on first use through the Admin API with `partitions` partitions (default 1:
// one table's changes in total order); if the cluster refuses (e.g. the Admin API is
// unsupported) the sink logs it once and relies on the broker's auto-creation.
//
// Threading: all calls from the connector's one thread (REQUIRES: external synchronization);
// delivery reports are served inside Apply/Commit/Flush on that same thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "transport/kafka/client.h"
#include "transport/kafka/envelope.h"
#include "transport/sink.h"

namespace migsbyu::kafka {

struct KafkaSinkOptions {
  std::string brokers;  // bootstrap.servers
  EnvelopeOptions envelope;
  int partitions = 1;          // for topics the sink creates
  int replication_factor = 1;  // likewise (-1: the broker's default)
  bool create_topics = true;
  // Debezium's provide.transaction.metadata: a BEGIN record on <prefix>.transaction before each
  // transaction's changes and an END record with its per-table event counts after them
  // (EncodeTransactionRecord). The topic has one partition, so records keep commit order.
  bool transaction_metadata = false;
  std::chrono::milliseconds flush_timeout{30000};
  Config extra;  // further librdkafka properties; they override the defaults above
};

class KafkaSink : public transport::Sink {
 public:
  // Connects the producer (connection itself is lazy in librdkafka: an unreachable broker is
  // reported by Flush, not here). Errors: an invalid librdkafka property.
  static Result<std::unique_ptr<KafkaSink>> Create(KafkaSinkOptions options);

  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;
  ~KafkaSink() override;

  Status Begin(const events::TransactionInfo& tx) override;
  Status Apply(const events::ChangeEvent& change) override;
  Status Commit(const events::TransactionInfo& tx) override;
  Result<Lsn> Flush() override;

  // The end_lsn of the last transaction fully acknowledged by Kafka (zero before any).
  Lsn AcknowledgedLsn() const { return acknowledged_; }

 private:
  // One transaction's delivery bookkeeping; lives until all its messages are acknowledged.
  struct PendingTx {
    Lsn end_lsn;
    uint64_t outstanding = 0;
    bool committed = false;
  };
  using TxId = uint64_t;  // sequence number of a transaction in this sink; the message opaque

  explicit KafkaSink(KafkaSinkOptions options);
  void OnDelivery(void* opaque, rd_kafka_resp_err_t error);
  // Creates `topic` when absent, with `partitions` (0: options_.partitions).
  Status EnsureTopic(const std::string& topic, int partitions = 0);
  // The BEGIN (or, `end`, the END) record of the current transaction.
  Status ProduceTransactionRecord(bool end);
  Status Produce(const std::string& topic, const std::optional<std::string>& key,
                 const std::string* value);
  Status TakeDeliveryError();
  // Replaces a producer that librdkafka declared fatally failed; its queue is abandoned (the
  // connector replays it).
  Status ReplaceIfFatal();
  void AdvanceAcknowledged();

  KafkaSinkOptions options_;
  Config config_;
  std::optional<Producer> producer_;
  bool replacing_ = false;  // delivery reports of an abandoned producer are ignored
  std::set<std::string> topics_ready_;
  bool admin_unsupported_ = false;

  std::map<TxId, PendingTx> pending_;  // oldest first
  TxId next_tx_ = 1;
  std::optional<TxId> current_;
  events::TransactionInfo current_info_;
  std::map<std::string, uint64_t> data_collection_order_;   // per table, current transaction
  std::map<std::string, uint64_t> data_collection_events_;  // per "<schema>.<table>", likewise
  std::optional<Lsn> last_commit_lsn_;
  Lsn acknowledged_;
  std::optional<Error> delivery_error_;
};

}  // namespace migsbyu::kafka
