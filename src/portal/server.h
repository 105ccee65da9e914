// The portal's HTTP/1.1 server: serves a Router on two addresses.
//
//   API address (default 127.0.0.1:8000): the route table at its own paths.
//   Web address (default 127.0.0.1:8501): the same table under /api (GET /api/students/), and
//     the built front-end from a folder (static_files.h: only files inside it, never read whole).
//
// Every error, including those the HTTP layer produces itself (400 for a malformed request, 413
// for a body over the limit, 404 for an unknown path, 405 for a known path with another method),
// is JSON {"detail": ...}. Keep-alive and pipelined requests are served in order; a response is
// written with one send when the socket takes it. Event-stream routes are sent as
// text/event-stream, chunked for HTTP/1.1, until the client goes or the server stops.
//
// Every request passes the checks of request_policy.h before it is routed (its Host, Origin,
// CORS and content type), then the router's Gate, and every response carries the headers of
// response_writer.h. The limits below bound what a client can make the server hold: connections
// (in all and per address), the time for a request's head and body, the time a client may stop
// reading, event-stream subscribers and their queues. Each refusal is answered with its status
// when an answer can still be sent, and logged (refusals.h). With a certificate and key, both
// addresses speak TLS only (tls.h). docs/SECURITY.md, "HTTP surface", says why each is there.
//
// The parts: listener.h (binding, addresses), connection_loop.h (the connections' state
// machine on each loop), response_writer.h, static_files.h, worker_pool.h, event_streams.h,
// request_policy.h, tls.h.
//
// Threading: `event_loops` threads (one per core by default) each run an EventLoop that owns its
// share of the client connections (handed out in turn by the first loop, which accepts) and its
// own QueryExecutor for the query routes' statements (Router::SetQueryExecutors):
//   - a query route (Router::AddQuery) runs on its connection's loop from the request's bytes to
//     the response's, its statement sent without blocking: no hand-off between threads;
//   - an ordinary route, which may block, runs on one of `threads` workers (the fast lane) or, if
//     Router::UseSlowLane names it, one of `slow_threads` (the slow lane), and its response goes
//     back to the loop to be written; static files are opened on the fast lane;
//   - an event stream's publisher runs on a thread of its own, one per stream route, owned by
//     the server; its subscribers stay on their loops.
// Start, Stop and GetStats are called from one controlling thread. Stop stops accepting, ends
// event streams, lets requests in flight finish (at most `drain_seconds`), and returns when every
// thread has ended.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "portal/listener.h"
#include "portal/router.h"

namespace migsbyu::portal {

struct ServerOptions {
  std::string api_address = "127.0.0.1:8000";  // host:port; port 0 picks a free one
  std::string web_address = "127.0.0.1:8501";  // empty: no web listener
  std::string web_dir = "web/dist";
  int event_loops = 0;              // threads serving connections; 0: one per core
  int threads = 32;                 // workers for the routes that may block
  size_t max_body_bytes = 1 << 20;  // larger bodies get 413
  int keep_alive_seconds = 5;       // an idle keep-alive connection is closed after this
  int drain_seconds = 30;           // Stop waits this long for requests in flight

  // Limits: each refusal is answered with its status (when an answer can still be sent) and
  // logged, at most once a second per kind (refusals.h).
  size_t max_connections = 4096;            // open over both listeners; more are answered 503
  size_t max_connections_per_client = 256;  // from one address (not a proxy's); more get 429
  // The whole request head must arrive within head_timeout of its first byte (of the accept, for
  // a connection's first request; a TLS handshake included), else 408; the body within
  // body_timeout of the head's end, else 408. A client that stops reading is closed once
  // send_timeout passes without it taking a byte.
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds send_timeout{30'000};
  // Event-stream subscribers over all stream routes (more get 503), and the bytes each may have
  // queued: one that falls further behind is dropped.
  size_t max_event_streams = 256;
  size_t event_stream_queue_bytes = 1 << 20;
  int slow_threads = 8;  // workers of the slow lane (Router::UseSlowLane: analytics, the console)

  // HTTPS: with both, a PEM certificate chain and its PEM key, both listeners speak TLS only.
  // Without them, a listener on an address that is not loopback is refused at Start, unless
  // trusted_proxies names the reverse proxy that terminates TLS in front of the server.
  std::string tls_cert;
  std::string tls_key;

  // Who may call (request_policy.h). Host names besides the bound address (NAME or NAME:PORT)
  // that clients may use: the name a proxy or DNS gives the server.
  std::vector<std::string> public_hosts;
  // Origins (scheme://host[:port]) whose pages may call the API cross-origin; none by default.
  std::vector<std::string> cors_origins;
  // Addresses of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed.
  std::vector<std::string> trusted_proxies;
};

class Server {
 public:
  // REQUIRES: `router` outlives the server and is not modified once Start is called.
  Server(const Router& router, ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both addresses and starts serving on background threads. kUnavailable naming the
  // address when it cannot be bound (in use, not a local address). kInvalidArgument for a
  // setting that cannot work: one of tls_cert and tls_key without the other, a certificate or key
  // that does not load, plain HTTP on a non-loopback address without a proxy, a malformed public
  // host, origin or proxy address.
  Status Start();

  // The bound ports (useful with port 0); 0 before Start or without that listener.
  int api_port() const { return api_port_; }
  int web_port() const { return web_port_; }

  // Graceful: stops accepting, finishes requests in flight, ends event streams. Idempotent.
  void Stop();

  // True once Stop has begun.
  bool stopping() const { return stopping_.load(); }

  // What the server holds now, and what it has refused so far. Asks every loop and waits for
  // their answers (a loop pass): for tests and monitoring, not for a request's path.
  // REQUIRES: the server has started and Stop has not begun.
  struct Stats {
    size_t connections = 0;                   // open, on both listeners
    size_t event_streams = 0;                 // subscribers
    size_t buffered_bytes = 0;                // in the connections' buffers (received, or to send)
    std::map<std::string, uint64_t> refused;  // by kind (refusals.h RefusalName)
  };
  Stats GetStats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  int api_port_ = 0;
  int web_port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace migsbyu::portal
