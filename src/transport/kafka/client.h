// kafka::Producer and kafka::Consumer: the only owners of librdkafka handles (rd_kafka_t).
//
// Both are thin RAII wrappers: move-only, the handle closed (consumer) and destroyed in the
// destructor. Configuration is a list of librdkafka properties (names as in librdkafka's
// CONFIGURATION.md); an unknown property or a bad value is an InvalidArgument error naming it.
// Callbacks (delivery reports, rebalances) are registered before the handle is created and run
// on the thread that calls Poll()/Flush() (producer) or Poll() (consumer): librdkafka serves
// them from its queue inside those calls, never from its internal threads.
//
// Threading: a Producer may be used from one thread at a time (REQUIRES: external
// synchronization) although librdkafka itself is thread-safe; the same holds for a Consumer.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migsbyu::kafka {

// librdkafka properties, e.g. {{"bootstrap.servers", "127.0.0.1:9092"}}.
using Config = std::map<std::string, std::string>;

// A message as a consumer sees it (copied out of librdkafka's buffers).
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  bool key_null = true;
  std::string value;
  bool value_null = true;  // a tombstone
};

// Called once per produced message with its outcome; `opaque` is what Produce() received.
using DeliveryCallback = std::function<void(void* opaque, rd_kafka_resp_err_t error)>;

class Producer {
 public:
  // Creates a producer. `on_delivery` runs inside Poll()/Flush() on the caller's thread.
  static Result<Producer> Create(const Config& config, DeliveryCallback on_delivery);

  Producer(Producer&&) noexcept;
  Producer& operator=(Producer&&) noexcept;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
  ~Producer();

  // Enqueues one message (key/value may be null: a null value is a tombstone) to `partition`,
  // or, by default, to the partition librdkafka's partitioner picks: the same for the same key
  // (consistent_random: a hash of the key; a null key goes to any). Returns Unavailable when
  // librdkafka's local queue is full: call Poll() and retry.
  Status Produce(const std::string& topic, const std::string* key, const std::string* value,
                 void* opaque, int32_t partition = RD_KAFKA_PARTITION_UA);

  // Serves delivery reports for up to `timeout`.
  void Poll(std::chrono::milliseconds timeout);

  // Waits up to `timeout` for every enqueued message to be acknowledged or failed.
  // Returns the number of messages still outstanding (0: all delivery reports served).
  int Flush(std::chrono::milliseconds timeout);

  // Messages enqueued and not yet reported.
  int OutstandingMessages() const;

  // The fatal error that made this producer unusable (e.g. the idempotent producer after a
  // permanent delivery failure), if any. A fatal producer must be replaced.
  std::optional<std::string> FatalError() const;

  // Whether `topic` exists on the cluster (a metadata request for all topics, which never
  // auto-creates one). Unavailable when the cluster does not answer within `timeout`.
  Result<bool> TopicExists(const std::string& topic, std::chrono::milliseconds timeout);

  // Creates the topics that do not exist (Admin API). Existing topics are not an error.
  // Returns Unavailable/Internal errors naming the topic otherwise.
  Status CreateTopics(const std::vector<std::string>& topics, int partitions,
                      int replication_factor, std::chrono::milliseconds timeout);

  // For tests (the mock cluster is created on a producer handle) — see rdkafka_mock.h.
  rd_kafka_t* handle() const { return rk_; }

 private:
  Producer(rd_kafka_t* rk, std::unique_ptr<DeliveryCallback> cb);
  rd_kafka_t* rk_ = nullptr;
  std::unique_ptr<DeliveryCallback> on_delivery_;  // stable address for librdkafka's opaque
};

// Rebalance notification: assigned (true) or revoked (false) partitions. The consumer applies
// the assignment itself after the callback returns, incrementally when the configured
// partition.assignment.strategy is cooperative ("cooperative-sticky"), whole otherwise. When
// librdkafka refuses to apply it, the Poll that served the rebalance returns that error
// (kUnavailable naming the partitions); one served while the consumer closes is logged.
using RebalanceCallback =
    std::function<void(bool assigned, const std::vector<std::pair<std::string, int32_t>>&)>;

class Consumer {
 public:
  // Creates a group consumer ("group.id" required in `config`).
  static Result<Consumer> Create(const Config& config, RebalanceCallback on_rebalance);

  Consumer(Consumer&&) noexcept;
  Consumer& operator=(Consumer&&) noexcept;
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  // Leaves the group (rd_kafka_consumer_close) and destroys the handle.
  ~Consumer();

  // Subscribes to topic names; a name starting with '^' is a regular expression.
  Status Subscribe(const std::vector<std::string>& topics);

  // Returns the next message, or nullopt when none arrived within `timeout`. Rebalance
  // callbacks run inside this call. Errors other than end-of-partition are returned, and so is
  // a rebalance that could not be applied: replace the consumer after such an error. The message
  // polled with it, if any, is not returned (with enable.auto.commit=false, as KafkaSource runs
  // its consumer, the group delivers it again).
  Result<std::optional<Message>> Poll(std::chrono::milliseconds timeout);

  // The partition's low and high watermark offsets, asked of its leader (a round trip).
  Result<std::pair<int64_t, int64_t>> QueryWatermarks(const std::string& topic, int32_t partition,
                                                      std::chrono::milliseconds timeout);

  // The high watermark the last fetch response reported (no round trip), if any yet.
  std::optional<int64_t> CachedHighWatermark(const std::string& topic, int32_t partition);

  // The group's committed offset of a partition (-1 when none), asked of the coordinator.
  Result<int64_t> CommittedOffset(const std::string& topic, int32_t partition,
                                  std::chrono::milliseconds timeout);

  // Commits, synchronously, `offset` (the next offset to read) for each partition.
  Status CommitOffsets(const std::map<std::pair<std::string, int32_t>, int64_t>& offsets);

  // What the next Poll has to serve (messages, rebalances, errors), without serving it: e.g. a
  // rebalance that has reached this consumer while it did not poll.
  size_t QueuedEvents() const;

 private:
  // What librdkafka's rebalance callback needs (its opaque, at a stable address).
  struct Rebalance {
    RebalanceCallback callback;
    bool cooperative = false;    // fixed by the configured strategy
    std::optional<Error> error;  // an assignment librdkafka refused, for Poll to return
  };
  Consumer(rd_kafka_t* rk, std::unique_ptr<Rebalance> rebalance);
  void Close();
  rd_kafka_t* rk_ = nullptr;
  std::unique_ptr<Rebalance> rebalance_;
};

}  // namespace migsbyu::kafka
