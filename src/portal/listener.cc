#include "portal/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace migsbyu::portal {

Result<std::pair<std::string, int>> ParseAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Error::InvalidArgument("address '" + address + "' is not host:port");
  }
  int port = -1;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last) {
    return Error::InvalidArgument("address '" + address + "' has no valid port");
  }
  if (port < 0 || port > 65535) {
    return Error::InvalidArgument("address '" + address + "' has a port out of range");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

std::optional<std::string> CanonicalIp(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return std::string(::inet_ntop(AF_INET, &v4, buf, sizeof buf));
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    return std::string(::inet_ntop(AF_INET, &v4, buf, sizeof buf));
  }
  return std::string(::inet_ntop(AF_INET6, &v6, buf, sizeof buf));
}

std::string AddressText(const sockaddr_storage& address) {
  char buf[INET6_ADDRSTRLEN];
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    return ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      in_addr v4{};
      std::memcpy(&v4, &v6->sin6_addr.s6_addr[12], sizeof v4);
      return ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
    }
    return ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
  }
  return "";
}

bool IsLoopbackIp(std::string_view ip) { return ip == "::1" || ip.starts_with("127."); }

Result<BoundListener> Listen(const std::string& address) {
  MIGSBYU_ASSIGN(auto host_port, ParseAddress(address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(host_port.second);
  const char* host = host_port.first.empty() ? nullptr : host_port.first.c_str();
  if (int rc = ::getaddrinfo(host, service.c_str(), &hints, &found); rc != 0) {
    return Error::Unavailable("cannot listen on " + address + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  std::string why = "no address";
  UniqueFd fd;
  for (addrinfo* ai = found; ai != nullptr && !fd; ai = ai->ai_next) {
    fd.Reset(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) continue;
    int one = 1;
    ::setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.Get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.Get(), SOMAXCONN) != 0) {
      why = std::strerror(errno);
      fd.Reset();
    }
  }
  if (!fd) return Error::Unavailable("cannot listen on " + address + " (in use?): " + why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&bound), &len);
  BoundListener out;
  out.port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  out.bound_ip = AddressText(bound);
  out.loopback = IsLoopbackIp(out.bound_ip);
  out.host = std::move(host_port.first);
  out.fd = std::move(fd);
  return out;
}

}  // namespace migsbyu::portal
