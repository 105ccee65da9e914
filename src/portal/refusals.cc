#include "portal/refusals.h"

#include <chrono>

#include "common/log.h"

namespace migsbyu::portal {

std::string_view RefusalName(Refusal kind) {
  switch (kind) {
    case Refusal::kHost:
      return "host";
    case Refusal::kOrigin:
      return "origin";
    case Refusal::kContentType:
      return "content_type";
    case Refusal::kForwarded:
      return "forwarded";
    case Refusal::kConnections:
      return "connections";
    case Refusal::kClientConnections:
      return "client_connections";
    case Refusal::kHeadTimeout:
      return "head_timeout";
    case Refusal::kBodyTimeout:
      return "body_timeout";
    case Refusal::kSendTimeout:
      return "send_timeout";
    case Refusal::kStreams:
      return "event_streams";
    case Refusal::kStreamBehind:
      return "event_stream_behind";
    case Refusal::kTls:
      return "tls";
  }
  return "unknown";
}

void Refusals::Record(Refusal kind, std::string_view peer, std::string_view detail) {
  const auto i = static_cast<size_t>(kind);
  const uint64_t n = counts_[i].fetch_add(1) + 1;
  const int64_t second = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  if (logged_second_[i].exchange(second) == second) return;
  MIGSBYU_LOG_WARN("portal: refused ({}) a client at {}: {} ({} of this kind so far)",
                   RefusalName(kind), peer, detail, n);
}

}  // namespace migsbyu::portal
