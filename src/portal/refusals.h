// Refusals: what the portal's server refused, counted by kind and logged without flooding.
//
// Every limit and check of the HTTP layer (a foreign Host, a connection over a cap, a request
// head past its deadline, ...) records its refusal here: the count of each kind only grows, and
// each kind is logged at most once a second (with the count so far), so that a flood of refused
// requests shows in the log without filling it.
//
// Threading: Record and count are thread-safe (atomics; no lock).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace migsbyu::portal {

enum class Refusal {
  kHost,               // 400, 421: no Host, or a name that is not the server's
  kOrigin,             // 403: a foreign Origin
  kContentType,        // 415: a body that is not JSON
  kForwarded,          // 400: a proxy's malformed X-Forwarded-*
  kConnections,        // 503: the server's connection cap
  kClientConnections,  // 429: the cap of connections from one address
  kHeadTimeout,        // 408: the request head was not all there in time
  kBodyTimeout,        // 408: the body was not all there in time
  kSendTimeout,        // closed: the client stopped reading
  kStreams,            // 503: the cap of event-stream subscribers
  kStreamBehind,       // closed: a subscriber fell a whole queue behind
  kTls,                // closed or 400: a failed TLS handshake, plain HTTP on a TLS port
};
inline constexpr size_t kRefusalKinds = static_cast<size_t>(Refusal::kTls) + 1;

std::string_view RefusalName(Refusal kind);

class Refusals {
 public:
  // Counts one refusal of `kind` of a client at `peer`, and logs it unless this kind was logged
  // in the current second.
  void Record(Refusal kind, std::string_view peer, std::string_view detail);
  uint64_t count(Refusal kind) const { return counts_[static_cast<size_t>(kind)].load(); }

 private:
  std::array<std::atomic<uint64_t>, kRefusalKinds> counts_{};
  std::array<std::atomic<int64_t>, kRefusalKinds> logged_second_{};
};

}  // namespace migsbyu::portal
