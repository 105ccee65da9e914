// Dead letters: what capture could not decode or store, kept aside so that capture goes on
// (docs/CDC.md "Poison events"). A source that meets a poison message — a Kafka message the
// envelope decoder refuses, a change the sink cannot store — hands it to a DeadLetterSink with
// its raw bytes, the reason and where it came from, and moves past it; with no DeadLetterSink
// (`--on-error=stop`) the source stops with the error as before.
//
// The lake keeps its dead letters in a dataset of its own (lake/dead_letters.h). This interface
// is what the sources (cdc::Connector, kafka::KafkaSource) know of it.
//
// Threading: a DeadLetterSink is called from the source's one thread (REQUIRES: external
// synchronization, as for transport::Sink); its count() may be read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/lsn.h"
#include "common/result.h"

namespace migsbyu::transport {

struct DeadLetter {
  int64_t time_us = 0;  // when it was set aside (the capturing process's clock)
  std::string source;   // "kafka" or "postgres"
  std::string reason;   // the error, as the decoder or sink said it
  // Kafka: where the message was.
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  // PostgreSQL: the change's WAL position and its transaction's commit LSN.
  std::optional<Lsn> lsn;
  std::optional<Lsn> commit_lsn;
  uint64_t position = 0;
  std::string table;  // as the message or change named it (unvalidated text), when known
  std::optional<std::string> key;    // raw bytes (a Kafka key), when any
  std::optional<std::string> value;  // raw bytes (a Kafka value) or the change as JSON text
};

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Keeps `letter` durably before returning (the source then moves past it, and may commit that
  // it did). The same letter given twice (a redelivery) is kept once. An error means it was not
  // kept: the source stops rather than lose it.
  virtual Status Quarantine(const DeadLetter& letter) = 0;
  // Letters kept so far (including those found when it was opened). Thread-safe.
  virtual uint64_t count() const = 0;
};

}  // namespace migsbyu::transport
