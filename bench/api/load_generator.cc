#include "load_generator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "common/ascii.h"
#include "common/unique_fd.h"

namespace migsbyu::bench {
namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// What the head of a response says about how to read the rest.
struct ResponseHead {
  int status = 0;
  size_t content_length = 0;
  bool chunked = false;
  bool close = false;
};

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n" (without the blank line). False if it is
// not a status line followed by headers.
bool ParseHead(std::string_view head, ResponseHead* out) {
  if (!head.starts_with("HTTP/1.") || head.size() < 12 || head[8] != ' ') return false;
  out->status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return false;
    out->status = out->status * 10 + (head[i] - '0');
  }
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos) {
    head.remove_prefix(line + 2);
    line = head.find("\r\n");
    std::string_view header = head.substr(0, line);
    size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = header.substr(0, colon);
    std::string_view value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (EqualsIgnoreAsciiCase(name, "content-length")) {
      out->content_length = 0;
      for (char ch : value) {
        if (ch < '0' || ch > '9') return false;
        out->content_length = out->content_length * 10 + static_cast<size_t>(ch - '0');
      }
    } else if (EqualsIgnoreAsciiCase(name, "transfer-encoding")) {
      out->chunked = true;
    } else if (EqualsIgnoreAsciiCase(name, "connection")) {
      out->close = EqualsIgnoreAsciiCase(value, "close");
    }
  }
  return true;
}

struct Connection {
  UniqueFd fd;
  std::string out;
  size_t written = 0;
  bool want_write = false;  // EPOLLOUT registered: the last send would have blocked
  std::string in;
  size_t head_end = 0;  // bytes of the response head including the blank line; 0 until seen
  ResponseHead head;
  Clock::time_point start;
  int64_t sent = 0;
  bool open = false;
};

UniqueFd Connect(const std::string& host, int port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    *error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return UniqueFd();
  }
  UniqueFd fd;
  for (addrinfo* a = found; a != nullptr && !fd; a = a->ai_next) {
    fd.Reset(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd && connect(fd.Get(), a->ai_addr, a->ai_addrlen) != 0) fd.Reset();
  }
  freeaddrinfo(found);
  if (!fd) {
    *error = "cannot connect to " + host + ":" + std::to_string(port) + ": " + strerror(errno);
    return fd;
  }
  // Requests are written whole, so Nagle's algorithm could only delay them.
  int one = 1;
  setsockopt(fd.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd.Get(), F_SETFL, fcntl(fd.Get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

void WriteJsonRequest(const char* method, const std::string& target, const std::string& host,
                      const std::string& body, std::string* out, const std::string& token) {
  out->append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
  if (!token.empty()) out->append("\r\nAuthorization: Bearer ").append(token);
  if (!body.empty()) {
    out->append("\r\nContent-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()));
  }
  out->append("\r\n\r\n").append(body);
}

LoadResult LoadGenerator::Run(int connections, std::chrono::duration<double> duration,
                              const RequestWriter& write_request) const {
  LoadResult result;
  auto fail = [&result](std::string why) {
    ++result.errors;
    if (result.first_error.empty()) result.first_error = std::move(why);
  };
  std::vector<Connection> conns(static_cast<size_t>(connections));
  const UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  const int epoll = epoll_fd.Get();
  for (size_t i = 0; i < conns.size(); ++i) {
    std::string error;
    conns[i].fd = Connect(host_, port_, &error);
    if (!conns[i].fd) {
      fail(error);
      return result;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(epoll, EPOLL_CTL_ADD, conns[i].fd.Get(), &ev);
  }

  auto set_want_write = [&](size_t i, bool want) {
    Connection& c = conns[i];
    if (c.want_write == want) return;
    c.want_write = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd.Get(), &ev);
  };
  int open = 0;
  auto shut = [&](size_t i) {
    Connection& c = conns[i];
    if (!c.open) return;
    c.open = false;
    --open;
    epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd.Get(), nullptr);
  };
  auto flush = [&](size_t i) {
    Connection& c = conns[i];
    while (c.written < c.out.size()) {
      ssize_t n =
          send(c.fd.Get(), c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        set_want_write(i, true);
        return;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        fail(std::string("send: ") + strerror(errno));
        shut(i);
        return;
      }
    }
    set_want_write(i, false);
  };
  auto start_next = [&](size_t i) {
    Connection& c = conns[i];
    c.out.clear();
    c.written = 0;
    write_request(static_cast<int>(i), c.sent++, &c.out);
    c.start = Clock::now();
    flush(i);
  };

  const double cpu_start = CpuSeconds();
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(duration);
  // Requests still in flight this long after the deadline count as errors.
  const auto give_up = deadline + std::chrono::seconds(10);
  auto last_response = started;
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].open = true;
    ++open;
  }
  for (size_t i = 0; i < conns.size(); ++i) start_next(i);

  std::vector<epoll_event> events(conns.size());
  char buffer[65536];
  while (open > 0) {
    auto now = Clock::now();
    if (now >= give_up) {
      for (size_t i = 0; i < conns.size(); ++i) {
        if (conns[i].open) {
          fail("no response within 10 s after the deadline");
          shut(i);
        }
      }
      break;
    }
    // Wake at the deadline at the latest (idle connections are not polled), then in steps.
    auto until = now < deadline ? deadline : give_up;
    int timeout_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1);
    int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    for (int e = 0; e < n; ++e) {
      const size_t i = events[static_cast<size_t>(e)].data.u32;
      Connection& c = conns[i];
      if (!c.open) continue;
      if (events[static_cast<size_t>(e)].events & EPOLLOUT) flush(i);
      if (!c.open || !(events[static_cast<size_t>(e)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        continue;
      }
      ssize_t got = recv(c.fd.Get(), buffer, sizeof buffer, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        fail(got == 0 ? "the server closed a keep-alive connection"
                      : std::string("recv: ") + strerror(errno));
        shut(i);
        continue;
      }
      c.in.append(buffer, static_cast<size_t>(got));
      if (c.head_end == 0) {
        size_t blank = c.in.find("\r\n\r\n");
        if (blank == std::string::npos) continue;
        c.head_end = blank + 4;
        if (!ParseHead(std::string_view(c.in).substr(0, blank), &c.head) || c.head.chunked) {
          fail("unsupported response: " + c.in.substr(0, blank));
          shut(i);
          continue;
        }
      }
      if (c.in.size() < c.head_end + c.head.content_length) continue;
      const auto done = Clock::now();
      last_response = done;
      if (c.in.size() > c.head_end + c.head.content_length) {
        fail("bytes after the response (the client sends one request at a time)");
        shut(i);
        continue;
      }
      if (c.head.status == 200) {
        result.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(done - c.start).count());
      } else {
        fail("status " + std::to_string(c.head.status) + ": " + c.in.substr(c.head_end));
      }
      const bool close_after = c.head.close;
      c.in.clear();
      c.head_end = 0;
      c.head = {};
      if (close_after) {
        if (done < deadline) fail("the server closed a keep-alive connection");
        shut(i);
      } else if (done < deadline) {
        start_next(i);
      } else {
        shut(i);
      }
    }
  }
  result.seconds = std::chrono::duration<double>(last_response - started).count();
  result.cpu_seconds = CpuSeconds() - cpu_start;
  return result;
}

}  // namespace migsbyu::bench
