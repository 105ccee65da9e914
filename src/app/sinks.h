// Sink construction from a command-line spec, for `migsbyu cdc --sink SPEC` and the pipeline.
// Wiring only.
//   file:PATH   newline-delimited JSON file (transport/file/file_sink.h)
//   lake:DIR    the analytics lake in DIR (lake/lake_sink.h)
//   kafka:BROKERS  one topic per table in Debezium's envelope (transport/kafka/kafka_sink.h);
//                  kafka+txmeta:BROKERS also writes the transaction metadata topic (docs/KAFKA.md)
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "lake/scd.h"
#include "transport/sink.h"

namespace migsbyu::app {

// Builds the sink a spec names; a lake sink's dimensions track `tracked` (--scd). kInvalidArgument
// naming the spec for an unknown kind.
Result<std::unique_ptr<transport::Sink>> MakeSink(const std::string& spec,
                                                  const lake::TrackedColumns& tracked = {});

// Adds --scd TABLE:track=COLUMN,... (repeatable) and --scd-config FILE (docs/LAKE.md "SCD
// options"), parsed into *tracked, to a command that writes the lake's dimensions.
void AddScdOptions(CLI::App* cmd, lake::TrackedColumns* tracked);

}  // namespace migsbyu::app
