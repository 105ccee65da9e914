// The portal's HTTP server: serves a Router on two addresses over cpp-httplib.
//
//   API address (default 127.0.0.1:8000): the route table at its own paths.
//   Web address (default 127.0.0.1:8501): the same table under /api (GET /api/students/), and
//     the built front-end from a folder: files as they are, any other path that is not a file
//     (a client-side route) gets index.html. Files under /assets/ carry Vite's content hashes in
//     their names and are cached for a year (immutable); index.html is never cached.
//
// Every error, including those the HTTP layer produces itself (413 for a body over the limit,
// 404 for an unknown path, 405 for a known path with another method), is JSON {"detail": ...}.
// Event-stream routes are sent as text/event-stream with chunked transfer; a stream ends when its
// handler returns, when the client goes, or when the server stops.
//
// Threading: each listener has its own pool of `threads` workers that call the Router's handlers
// concurrently; a keep-alive connection holds a worker while it is open. Start and Stop are
// called from one controlling thread. Stop stops accepting, lets requests in flight finish, and
// returns when every worker has ended.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "portal/router.h"

namespace httplib {
class Server;
}

namespace migsbyu::portal {

struct ServerOptions {
  std::string api_address = "127.0.0.1:8000";  // host:port; port 0 picks a free one
  std::string web_address = "127.0.0.1:8501";  // empty: no web listener
  std::string web_dir = "web/dist";
  int threads = 64;                 // workers per listener
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int keep_alive_seconds = 5;       // an idle keep-alive connection is closed after this
};

// Splits "host:port". kInvalidArgument naming the address if it is not of that form.
Result<std::pair<std::string, int>> ParseAddress(const std::string& address);

class Server {
 public:
  // REQUIRES: `router` outlives the server and is not modified once Start is called.
  Server(const Router& router, ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both addresses and starts serving on background threads. kUnavailable naming the
  // address when it cannot be bound (in use, not a local address).
  Status Start();

  // The bound ports (useful with port 0); 0 before Start or without that listener.
  int api_port() const { return api_port_; }
  int web_port() const { return web_port_; }

  // Graceful: stops accepting, finishes requests in flight, ends event streams. Idempotent.
  void Stop();

  // True once Stop has begun; event streams poll it.
  bool stopping() const { return stopping_.load(); }

 private:
  void Configure(httplib::Server& http, bool with_web);

  const Router& router_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> api_;
  std::unique_ptr<httplib::Server> web_;
  std::vector<std::thread> threads_;
  int api_port_ = 0;
  int web_port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace migsbyu::portal
