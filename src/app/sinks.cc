#include "app/sinks.h"

#include <string_view>

#include "common/integer.h"
#include "lake/lake_sink.h"
#include "transport/file/file_sink.h"
#include "transport/kafka/kafka_sink.h"

namespace migsbyu::app {

void AddScdOptions(CLI::App* cmd, lake::TrackedColumns* tracked) {
  cmd->add_option_function<std::vector<std::string>>(
         "--scd",
         [tracked](const std::vector<std::string>& specs) {
           for (const auto& spec : specs) {
             Status added = lake::AddScdOption(spec, tracked);
             if (!added.ok()) throw CLI::ValidationError("--scd", added.error().message());
           }
         },
         "Columns whose change makes a new dimension version, per table: TABLE:track=COL,COL "
         "(repeatable; the key is always tracked; default every column)")
      ->type_name("TABLE:track=COLS");
  cmd->add_option_function<std::string>(
         "--scd-config",
         [tracked](const std::string& path) {
           Status loaded = lake::LoadScdConfig(path, tracked);
           if (!loaded.ok()) throw CLI::ValidationError("--scd-config", loaded.error().message());
         },
         "File of --scd values, one per line ('#' starts a comment)")
      ->type_name("FILE");
}

Result<std::unique_ptr<transport::Sink>> MakeSink(const std::string& spec,
                                                  const lake::TrackedColumns& tracked) {
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
    options.writer.tracked = tracked;
    MIGSBYU_ASSIGN(auto sink, lake::LakeSink::Open(options, nullptr));
    return std::unique_ptr<transport::Sink>(std::move(sink));
  }
  if ((kind == "kafka" || kind == "kafka+txmeta") && !arg.empty()) {
    kafka::KafkaSinkOptions options;
    options.brokers = arg;
    options.transaction_metadata = kind == "kafka+txmeta";
    // kafka:BROKERS?partitions=N: topics the sink creates get N partitions, keyed by primary key.
    if (auto q = arg.find('?'); q != std::string::npos) {
      options.brokers = arg.substr(0, q);
      const std::string query = arg.substr(q + 1);
      constexpr std::string_view kPartitions = "partitions=";
      if (!query.starts_with(kPartitions)) {
        return Error::InvalidArgument("kafka sink '" + spec +
                                      "': the only option is ?partitions=N, got ?" + query);
      }
      auto n = ParseInteger<int>(std::string_view(query).substr(kPartitions.size()));
      if (!n)
        return Error::InvalidArgument("kafka sink '" + spec + "': partitions is not a number");
      options.partitions = *n;  // KafkaSink::Create refuses fewer than 1
    }
    MIGSBYU_ASSIGN(auto sink, kafka::KafkaSink::Create(std::move(options)));
    return std::unique_ptr<transport::Sink>(std::move(sink));
  }
  return Error::InvalidArgument(
      "unknown sink '" + spec +
      "' (expected file:PATH, lake:DIR, kafka:BROKERS or kafka+txmeta:BROKERS, optionally "
      "followed by ?partitions=N)");
}

}  // namespace migsbyu::app
