#include "transport/kafka/client.h"

#include <utility>

#include "common/log.h"
#include "transport/kafka/handles.h"

namespace migsbyu::kafka {

namespace {

// Builds an rd_kafka_conf_t from `config`.
Result<ConfPtr> MakeConf(const Config& config) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [name, value] : config) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return Error::InvalidArgument("kafka property " + name + "=" + value + ": " + err);
    }
  }
  return conf;
}

// rd_kafka_new, which takes `conf` over only when it succeeds.
Result<rd_kafka_t*> NewHandle(rd_kafka_type_t type, ConfPtr conf, const char* what) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (!rk) return Error::InvalidArgument(std::string(what) + ": " + err);
  conf.release();  // the handle owns it now
  return rk;
}

std::string ErrName(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

// "t[0], t[1]": the partitions of a rebalance, for its error messages.
std::string PartitionNames(const rd_kafka_topic_partition_list_t* parts) {
  std::string names;
  for (int i = 0; i < parts->cnt; ++i) {
    if (i) names += ", ";
    names +=
        std::string(parts->elems[i].topic) + "[" + std::to_string(parts->elems[i].partition) + "]";
  }
  return names.empty() ? "no partitions" : names;
}

// Applies a rebalance's assignment (or revocation) the way the protocol wants it.
Status ApplyRebalance(rd_kafka_t* rk, bool cooperative, bool assigned,
                      rd_kafka_topic_partition_list_t* parts) {
  const char* what = assigned ? "assigning " : "revoking ";
  if (cooperative) {
    KafkaErrorPtr e(assigned ? rd_kafka_incremental_assign(rk, parts)
                             : rd_kafka_incremental_unassign(rk, parts));
    if (!e) return OkStatus();
    return Error::Unavailable("kafka: " + std::string(what) + PartitionNames(parts) + ": " +
                              rd_kafka_error_string(e.get()));
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, assigned ? parts : nullptr);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return OkStatus();
  return Error::Unavailable("kafka: " + std::string(what) + PartitionNames(parts) + ": " +
                            ErrName(err));
}

}  // namespace

// ---------------------------------------------------------------------------------- Producer

Producer::Producer(rd_kafka_t* rk, std::unique_ptr<DeliveryCallback> cb)
    : rk_(rk), on_delivery_(std::move(cb)) {}

Producer::Producer(Producer&& o) noexcept
    : rk_(std::exchange(o.rk_, nullptr)), on_delivery_(std::move(o.on_delivery_)) {}

Producer& Producer::operator=(Producer&& o) noexcept {
  if (this != &o) {
    if (rk_) rd_kafka_destroy(rk_);
    rk_ = std::exchange(o.rk_, nullptr);
    on_delivery_ = std::move(o.on_delivery_);
  }
  return *this;
}

Producer::~Producer() {
  if (rk_) rd_kafka_destroy(rk_);
}

Result<Producer> Producer::Create(const Config& config, DeliveryCallback on_delivery) {
  MIGSBYU_ASSIGN(ConfPtr conf, MakeConf(config));
  auto cb = std::make_unique<DeliveryCallback>(std::move(on_delivery));
  rd_kafka_conf_set_opaque(conf.get(), cb.get());
  rd_kafka_conf_set_dr_msg_cb(conf.get(),
                              [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
                                auto* callback = static_cast<DeliveryCallback*>(opaque);
                                if (*callback) (*callback)(m->_private, m->err);
                              });
  MIGSBYU_ASSIGN(rd_kafka_t * rk, NewHandle(RD_KAFKA_PRODUCER, std::move(conf), "kafka producer"));
  return Producer(rk, std::move(cb));
}

Status Producer::Produce(const std::string& topic, const std::string* key, const std::string* value,
                         void* opaque, int32_t partition) {
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(key ? key->data() : nullptr, key ? key->size() : 0),
                        RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr,
                                         value ? value->size() : 0),
                        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return OkStatus();
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    return Error::Unavailable("kafka: local queue full producing to " + topic);
  }
  return Error::Internal("kafka: produce to " + topic + ": " + ErrName(err));
}

void Producer::Poll(std::chrono::milliseconds timeout) {
  rd_kafka_poll(rk_, static_cast<int>(timeout.count()));
}

int Producer::Flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  // rd_kafka_flush may return before the last delivery reports were served.
  rd_kafka_poll(rk_, 0);
  return rd_kafka_outq_len(rk_);
}

int Producer::OutstandingMessages() const { return rd_kafka_outq_len(rk_); }

std::optional<std::string> Producer::FatalError() const {
  char err[512];
  if (rd_kafka_fatal_error(rk_, err, sizeof err) == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string(err);
}

Result<bool> Producer::TopicExists(const std::string& topic, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk_, 1, nullptr, &md, static_cast<int>(timeout.count()));
  MetadataPtr owned(md);
  if (err) return Error::Unavailable("kafka: metadata for topic " + topic + ": " + ErrName(err));
  bool found = false;
  for (int i = 0; i < md->topic_cnt && !found; ++i) {
    found = topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  return found;
}

Status Producer::CreateTopics(const std::vector<std::string>& topics, int partitions,
                              int replication_factor, std::chrono::milliseconds timeout) {
  if (topics.empty()) return OkStatus();
  char err[512];
  std::vector<NewTopicPtr> owned_topics;
  std::vector<rd_kafka_NewTopic_t*> new_topics;  // owned_topics' pointers, for the call
  for (const auto& t : topics) {
    owned_topics.emplace_back(
        rd_kafka_NewTopic_new(t.c_str(), partitions, replication_factor, err, sizeof err));
    if (!owned_topics.back()) return Error::InvalidArgument("kafka topic " + t + ": " + err);
    new_topics.push_back(owned_topics.back().get());
  }
  QueuePtr queue(rd_kafka_queue_new(rk_));
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                              sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  rd_kafka_CreateTopics(rk_, new_topics.data(), new_topics.size(), options.get(), queue.get());
  EventPtr ev(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  if (!ev) return Error::Unavailable("kafka: creating topic " + topics.front() + ": no answer");
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error::Unavailable("kafka: creating topic " + topics.front() + ": " +
                              rd_kafka_event_error_string(ev.get()));
  }
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev.get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    return Error::Unavailable(std::string("kafka: creating topic ") +
                              rd_kafka_topic_result_name(results[i]) + ": " +
                              (msg ? msg : ErrName(e).c_str()));
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------- Consumer

Consumer::Consumer(rd_kafka_t* rk, std::unique_ptr<Rebalance> rebalance)
    : rk_(rk), rebalance_(std::move(rebalance)) {}

Consumer::Consumer(Consumer&& o) noexcept
    : rk_(std::exchange(o.rk_, nullptr)), rebalance_(std::move(o.rebalance_)) {}

Consumer& Consumer::operator=(Consumer&& o) noexcept {
  if (this != &o) {
    Close();
    rk_ = std::exchange(o.rk_, nullptr);
    rebalance_ = std::move(o.rebalance_);
  }
  return *this;
}

Consumer::~Consumer() { Close(); }

void Consumer::Close() {
  if (!rk_) return;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  // A rebalance served inside rd_kafka_consumer_close has no Poll left to report its failure.
  if (rebalance_ && rebalance_->error) {
    MIGSBYU_LOG_ERROR("{} (while closing the consumer)", rebalance_->error->ToString());
    rebalance_->error.reset();
  }
}

Result<Consumer> Consumer::Create(const Config& config, RebalanceCallback on_rebalance) {
  if (!config.contains("group.id")) {
    return Error::InvalidArgument("kafka consumer: group.id is required");
  }
  MIGSBYU_ASSIGN(ConfPtr conf, MakeConf(config));
  auto rebalance = std::make_unique<Rebalance>();
  rebalance->callback = std::move(on_rebalance);
  // The protocol follows from the strategy (librdkafka refuses to mix eager and cooperative
  // assignors), so it is settled here rather than asked of rd_kafka_rebalance_protocol() in the
  // callback: that is a request to the group's thread, which fails (NULL) once the group has
  // terminated, and a revocation that rd_kafka_consumer_close() serves can come after that.
  char strategies[256];
  size_t size = sizeof strategies;
  if (rd_kafka_conf_get(conf.get(), "partition.assignment.strategy", strategies, &size) ==
      RD_KAFKA_CONF_OK) {
    rebalance->cooperative =
        std::string_view(strategies).find("cooperative") != std::string_view::npos;
  }
  rd_kafka_conf_set_opaque(conf.get(), rebalance.get());
  rd_kafka_conf_set_rebalance_cb(
      conf.get(), [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t* parts, void* opaque) {
        auto* rebalance = static_cast<Rebalance*>(opaque);
        std::vector<std::pair<std::string, int32_t>> list;
        for (int i = 0; i < parts->cnt; ++i) {
          list.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
        }
        const bool assigned = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        if (rebalance->callback) rebalance->callback(assigned, list);
        Status applied = ApplyRebalance(rk, rebalance->cooperative, assigned, parts);
        if (!applied.ok() && !rebalance->error) rebalance->error = std::move(applied).error();
      });
  MIGSBYU_ASSIGN(rd_kafka_t * rk, NewHandle(RD_KAFKA_CONSUMER, std::move(conf), "kafka consumer"));
  rd_kafka_poll_set_consumer(rk);
  return Consumer(rk, std::move(rebalance));
}

Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list.get());
  if (err) {
    return Error::InvalidArgument("kafka: subscribe to " + (topics.empty() ? "" : topics[0]) +
                                  ": " + ErrName(err));
  }
  return OkStatus();
}

Result<std::optional<Message>> Consumer::Poll(std::chrono::milliseconds timeout) {
  MessagePtr owned(rd_kafka_consumer_poll(rk_, static_cast<int>(timeout.count())));
  if (rebalance_->error) {
    // A rebalance served inside this poll could not be applied: the group believes this
    // consumer owns partitions it does not read (or the reverse), which only a new consumer
    // (rejoining the group) undoes.
    Error error = std::move(*rebalance_->error);
    rebalance_->error.reset();
    return error;
  }
  rd_kafka_message_t* m = owned.get();
  if (!m) return std::optional<Message>();
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::optional<Message>();
  if (m->err) {
    std::string where = m->rkt ? std::string(rd_kafka_topic_name(m->rkt)) : "consumer";
    auto text = rd_kafka_message_errstr(m);
    // Transient broker trouble is reported here too; librdkafka recovers by itself.
    if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return std::optional<Message>();
    }
    return Error::Unavailable("kafka: consuming " + where + ": " + text);
  }
  Message msg;
  msg.topic = rd_kafka_topic_name(m->rkt);
  msg.partition = m->partition;
  msg.offset = m->offset;
  if (m->key) {
    msg.key_null = false;
    msg.key.assign(static_cast<const char*>(m->key), m->key_len);
  }
  if (m->payload) {
    msg.value_null = false;
    msg.value.assign(static_cast<const char*>(m->payload), m->len);
  }
  return std::optional<Message>(std::move(msg));
}

size_t Consumer::QueuedEvents() const {
  QueuePtr queue(rd_kafka_queue_get_consumer(rk_));
  return queue ? rd_kafka_queue_length(queue.get()) : 0;
}

Result<std::pair<int64_t, int64_t>> Consumer::QueryWatermarks(const std::string& topic,
                                                              int32_t partition,
                                                              std::chrono::milliseconds timeout) {
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk_, topic.c_str(), partition, &low, &high, static_cast<int>(timeout.count()));
  if (err) {
    return Error::Unavailable("kafka: watermarks of " + topic + "[" + std::to_string(partition) +
                              "]: " + ErrName(err));
  }
  return std::make_pair(low, high);
}

std::optional<int64_t> Consumer::CachedHighWatermark(const std::string& topic, int32_t partition) {
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(rk_, topic.c_str(), partition, &low, &high) || high < 0) {
    return std::nullopt;
  }
  return high;
}

Result<int64_t> Consumer::CommittedOffset(const std::string& topic, int32_t partition,
                                          std::chrono::milliseconds timeout) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list.get(), static_cast<int>(timeout.count()));
  int64_t offset = list->elems[0].offset;
  if (!err) err = list->elems[0].err;
  if (err) {
    return Error::Unavailable("kafka: committed offset of " + topic + "[" +
                              std::to_string(partition) + "]: " + ErrName(err));
  }
  return offset < 0 ? int64_t{-1} : offset;
}

Status Consumer::CommitOffsets(const std::map<std::pair<std::string, int32_t>, int64_t>& offsets) {
  if (offsets.empty()) return OkStatus();
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list.get(), 0);
  if (err) {
    return Error::Unavailable("kafka: committing offsets of " + offsets.begin()->first.first +
                              ": " + ErrName(err));
  }
  return OkStatus();
}

}  // namespace migsbyu::kafka
