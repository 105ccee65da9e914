#include "app/sinks.h"

#include "lake/lake_sink.h"
#include "transport/file/file_sink.h"
#include "transport/kafka/kafka_sink.h"

namespace migsbyu::app {

Result<std::unique_ptr<transport::Sink>> MakeSink(const std::string& spec) {
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "file" && !arg.empty()) {
    MIGSBYU_ASSIGN(auto sink, transport::FileSink::Open(arg));
    return std::unique_ptr<transport::Sink>(std::move(sink));
  }
  if (kind == "lake" && !arg.empty()) {
    lake::LakeSinkOptions options;
    options.writer.dir = arg;
    MIGSBYU_ASSIGN(auto sink, lake::LakeSink::Open(options, nullptr));
    return std::unique_ptr<transport::Sink>(std::move(sink));
  }
  if ((kind == "kafka" || kind == "kafka+txmeta") && !arg.empty()) {
    kafka::KafkaSinkOptions options;
    options.brokers = arg;
    options.transaction_metadata = kind == "kafka+txmeta";
    MIGSBYU_ASSIGN(auto sink, kafka::KafkaSink::Create(std::move(options)));
    return std::unique_ptr<transport::Sink>(std::move(sink));
  }
  return Error::InvalidArgument(
      "unknown sink '" + spec +
      "' (expected file:PATH, lake:DIR, kafka:BROKERS or kafka+txmeta:BROKERS)");
}

}  // namespace migsbyu::app
