#include "transport/kafka/kafka_sink.h"

#include "common/log.h"

namespace migsbyu::kafka {

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::chrono::milliseconds kPollSlice{50};

}  // namespace

KafkaSink::KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}

KafkaSink::~KafkaSink() {
  // Give queued messages a moment; anything unacknowledged is replayed by the connector.
  if (producer_) producer_->Flush(std::chrono::milliseconds(1000));
}

Result<std::unique_ptr<KafkaSink>> KafkaSink::Create(KafkaSinkOptions options) {
  if (options.brokers.empty()) return Error::InvalidArgument("kafka sink: brokers is empty");
  if (options.partitions < 1) {
    return Error::InvalidArgument("kafka sink: partitions must be ≥ 1, got " +
                                  std::to_string(options.partitions));
  }
  Config config = {
      {"bootstrap.servers", options.brokers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // never drop a message: retry until the broker is back
      {"linger.ms", "5"},
      {"compression.codec", "lz4"},
      {"client.id", "migsbyu-cdc"},
  };
  for (const auto& [k, v] : options.extra) config[k] = v;
  std::unique_ptr<KafkaSink> sink(new KafkaSink(std::move(options)));
  sink->config_ = std::move(config);
  MIGSBYU_TRY(sink->ReplaceIfFatal());
  return sink;
}

Status KafkaSink::ReplaceIfFatal() {
  if (producer_) {
    auto fatal = producer_->FatalError();
    if (!fatal) return OkStatus();
    MIGSBYU_LOG_WARN("kafka sink: producer failed fatally ({}); replacing it", *fatal);
    replacing_ = true;
    producer_.reset();
    replacing_ = false;
  }
  MIGSBYU_ASSIGN(Producer producer,
                 Producer::Create(config_, [this](void* opaque, rd_kafka_resp_err_t err) {
                   OnDelivery(opaque, err);
                 }));
  producer_.emplace(std::move(producer));
  return OkStatus();
}

void KafkaSink::OnDelivery(void* opaque, rd_kafka_resp_err_t error) {
  if (replacing_) return;
  auto it = pending_.find(reinterpret_cast<TxId>(opaque));
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR && !delivery_error_) {
    delivery_error_ =
        Error::Unavailable(std::string("kafka sink: delivery failed: ") + rd_kafka_err2str(error));
  }
  if (it == pending_.end()) return;  // a transaction abandoned after an earlier failure
  if (it->second.outstanding > 0) --it->second.outstanding;
}

void KafkaSink::AdvanceAcknowledged() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    if (!it->second.committed || it->second.outstanding > 0) break;
    acknowledged_ = std::max(acknowledged_, it->second.end_lsn);
    pending_.erase(it);
  }
}

Status KafkaSink::TakeDeliveryError() {
  if (!delivery_error_) return OkStatus();
  Error e = *delivery_error_;
  delivery_error_.reset();
  // The connector replays from its last confirmed LSN: forget what is in flight.
  pending_.clear();
  current_.reset();
  if (Status s = ReplaceIfFatal(); !s.ok()) return s.error().WithContext(e.message());
  return e;
}

Status KafkaSink::EnsureTopic(const std::string& topic, int partitions) {
  if (topics_ready_.contains(topic)) return OkStatus();
  if (options_.create_topics && !admin_unsupported_) {
    auto exists = producer_->TopicExists(topic, options_.flush_timeout);
    if (!exists.ok()) return exists.error();
    if (*exists) {
      topics_ready_.insert(topic);
      return OkStatus();
    }
    Status s = producer_->CreateTopics({topic}, partitions > 0 ? partitions : options_.partitions,
                                       options_.replication_factor, options_.flush_timeout);
    if (!s.ok()) {
      // Not fatal: a broker with auto-creation (or an operator) provides the topic.
      MIGSBYU_LOG_WARN("kafka sink: {}; relying on the broker to create topics",
                       s.error().message());
      admin_unsupported_ = true;
    }
  }
  topics_ready_.insert(topic);
  return OkStatus();
}

Status KafkaSink::Produce(const std::string& topic, const std::optional<std::string>& key,
                          const std::string* value) {
  auto deadline = std::chrono::steady_clock::now() + options_.flush_timeout;
  void* opaque = reinterpret_cast<void*>(*current_);
  while (true) {
    Status s = producer_->Produce(topic, key ? &*key : nullptr, value, opaque);
    if (s.ok()) break;
    if (s.error().code() != ErrorCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      if (producer_->FatalError()) {
        delivery_error_ = s.error();
        return TakeDeliveryError();  // replaces the producer for the replay
      }
      return s;
    }
    producer_->Poll(kPollSlice);  // backpressure: wait for the queue to drain
  }
  ++pending_[*current_].outstanding;
  producer_->Poll(std::chrono::milliseconds(0));
  return OkStatus();
}

Status KafkaSink::Begin(const events::TransactionInfo& tx) {
  MIGSBYU_TRY(TakeDeliveryError());
  current_ = next_tx_++;
  current_info_ = tx;
  pending_[*current_] = PendingTx{tx.end_lsn, 0, false};
  data_collection_order_.clear();
  data_collection_events_.clear();
  if (options_.transaction_metadata) {
    MIGSBYU_TRY(ProduceTransactionRecord(false));
  }
  return OkStatus();
}

Status KafkaSink::ProduceTransactionRecord(bool end) {
  const std::string topic = TransactionTopic(options_.envelope);
  MIGSBYU_TRY(EnsureTopic(topic, 1));
  std::optional<std::vector<DataCollectionCount>> counts;
  if (end) {
    counts.emplace();
    for (const auto& [collection, n] : data_collection_events_) counts->push_back({collection, n});
  }
  auto [key, value] =
      EncodeTransactionRecord(TransactionId(current_info_.xid, current_info_.commit_lsn), counts,
                              NowMicros(), options_.envelope);
  return Produce(topic, key, &value);
}

Status KafkaSink::Apply(const events::ChangeEvent& change) {
  MIGSBYU_TRY(TakeDeliveryError());
  if (!current_) {
    return Error::Internal("kafka sink: Apply outside a transaction (lsn " + change.lsn.ToString() +
                           ")");
  }
  const std::string topic = TopicName(options_.envelope, *change.table);
  MIGSBYU_TRY(EnsureTopic(topic));
  EnvelopeContext ctx;
  ctx.end_lsn = current_info_.end_lsn;
  ctx.last_commit_lsn = last_commit_lsn_;
  ctx.snapshot = current_info_.snapshot;
  ctx.data_collection_order = ++data_collection_order_[topic];
  ++data_collection_events_[change.table->schema + "." + change.table->name];
  ctx.processed_at_us = NowMicros();
  MIGSBYU_ASSIGN(auto key, EncodeKey(change, options_.envelope));
  MIGSBYU_ASSIGN(std::string value, EncodeValue(change, ctx, options_.envelope));
  MIGSBYU_TRY(Produce(topic, key, &value));
  if (change.op == events::Operation::kDelete && options_.envelope.tombstones_on_delete && key) {
    MIGSBYU_TRY(Produce(topic, key, nullptr));
  }
  return OkStatus();
}

Status KafkaSink::Commit(const events::TransactionInfo& tx) {
  MIGSBYU_TRY(TakeDeliveryError());
  if (!current_) {
    return Error::Internal("kafka sink: Commit without Begin (commit lsn " +
                           tx.commit_lsn.ToString() + ")");
  }
  if (options_.transaction_metadata) MIGSBYU_TRY(ProduceTransactionRecord(true));
  // The connector knows end_lsn only at the commit (Begin may carry zero).
  pending_[*current_].end_lsn = tx.end_lsn;
  pending_[*current_].committed = true;
  current_.reset();
  last_commit_lsn_ = tx.commit_lsn;
  AdvanceAcknowledged();
  return OkStatus();
}

Result<Lsn> KafkaSink::Flush() {
  auto deadline = std::chrono::steady_clock::now() + options_.flush_timeout;
  while (producer_->OutstandingMessages() > 0 && std::chrono::steady_clock::now() < deadline) {
    producer_->Flush(kPollSlice * 4);
  }
  producer_->Poll(std::chrono::milliseconds(0));
  MIGSBYU_TRY(TakeDeliveryError());
  AdvanceAcknowledged();
  if (int left = producer_->OutstandingMessages(); left > 0) {
    return Error::Unavailable(
        "kafka sink: " + std::to_string(left) + " messages not acknowledged within " +
        std::to_string(options_.flush_timeout.count()) + " ms (brokers " + options_.brokers +
        "); acknowledged up to " + acknowledged_.ToString());
  }
  return acknowledged_;
}

}  // namespace migsbyu::kafka
