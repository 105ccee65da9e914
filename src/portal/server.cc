#include "portal/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/log.h"
#include "pg/async_pool.h"
#include "portal/http_parser.h"

namespace migsbyu::portal {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kApiPrefix = "/api";
constexpr size_t kReadChunk = 64 * 1024;

Response ErrorResponse(int status, const std::string& detail) {
  return Response::Json({{"detail", detail}}, status);
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

const char* MimeType(const fs::path& file) {
  static const std::map<std::string, const char*> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  auto it = types.find(file.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

bool ReadFile(const fs::path& file, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = std::move(buf).str();
  return true;
}

// A path is served from the folder only if none of its segments climbs out of it.
bool IsSafeRelativePath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto segment = path.substr(start, end - start);
    if (segment == ".." || segment == ".") return false;
    start = end + 1;
  }
  return true;
}

// GET of the web folder: a file as it is; any other path the single page (a client-side route).
Response ServeFile(const std::string& web_dir, const std::string& method, const std::string& path) {
  if (method != "GET" && method != "HEAD") return ErrorResponse(405, "Method Not Allowed");
  if (!IsSafeRelativePath(path)) return ErrorResponse(404, "Not Found");
  const fs::path root(web_dir);
  const bool asset = path.starts_with("/assets/");
  fs::path file = root / fs::path(path.substr(1));
  std::error_code ec;
  if (path.size() <= 1 || !fs::is_regular_file(file, ec)) {
    // Missing assets stay missing; a client-side route gets the page.
    if (asset) return ErrorResponse(404, "Not Found");
    file = root / "index.html";
  }
  Response out;
  if (!ReadFile(file, &out.body)) {
    return ErrorResponse(
        404, "The web front-end is not built: no " + file.string() + " (run `make web`)");
  }
  out.content_type = MimeType(file);
  out.headers.emplace_back("Cache-Control",
                           asset ? "public, max-age=31536000, immutable" : "no-cache");
  return out;
}

// "Sat, 28 Nov 2026 06:34:13 GMT", the current second's, cached per thread.
const std::string& HttpDate() {
  thread_local time_t cached_second = 0;
  thread_local std::string cached;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    tm t{};
    ::gmtime_r(&now, &t);
    char buf[64];
    size_t n = ::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
    cached.assign(buf, n);
  }
  return cached;
}

// Writes all of `data` to a blocking socket; false if the peer is gone or a send timed out.
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// An EventWriter over a connection handed to a stream's own thread (a blocking socket).
class StreamWriter : public EventWriter {
 public:
  StreamWriter(int fd, bool chunked, const std::atomic<bool>& stopping)
      : fd_(fd), chunked_(chunked), stopping_(stopping) {}

  bool Send(std::string_view event, std::string_view data) override {
    if (gone_ || stopping_.load()) return false;
    std::string message;
    if (!event.empty()) message.append("event: ").append(event).append("\n");
    // A data field may not hold a newline: each line is its own data: field.
    size_t start = 0;
    while (true) {
      size_t nl = data.find('\n', start);
      message.append("data: ").append(data.substr(start, nl - start)).append("\n");
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    message.append("\n");
    if (chunked_) {
      char size[32];
      int n = std::snprintf(size, sizeof size, "%zx\r\n", message.size());
      message.insert(0, size, static_cast<size_t>(n));
      message.append("\r\n");
    }
    gone_ = !SendAll(fd_, message);
    return !gone_;
  }

  void End() {
    if (chunked_ && !gone_) SendAll(fd_, "0\r\n\r\n");
  }

 private:
  int fd_;
  bool chunked_;
  const std::atomic<bool>& stopping_;
  bool gone_ = false;
};

// A fixed set of threads running the routes that may block, first come first served.
class WorkerPool {
 public:
  explicit WorkerPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return done_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // done, and nothing left to run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

enum class Listener { kApi, kWeb };

// Binds and listens (non-blocking) on host:port; the bound port in *port.
Result<int> Listen(const std::string& address, int* port) {
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
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Error::Unavailable("cannot listen on " + address + " (in use?): " + why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

Result<std::pair<std::string, int>> ParseAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Error::InvalidArgument("address '" + address + "' is not host:port");
  }
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) throw std::invalid_argument("port");
  } catch (...) {
    return Error::InvalidArgument("address '" + address + "' has no valid port");
  }
  if (port < 0 || port > 65535) {
    return Error::InvalidArgument("address '" + address + "' has a port out of range");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::make_pair(host, port);
}

// The server's state shared by its threads, and one Loop per event-loop thread.
class Server::Impl {
 public:
  Impl(Server& server, const Router& router, ServerOptions options)
      : server_(server), router_(router), options_(std::move(options)) {
    limits_.max_body_bytes = options_.max_body_bytes;
  }

  Status Start(int* api_port, int* web_port);
  void Stop();

 private:
  // One client connection, owned by one loop.
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    Listener listener = Listener::kApi;
    std::string in;           // bytes received and not yet parsed
    std::string out;          // bytes to send
    size_t out_sent = 0;      // of `out`
    bool busy = false;        // a request is being answered
    bool responding = false;  // `out` holds the response (not just "100 Continue")
    bool close_after = false;
    bool head = false;  // the request is HEAD: no body in the response
    bool keep_alive = true;
    int minor_version = 1;
    bool continue_sent = false;
    bool processing = false;   // inside Process
    bool reading = true;       // EPOLLIN watched
    bool writing = false;      // EPOLLOUT watched
    bool read_closed = false;  // the client has shut its side
    bool lingering = false;    // answered and shut for writing; reading what is left, then closing
    Clock::time_point last_active;
  };

  class Loop {
   public:
    Loop(Impl& impl, size_t index) : impl_(impl), index_(index) {}

    EventLoop& events() { return loop_; }
    void Run();
    // On this loop's thread:
    void Adopt(int fd, Listener listener);
    void BeginDrain();
    void Complete(uint64_t id, Response response, std::string prefix);

   private:
    void OnEvents(uint64_t id, uint32_t events);
    void Read(Conn& c);
    void Process(Conn& c);
    void Dispatch(Conn& c, http::ParsedRequest parsed);
    void Respond(Conn& c, const Response& response);
    void Flush(Conn& c);
    void Watch(Conn& c);
    void Close(uint64_t id);
    void Linger(Conn& c);
    void HandOffStream(Conn& c, const Router::Route* route, Request request);
    void Sweep();
    void MaybeFinishDrain();
    Conn* Find(uint64_t id) {
      auto it = conns_.find(id);
      return it == conns_.end() ? nullptr : it->second.get();
    }

    Impl& impl_;
    size_t index_;
    EventLoop loop_;
    std::unique_ptr<pg::AsyncPool> db_writes_;
    std::unique_ptr<pg::AsyncPool> db_reads_;
    uint64_t next_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
    bool draining_ = false;
  };

  // On the first loop's thread (or before it runs).
  void WatchListener(int listen_fd, Listener listener);
  void Accept(int listen_fd, Listener listener);

  Server& server_;
  const Router& router_;
  ServerOptions options_;
  http::Limits limits_;
  int api_fd_ = -1;
  int web_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> loop_threads_;
  std::unique_ptr<WorkerPool> workers_;
  size_t next_loop_ = 0;  // the accepting loop's: where the next connection goes

  std::mutex streams_mu_;
  std::condition_variable streams_cv_;
  int streams_ = 0;  // event streams running on their own threads
};

Status Server::Impl::Start(int* api_port, int* web_port) {
  MIGSBYU_ASSIGN(api_fd_, Listen(options_.api_address, api_port));
  if (!options_.web_address.empty()) {
    auto web = Listen(options_.web_address, web_port);
    if (!web.ok()) {
      ::close(api_fd_);
      api_fd_ = -1;
      *api_port = 0;
      return web.error();
    }
    web_fd_ = *web;
  }
  size_t loops = options_.event_loops > 0 ? static_cast<size_t>(options_.event_loops)
                                          : std::max(1u, std::thread::hardware_concurrency());
  workers_ = std::make_unique<WorkerPool>(std::max(1, options_.threads));
  for (size_t i = 0; i < loops; ++i) loops_.push_back(std::make_unique<Loop>(*this, i));
  WatchListener(api_fd_, Listener::kApi);
  if (web_fd_ >= 0) WatchListener(web_fd_, Listener::kWeb);
  for (auto& loop : loops_) loop_threads_.emplace_back([l = loop.get()] { l->Run(); });
  return OkStatus();
}

void Server::Impl::WatchListener(int listen_fd, Listener listener) {
  // The first loop accepts and hands each new connection to the loops in turn.
  loops_.front()->events().Watch(
      listen_fd, EPOLLIN, [this, listen_fd, listener](uint32_t) { Accept(listen_fd, listener); });
}

void Server::Impl::Accept(int listen_fd, Listener listener) {
  // Bounded per wake-up, so that a flood of connections does not starve the requests.
  for (int i = 0; i < 64; ++i) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop accepting for a moment rather than spin on the backlog.
        MIGSBYU_LOG_WARN("portal: cannot accept: {}", std::strerror(errno));
        EventLoop& first = loops_.front()->events();
        first.Unwatch(listen_fd);
        first.RunAfter(std::chrono::milliseconds(100), [this, listen_fd, listener] {
          if (!server_.stopping()) WatchListener(listen_fd, listener);
        });
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Loop* target = loops_[next_loop_++ % loops_.size()].get();
    if (target == loops_.front().get()) {
      target->Adopt(fd, listener);
    } else {
      target->events().Post([target, fd, listener] { target->Adopt(fd, listener); });
    }
  }
}

void Server::Impl::Loop::Run() {
  if (!impl_.router_.database().empty()) {
    const size_t loops = impl_.loops_.size();
    // This loop's share of `total`, the first loops taking the remainder; at least one.
    auto share = [&](int total) {
      const size_t n = static_cast<size_t>(std::max(1, total));
      return std::max<size_t>(1, n / loops + (index_ < n % loops ? 1 : 0));
    };
    pg::AsyncPoolOptions writes;
    writes.conninfo = impl_.router_.database();
    writes.max_connections = share(impl_.options_.db_connections);
    writes.max_pipeline_depth = 1;
    db_writes_ = std::make_unique<pg::AsyncPool>(loop_, writes);
    pg::AsyncPoolOptions reads = writes;
    reads.max_connections =
        impl_.options_.db_read_connections > 0 ? share(impl_.options_.db_read_connections) : 1;
    reads.max_pipeline_depth = static_cast<size_t>(std::max(1, impl_.options_.read_pipeline_depth));
    db_reads_ = std::make_unique<pg::AsyncPool>(loop_, reads);
  }
  loop_.RunAfter(std::chrono::seconds(1), [this] { Sweep(); });
  loop_.Run();
  // Whatever is left after the drain deadline is closed; pending callbacks find no connection.
  for (auto& [id, c] : conns_) ::close(c->fd);
  conns_.clear();
  db_reads_.reset();
  db_writes_.reset();
}

void Server::Impl::Loop::Adopt(int fd, Listener listener) {
  if (draining_) {
    ::close(fd);
    return;
  }
  auto c = std::make_unique<Conn>();
  c->id = next_id_++;
  c->fd = fd;
  c->listener = listener;
  c->last_active = Clock::now();
  const uint64_t id = c->id;
  if (!loop_.Watch(fd, EPOLLIN, [this, id](uint32_t events) { OnEvents(id, events); })) {
    ::close(fd);
    return;
  }
  conns_.emplace(id, std::move(c));
}

void Server::Impl::Loop::OnEvents(uint64_t id, uint32_t events) {
  Conn* c = Find(id);
  if (c == nullptr) return;
  if (events & (EPOLLERR | EPOLLHUP)) {
    // The client is gone (reset, or closed both ways): an answer in progress has nowhere to go.
    Close(id);
    return;
  }
  if (events & EPOLLOUT) {
    Flush(*c);
    c = Find(id);
    if (c == nullptr) return;
  }
  if (events & EPOLLIN) Read(*c);
}

void Server::Impl::Loop::Read(Conn& c) {
  const uint64_t id = c.id;
  char buf[kReadChunk];
  // At most 16 chunks per wake-up: a client that sends without pause does not keep the loop
  // from its other connections (level-triggered, the rest is read on the next pass).
  for (int chunks = 0; chunks < 16; ++chunks) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0 && c.lingering) continue;  // what the client still sends is dropped
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) break;  // drained: spare the EAGAIN call
      continue;
    }
    if (n == 0) {
      c.read_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(id);
    return;
  }
  if (c.lingering) {
    if (c.read_closed) Close(id);
    return;
  }
  c.last_active = Clock::now();
  Process(c);
  Conn* still = Find(id);
  if (still == nullptr) return;
  if (still->read_closed && !still->busy && still->out.empty()) {
    Close(id);
    return;
  }
  // After the client's end of stream, or while a request is answered with a full buffer behind
  // it, stop reading (level-triggered: it would wake the loop again and again).
  const size_t backlog_limit = impl_.limits_.max_head_bytes + impl_.limits_.max_body_bytes;
  const bool reading = !still->read_closed && !(still->busy && still->in.size() > backlog_limit);
  if (reading != still->reading) {
    still->reading = reading;
    Watch(*still);
  }
}

void Server::Impl::Loop::Watch(Conn& c) {
  loop_.Modify(c.fd, (c.reading ? EPOLLIN : 0) | (c.writing ? EPOLLOUT : 0));
}

void Server::Impl::Loop::Process(Conn& c) {
  // Answering a request may finish at once and come back here (Respond, Flush): the outer call
  // takes the next pipelined request, so that a long pipeline does not nest calls.
  if (c.processing) return;
  c.processing = true;
  const uint64_t id = c.id;
  for (Conn* cur = &c; cur != nullptr && !cur->busy && !cur->in.empty(); cur = Find(id)) {
    http::ParseResult parsed = http::ParseRequest(cur->in, impl_.limits_);
    if (parsed.status == http::ParseStatus::kIncomplete) {
      if (parsed.expects_continue && !cur->continue_sent) {
        cur->continue_sent = true;
        cur->out.append("HTTP/1.1 100 Continue\r\n\r\n");
        Flush(*cur);
      }
      break;
    }
    cur->busy = true;
    if (parsed.status == http::ParseStatus::kError) {
      // The stream cannot be trusted past a malformed request: answer and close.
      cur->in.clear();
      cur->keep_alive = false;
      cur->head = false;
      std::string detail = parsed.error_detail;
      if (parsed.error_status == 413) {
        detail =
            "Request body larger than " + std::to_string(impl_.options_.max_body_bytes) + " bytes";
      }
      Respond(*cur, ErrorResponse(parsed.error_status, detail));
      continue;
    }
    cur->in.erase(0, parsed.consumed);
    cur->continue_sent = false;
    Dispatch(*cur, std::move(parsed.request));
  }
  if (Conn* cur = Find(id)) cur->processing = false;
}

void Server::Impl::Loop::Dispatch(Conn& c, http::ParsedRequest parsed) {
  c.head = parsed.method == "HEAD";
  c.keep_alive = parsed.keep_alive && !draining_;
  c.minor_version = parsed.minor_version;

  std::string path = std::move(parsed.path);
  std::string prefix;
  if (c.listener == Listener::kWeb) {
    if (path == kApiPrefix || path.starts_with(std::string(kApiPrefix) + "/")) {
      prefix = kApiPrefix;
      path = path.size() == kApiPrefix.size() ? "/" : path.substr(kApiPrefix.size());
    } else {
      // The front-end's files: read from disk, so on a worker.
      const uint64_t id = c.id;
      impl_.workers_->Submit([this, id, method = parsed.method, path = std::move(path)] {
        Response out = ServeFile(impl_.options_.web_dir, method, path);
        loop_.Post(
            [this, id, out = std::move(out)]() mutable { Complete(id, std::move(out), ""); });
      });
      return;
    }
  }

  auto match = impl_.router_.Find(parsed.method, path);
  if (match.route == nullptr) {
    if (match.path_matched) return Respond(c, ErrorResponse(405, "Method Not Allowed"));
    // As FastAPI does: /students redirects to /students/ (and the reverse), query kept.
    std::string other = path.ends_with("/") ? path.substr(0, path.size() - 1) : path + "/";
    if (!other.empty() && impl_.router_.Find(parsed.method, other).route != nullptr) {
      std::string location = prefix + other;
      if (!parsed.query_string.empty()) location += "?" + parsed.query_string;
      Response out = ErrorResponse(307, "Moved to " + prefix + other);
      out.headers.emplace_back("Location", std::move(location));
      return Respond(c, out);
    }
    return Respond(c, ErrorResponse(404, "Not Found"));
  }

  Request request;
  request.method = std::move(parsed.method);
  request.path = std::move(path);
  request.path_params = std::move(match.params);
  request.query = std::move(parsed.query);
  request.headers = std::move(parsed.headers);
  request.body = std::move(parsed.body);
  const Router::Route* route = match.route;
  const uint64_t id = c.id;

  if (const Gate* gate = impl_.router_.gate()) {
    if (!route->doc.permission) {
      MIGSBYU_LOG_ERROR("portal: {} {} declares no permission; refused", route->method,
                        route->pattern);
      return Respond(c, ErrorResponse(403, "Forbidden"));
    }
    Gate::Admission admission = gate->Admit(request, *route->doc.permission);
    if (admission.refusal) return Complete(id, std::move(*admission.refusal), prefix);
    request.principal = std::move(admission.principal);
  }

  if (route->stream) return HandOffStream(c, route, std::move(request));

  if (route->query) {
    std::variant<Response, DbCall> reply;
    try {
      reply = route->query(request);
    } catch (const std::exception& e) {
      reply = Response::FromError(
          Error::Internal(request.method + " " + request.path + ": " + e.what()));
    }
    if (auto* now = std::get_if<Response>(&reply)) return Complete(id, std::move(*now), prefix);
    if (db_writes_ == nullptr) {
      return Respond(c, Response::FromError(
                            Error::Unavailable("no database is configured for " + route->pattern)));
    }
    DbCall call = std::move(std::get<DbCall>(reply));
    pg::AsyncPool& db = call.read_only ? *db_reads_ : *db_writes_;
    db.Query(std::move(call.sql), std::move(call.params), call.prepared,
             [this, id, prefix, finish = std::move(call.finish),
              what = request.method + " " + request.path](Result<pg::PgResult> result,
                                                          const pg::ServerError& server) {
               Response out;
               try {
                 out = finish(std::move(result), server);
               } catch (const std::exception& e) {
                 out = Response::FromError(Error::Internal(what + ": " + e.what()));
               }
               Complete(id, std::move(out), prefix);
             });
    return;
  }

  impl_.workers_->Submit([this, id, route, prefix, request = std::move(request)] {
    Response out;
    try {
      out = route->handler(request);
    } catch (const std::exception& e) {
      out = Response::FromError(
          Error::Internal(request.method + " " + request.path + ": " + e.what()));
    }
    loop_.Post([this, id, prefix, out = std::move(out)]() mutable {
      Complete(id, std::move(out), prefix);
    });
  });
}

void Server::Impl::Loop::Complete(uint64_t id, Response response, std::string prefix) {
  Conn* c = Find(id);
  if (c == nullptr) return;  // the client went while its request was answered
  // Redirects inside the table stay inside the prefix it is served under.
  if (!prefix.empty()) {
    for (auto& [name, value] : response.headers) {
      if (name == "Location" && value.starts_with("/")) value = prefix + value;
    }
  }
  Respond(*c, response);
}

void Server::Impl::Loop::Respond(Conn& c, const Response& r) {
  if (draining_) c.keep_alive = false;
  if (!c.keep_alive) c.close_after = true;
  std::string& out = c.out;
  out.reserve(out.size() + 256 + r.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
  out.append(ReasonPhrase(r.status)).append("\r\nDate: ").append(HttpDate());
  out.append("\r\nContent-Type: ").append(r.content_type);
  out.append("\r\nContent-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  for (const auto& [name, value] : r.headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (!c.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (c.minor_version == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (!c.head) out.append(r.body);
  c.responding = true;
  Flush(c);
}

void Server::Impl::Loop::Flush(Conn& c) {
  const uint64_t id = c.id;
  while (c.out_sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!c.writing) {
        c.writing = true;
        Watch(c);
      }
      return;
    }
    Close(id);  // the client is gone
    return;
  }
  c.out.clear();
  c.out_sent = 0;
  if (c.writing) {
    c.writing = false;
    Watch(c);
  }
  if (!c.responding) return;  // only "100 Continue" went out
  c.responding = false;
  c.busy = false;
  c.last_active = Clock::now();
  if (c.close_after || (c.read_closed && c.in.empty())) {
    Linger(c);
    MaybeFinishDrain();
    return;
  }
  if (!c.reading && !c.read_closed) {
    c.reading = true;
    Watch(c);
  }
  // The next pipelined request, if its bytes are already here.
  Process(c);
  MaybeFinishDrain();
}

void Server::Impl::Loop::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  loop_.Unwatch(it->second->fd);
  ::close(it->second->fd);
  conns_.erase(it);
}

void Server::Impl::Loop::Linger(Conn& c) {
  // Closing with unread bytes from the client (the rest of a refused body, a request behind a
  // malformed one) would reset the connection, and the client could lose the response it has not
  // read yet. So: shut the sending side (the client sees the end after the response), read and
  // drop what still comes until the client closes too, for at most a second.
  if (c.read_closed || draining_) {
    Close(c.id);
    return;
  }
  ::shutdown(c.fd, SHUT_WR);
  c.lingering = true;
  c.in.clear();
  c.reading = true;
  c.busy = true;  // not idle: Sweep ends it by its own deadline
  c.last_active = Clock::now();
  Watch(c);
}

void Server::Impl::Loop::HandOffStream(Conn& c, const Router::Route* route, Request request) {
  const int fd = c.fd;
  const bool chunked = c.minor_version >= 1;
  loop_.Unwatch(fd);
  conns_.erase(c.id);
  // The stream's thread writes with blocking sends, each bounded so a stalled client cannot
  // hold it for ever.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  {
    std::lock_guard lock(impl_.streams_mu_);
    ++impl_.streams_;
  }
  Impl& impl = impl_;
  std::thread([&impl, fd, chunked, route, request = std::move(request)] {
    std::string head = "HTTP/1.1 200 OK\r\nDate: " + HttpDate() +
                       "\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                       "X-Accel-Buffering: no\r\nConnection: close\r\n";
    head += chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "\r\n";
    if (SendAll(fd, head)) {
      StreamWriter writer(fd, chunked, impl.server_.stopping_);
      try {
        route->stream(request, writer);
      } catch (const std::exception& e) {
        MIGSBYU_LOG_ERROR("portal: event stream {}: {}", request.path, e.what());
      }
      writer.End();
    }
    ::close(fd);
    std::lock_guard lock(impl.streams_mu_);
    --impl.streams_;
    impl.streams_cv_.notify_all();
  }).detach();
  MaybeFinishDrain();
}

void Server::Impl::Loop::Sweep() {
  const auto idle_limit = std::chrono::seconds(impl_.options_.keep_alive_seconds);
  const auto now = Clock::now();
  std::vector<uint64_t> idle;
  for (const auto& [id, c] : conns_) {
    if (c->lingering ? now - c->last_active > std::chrono::seconds(1)
                     : !c->busy && c->out.empty() && now - c->last_active > idle_limit) {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) Close(id);
  MaybeFinishDrain();
  loop_.RunAfter(std::chrono::seconds(1), [this] { Sweep(); });
}

void Server::Impl::Loop::BeginDrain() {
  draining_ = true;
  if (index_ == 0) {
    loop_.Unwatch(impl_.api_fd_);
    if (impl_.web_fd_ >= 0) loop_.Unwatch(impl_.web_fd_);
  }
  std::vector<uint64_t> idle;
  for (const auto& [id, c] : conns_) {
    if (c->busy) {
      c->close_after = true;
    } else {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) Close(id);
  loop_.RunAfter(std::chrono::seconds(impl_.options_.drain_seconds), [this] {
    if (!conns_.empty()) {
      MIGSBYU_LOG_WARN("portal: {} requests still unanswered after {} s; closing them",
                       conns_.size(), impl_.options_.drain_seconds);
    }
    loop_.Stop();
  });
  MaybeFinishDrain();
}

void Server::Impl::Loop::MaybeFinishDrain() {
  if (draining_ && conns_.empty()) loop_.Stop();
}

void Server::Impl::Stop() {
  if (loops_.empty()) return;  // never started
  // The accepting loop stops accepting first, so that each connection it hands to another loop
  // is posted there before that loop's own drain begins (and is then closed by it).
  std::promise<void> accepting_stopped;
  Loop* first = loops_.front().get();
  first->events().Post([first, &accepting_stopped] {
    first->BeginDrain();
    accepting_stopped.set_value();
  });
  accepting_stopped.get_future().wait();
  for (size_t i = 1; i < loops_.size(); ++i) {
    Loop* l = loops_[i].get();
    l->events().Post([l] { l->BeginDrain(); });
  }
  for (auto& t : loop_threads_) t.join();
  loop_threads_.clear();
  workers_.reset();  // runs what was submitted, then joins
  {
    std::unique_lock lock(streams_mu_);
    streams_cv_.wait(lock, [this] { return streams_ == 0; });
  }
  loops_.clear();
  if (api_fd_ >= 0) ::close(api_fd_);
  if (web_fd_ >= 0) ::close(web_fd_);
  api_fd_ = web_fd_ = -1;
}

Server::Server(const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(*this, router, std::move(options))) {}

Server::~Server() { Stop(); }

Status Server::Start() { return impl_->Start(&api_port_, &web_port_); }

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  impl_->Stop();
}

}  // namespace migsbyu::portal
