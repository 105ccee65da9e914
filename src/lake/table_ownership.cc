#include "lake/table_ownership.h"

#include <utility>

#include "lake/manifest.h"
#include "transport/kafka/envelope.h"

namespace migsbyu::lake {

TableOwnership::TableOwnership(LakeSink& sink, std::string dir, std::stop_token stop)
    : sink_(sink), dir_(std::move(dir)), stop_(std::move(stop)) {}

Status TableOwnership::OnAssigned(const std::vector<std::string>& topics) {
  for (const auto& t : topics) MIGSBYU_TRY(sink_.AcquireTable(kafka::TableOfTopic(t), stop_));
  return OkStatus();
}

Status TableOwnership::OnRevoked(const std::vector<std::string>& topics) {
  for (const auto& t : topics) MIGSBYU_TRY(sink_.ReleaseTable(kafka::TableOfTopic(t)));
  return OkStatus();
}

uint64_t TableOwnership::CatchUpToken() {
  auto latest = LoadLatestManifest(dir_);
  return latest.ok() && *latest ? (*latest)->commit_lsn.value() : 0;
}

Status TableOwnership::OnCaughtUp(const std::vector<std::string>& topics, uint64_t token) {
  for (const auto& t : topics) sink_.MarkCaughtUp(kafka::TableOfTopic(t), token);
  return OkStatus();
}

}  // namespace migsbyu::lake
