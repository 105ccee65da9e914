// TableOwnership: a consumer group's partitions are the lake's tables. A member writes a table
// only while it holds the table's partition (topic <prefix>.<schema>.<table>, kafka::TableOfTopic):
// assigned partitions take their tables' locks through the LakeSink, revoked ones let them go,
// and the caught-up check claims the latest manifest's commit LSN for the tables whose topics
// were read to their end (docs/LAKE.md "Several writers").
//
// Threading: a kafka::PartitionListener, called on KafkaSource::Run's thread (the sink's).
#pragma once

#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "common/result.h"
#include "lake/lake_sink.h"
#include "transport/kafka/kafka_source.h"

namespace migsbyu::lake {

class TableOwnership : public kafka::PartitionListener {
 public:
  // `sink` is a table-owner LakeSink on `dir` and outlives this; `stop` ends a wait for a table
  // another member still holds (OnAssigned then fails with kCancelled).
  TableOwnership(LakeSink& sink, std::string dir, std::stop_token stop);

  Status OnAssigned(const std::vector<std::string>& topics) override;
  Status OnRevoked(const std::vector<std::string>& topics) override;
  // The commit LSN of the lake's latest manifest (0 for an empty lake, or one that does not load).
  uint64_t CatchUpToken() override;
  Status OnCaughtUp(const std::vector<std::string>& topics, uint64_t token) override;

 private:
  LakeSink& sink_;
  const std::string dir_;
  const std::stop_token stop_;
};

}  // namespace migsbyu::lake
