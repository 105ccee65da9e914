// Scoped owners for librdkafka's temporaries: configurations, partition lists, messages, errors,
// queues, events, metadata and the admin API's objects. Each is held by one of these from the
// moment librdkafka returns it, so that no early return leaks it. (The client handle itself,
// rd_kafka_t, is owned by kafka::Producer and kafka::Consumer; see client.h.)
//
// REQUIRES: used inside src/transport/kafka only.
// Threading: plain move-only values (std::unique_ptr).
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

namespace migsbyu::kafka {

// Calls `destroy` on the pointer it holds.
template <auto destroy>
struct KafkaDestroyer {
  template <typename T>
  void operator()(T* p) const noexcept {
    destroy(p);
  }
};

template <typename T, auto destroy>
using KafkaPtr = std::unique_ptr<T, KafkaDestroyer<destroy>>;

using ConfPtr = KafkaPtr<rd_kafka_conf_t, rd_kafka_conf_destroy>;
using PartitionListPtr =
    KafkaPtr<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>;
using MessagePtr = KafkaPtr<rd_kafka_message_t, rd_kafka_message_destroy>;
using KafkaErrorPtr = KafkaPtr<rd_kafka_error_t, rd_kafka_error_destroy>;
using QueuePtr = KafkaPtr<rd_kafka_queue_t, rd_kafka_queue_destroy>;
using EventPtr = KafkaPtr<rd_kafka_event_t, rd_kafka_event_destroy>;
using MetadataPtr = KafkaPtr<const rd_kafka_metadata_t, rd_kafka_metadata_destroy>;
using AdminOptionsPtr = KafkaPtr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>;
using NewTopicPtr = KafkaPtr<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>;
using KafkaHandlePtr = KafkaPtr<rd_kafka_t, rd_kafka_destroy>;

}  // namespace migsbyu::kafka
