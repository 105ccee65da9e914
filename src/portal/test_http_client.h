// Test support for the portal's server tests: a blocking loopback client that sends raw bytes
// and reads raw bytes (what a client library would hide or refuse to send), and a parser of the
// responses it reads. Header-only; tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "common/unique_fd.h"

namespace migsbyu::portal::test_http {

using namespace std::chrono_literals;

// One HTTP response as the client read it.
struct Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;

  // The first value of `name` (any case); nullopt if absent.
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (EqualsIgnoreAsciiCase(k, name)) return v;
    }
    return std::nullopt;
  }
};

// Parses the first response of `raw`: its head, and a body framed by Content-Length (or, without
// one, everything after the head). `*used` gets its length. nullopt while it is incomplete.
inline std::optional<Reply> ParseReply(std::string_view raw, size_t* used = nullptr) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos || !raw.starts_with("HTTP/1.")) return std::nullopt;
  Reply reply;
  std::string_view head = raw.substr(0, head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return std::nullopt;
  reply.status = std::stoi(std::string(status_line.substr(9, 3)));
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    reply.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  std::string_view rest = raw.substr(head_end + 4);
  if (reply.status == 204 || reply.status == 304 || reply.status < 200) {
    if (used != nullptr) *used = head_end + 4;  // no body, whatever the headers say
  } else if (auto length = reply.Header("Content-Length")) {
    const size_t n = std::stoul(*length);
    if (rest.size() < n) return std::nullopt;
    reply.body.assign(rest.substr(0, n));
    if (used != nullptr) *used = head_end + 4 + n;
  } else {
    reply.body.assign(rest);
    if (used != nullptr) *used = raw.size();
  }
  return reply;
}

// A blocking loopback client.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_.Get(); }

  // Sends every byte; false if the server has closed.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.Get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `done(received)` holds, the server closes, or `limit` passes.
  const std::string& ReadUntil(const std::function<bool(const std::string&)>& done,
                               std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done(received_) && !closed_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_.Get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_.Get(), buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  const std::string& ReadUntilContains(std::string_view needle, size_t times = 1) {
    return ReadUntil([&](const std::string& s) { return Count(s, needle) >= times; });
  }
  // The next whole response (nullopt if none came within 10 s), removed from what was read.
  std::optional<Reply> ReadReply() {
    size_t used = 0;
    ReadUntil([&](const std::string& s) { return ParseReply(s, &used).has_value(); });
    auto reply = ParseReply(received_, &used);
    // Without Content-Length the body runs to the close.
    if (reply && reply->status >= 200 && reply->status != 204 && reply->status != 304 &&
        !reply->Header("Content-Length")) {
      WaitClosed();
      reply = ParseReply(received_, &used);
    }
    if (reply) received_.erase(0, used);
    return reply;
  }
  // True once the server has closed the connection (reads to the end, at most `limit`).
  bool WaitClosed(std::chrono::milliseconds limit = 10s) {
    ReadUntil([this](const std::string&) { return closed_; }, limit);
    return closed_;
  }
  bool closed() const { return closed_; }
  const std::string& received() const { return received_; }

  static size_t Count(std::string_view s, std::string_view needle) {
    size_t n = 0;
    for (size_t at = s.find(needle); at != std::string_view::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  UniqueFd fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

}  // namespace migsbyu::portal::test_http
