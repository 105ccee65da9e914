// Listening sockets and client addresses for the portal's server.
//
// Listen binds a non-blocking TCP socket to "host:port" and says what it is bound to: the port the
// kernel picked (for port 0), and whether the address is loopback only, so that the server can
// refuse to expose plain HTTP beyond this machine and can tell which Host names are its own.
// Addresses are compared as text in one canonical form (CanonicalIp), so that "::ffff:127.0.0.1"
// from a dual-stack socket and "127.0.0.1" in a setting compare equal.
//
// Threading: pure functions; the BoundListener is a value owned by one thread at a time.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "common/unique_fd.h"

namespace migsbyu::portal {

// Splits "host:port" ("[::1]:8000" gives "::1"). kInvalidArgument naming the address if it is not
// of that form or the port is not 0-65535.
Result<std::pair<std::string, int>> ParseAddress(const std::string& address);

struct BoundListener {
  UniqueFd fd;
  std::string host;       // as configured, without brackets ("127.0.0.1", "::", "localhost")
  std::string bound_ip;   // the address bound, canonical ("127.0.0.1", "::")
  int port = 0;           // the port bound
  bool loopback = false;  // reachable from this machine only (127.0.0.0/8 or ::1)
};

// Binds and listens (non-blocking, close-on-exec, SO_REUSEADDR) on `address`. kInvalidArgument for
// a malformed address; kUnavailable naming the address when it cannot be bound (in use, not a local
// address).
Result<BoundListener> Listen(const std::string& address);

// The canonical text of an IP address given as text: IPv4 dotted quad, IPv6 in RFC 5952 form
// (brackets allowed), an IPv4-mapped IPv6 address as its IPv4 form. nullopt if `text` is not an IP
// address.
std::optional<std::string> CanonicalIp(std::string_view text);

// The canonical text of a socket address's IP (no port); "" for a family other than IPv4/IPv6.
std::string AddressText(const sockaddr_storage& address);

// True for 127.0.0.0/8 and ::1, given a canonical address.
bool IsLoopbackIp(std::string_view canonical_ip);

}  // namespace migsbyu::portal
