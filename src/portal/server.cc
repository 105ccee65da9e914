#include "portal/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace migsbyu::portal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kApiPrefix = "/api";

void Send(httplib::Response& res, const Response& out) {
  res.status = out.status;
  for (const auto& [name, value] : out.headers) res.set_header(name, value);
  res.set_content(out.body, out.content_type);
}

void SendError(httplib::Response& res, int status, const std::string& detail) {
  Send(res, Response::Json({{"detail", detail}}, status));
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "HTTP error " + std::to_string(status);
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

// An EventWriter over httplib's chunked sink.
class SinkWriter : public EventWriter {
 public:
  SinkWriter(httplib::DataSink& sink, const std::atomic<bool>& stopping)
      : sink_(sink), stopping_(stopping) {}
  bool Send(std::string_view event, std::string_view data) override {
    if (stopping_.load() || !sink_.is_writable()) return false;
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
    return sink_.write(message.data(), message.size());
  }

 private:
  httplib::DataSink& sink_;
  const std::atomic<bool>& stopping_;
};

Request ToRequest(const httplib::Request& req, std::string path) {
  Request r;
  r.method = req.method;
  r.path = std::move(path);
  for (const auto& [k, v] : req.params) r.query.emplace(k, v);
  for (const auto& [k, v] : req.headers) {
    std::string name = k;
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers.emplace(std::move(name), v);
  }
  r.body = req.body;
  return r;
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

Server::Server(const Router& router, ServerOptions options)
    : router_(router), options_(std::move(options)) {}

Server::~Server() { Stop(); }

void Server::Configure(httplib::Server& http, bool with_web) {
  const size_t threads = options_.threads > 0 ? static_cast<size_t>(options_.threads) : 1;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options_.max_body_bytes);
  http.set_keep_alive_max_count(1'000'000);
  http.set_keep_alive_timeout(options_.keep_alive_seconds);
  http.set_tcp_nodelay(true);

  auto serve_route = [this](const httplib::Request& req, httplib::Response& res,
                            const std::string& path, std::string_view prefix) {
    auto match = router_.Find(req.method, path);
    if (match.route == nullptr) {
      if (match.path_matched) return SendError(res, 405, "Method Not Allowed");
      // As FastAPI does: /students redirects to /students/ (and the reverse), query kept.
      std::string other = path.ends_with("/") ? path.substr(0, path.size() - 1) : path + "/";
      if (!other.empty() && router_.Find(req.method, other).route != nullptr) {
        auto query = req.target.find('?');
        res.status = 307;
        res.set_header("Location",
                       std::string(prefix) + other +
                           (query == std::string::npos ? "" : req.target.substr(query)));
        return SendError(res, 307, "Moved to " + std::string(prefix) + other);
      }
      return SendError(res, 404, "Not Found");
    }
    Request request = ToRequest(req, path);
    request.path_params = std::move(match.params);
    const Router::Route* route = match.route;
    if (route->stream) {
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Accel-Buffering", "no");
      res.set_chunked_content_provider(
          "text/event-stream",
          [this, route, request = std::move(request)](size_t, httplib::DataSink& sink) {
            SinkWriter writer(sink, stopping_);
            route->stream(request, writer);
            sink.done();
            return true;
          });
      return;
    }
    Response out;
    try {
      out = route->handler(request);
    } catch (const std::exception& e) {
      out = Response::FromError(Error::Internal(req.method + " " + path + ": " + e.what()));
    }
    // Redirects inside the table stay inside the prefix it is served under.
    for (auto& [name, value] : out.headers) {
      if (name == "Location" && value.starts_with("/")) value = std::string(prefix) + value;
    }
    Send(res, out);
  };

  auto serve_file = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      return SendError(res, 405, "Method Not Allowed");
    }
    if (!IsSafeRelativePath(req.path)) return SendError(res, 404, "Not Found");
    const fs::path root(options_.web_dir);
    const bool asset = req.path.starts_with("/assets/");
    fs::path file = root / fs::path(req.path.substr(1));
    std::error_code ec;
    if (req.path.size() <= 1 || !fs::is_regular_file(file, ec)) {
      // A client-side route: the single page answers it. Missing assets stay missing.
      if (asset) return SendError(res, 404, "Not Found");
      file = root / "index.html";
    }
    std::string content;
    if (!ReadFile(file, &content)) {
      return SendError(res, 404,
                       "The web front-end is not built: no " + file.string() + " (run `make web`)");
    }
    res.set_header("Cache-Control", asset ? "public, max-age=31536000, immutable" : "no-cache");
    res.set_content(std::move(content), MimeType(file));
  };

  auto handle = [with_web, serve_route, serve_file](const httplib::Request& req,
                                                    httplib::Response& res) {
    if (!with_web) return serve_route(req, res, req.path, "");
    const std::string& path = req.path;
    if (path == kApiPrefix || path.starts_with(std::string(kApiPrefix) + "/")) {
      std::string rest = path.substr(kApiPrefix.size());
      return serve_route(req, res, rest.empty() ? "/" : rest, kApiPrefix);
    }
    serve_file(req, res);
  };
  http.Get(".*", handle);
  http.Post(".*", handle);
  http.Put(".*", handle);
  http.Patch(".*", handle);
  http.Delete(".*", handle);
  http.Options(".*", handle);

  // Errors raised by the HTTP layer itself (413, 400, 414...) come with an empty body.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string detail = ReasonPhrase(res.status);
        if (res.status == 413) {
          detail = "Request body larger than " + std::to_string(options_.max_body_bytes) + " bytes";
        }
        SendError(res, res.status, detail);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Send(res, Response::FromError(Error::Internal(req.method + " " + req.path + ": " + what)));
      });
}

Status Server::Start() {
  auto bind = [this](const std::string& address, bool with_web,
                     std::unique_ptr<httplib::Server>* server, int* bound_port) -> Status {
    MIGSBYU_ASSIGN(auto host_port, ParseAddress(address));
    auto http = std::make_unique<httplib::Server>();
    Configure(*http, with_web);
    // httplib listens with a backlog of 5, which refuses bursts of new clients: remember the
    // socket so that its backlog can be raised once bound.
    auto listening = std::make_shared<int>(-1);
    http->set_socket_options([listening](int sock) {
      httplib::default_socket_options(sock);
      *listening = sock;
    });
    int port = host_port.second;
    if (port == 0) {
      port = http->bind_to_any_port(host_port.first);
      if (port < 0) port = 0;
    } else if (!http->bind_to_port(host_port.first, port)) {
      port = 0;
    }
    if (port == 0) return Error::Unavailable("cannot listen on " + address + " (in use?)");
    if (*listening >= 0) ::listen(*listening, SOMAXCONN);
    *bound_port = port;
    httplib::Server* raw = http.get();
    *server = std::move(http);
    threads_.emplace_back([raw] { raw->listen_after_bind(); });
    // Until the accept loop runs, httplib's stop() would not end it: wait for it (bounded).
    for (int i = 0; i < 5000 && !raw->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return OkStatus();
  };
  MIGSBYU_TRY(bind(options_.api_address, false, &api_, &api_port_));
  if (!options_.web_address.empty()) {
    auto web = bind(options_.web_address, true, &web_, &web_port_);
    if (!web.ok()) {
      Stop();
      return web;
    }
  }
  return OkStatus();
}

void Server::Stop() {
  stopping_ = true;
  // listen_after_bind may not have reached its loop yet: stop() then closes the socket and the
  // loop ends at once.
  if (api_) api_->stop();
  if (web_) web_->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace migsbyu::portal
