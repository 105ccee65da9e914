// Sink construction from a command-line spec, for `migsbyu cdc --sink SPEC` and the pipeline.
// Wiring only.
//   file:PATH   newline-delimited JSON file (transport/file/file_sink.h)
//   lake:DIR    the analytics lake in DIR (lake/lake_sink.h)
//   kafka:BROKERS  one topic per table in Debezium's envelope (transport/kafka/kafka_sink.h);
//                  kafka+txmeta:BROKERS also writes the transaction metadata topic (docs/KAFKA.md)
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "transport/sink.h"

namespace migsbyu::app {

// Builds the sink a spec names. kInvalidArgument naming the spec for an unknown kind.
Result<std::unique_ptr<transport::Sink>> MakeSink(const std::string& spec);

}  // namespace migsbyu::app
