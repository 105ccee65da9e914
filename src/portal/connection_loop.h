// ConnectionLoop: one event-loop thread's share of the portal server's client connections.
//
// Each connection lives on one loop from accept to close and goes through one state machine:
// (under TLS) the handshake, then read bytes, parse a request (http_parser.h), check it
// (request_policy.h), dispatch it, write the response, then the next request (keep-alive,
// pipelining) or close. A connection over a cap is answered 503 or 429 and closed instead; one
// whose head or body does not arrive in time is answered 408; one that takes no byte of its answer
// for the send timeout is reset. A periodic sweep looks at these deadlines. Dispatch depends on
// the route:
//   - a query route runs on this loop, its statement handed to the loop's own QueryExecutor
//     (made by the router's factory), the response written when the outcome is there;
//   - an ordinary route, which may block, runs on a worker (worker_pool.h) and its response is
//     posted back to this loop to be written;
//   - a route of the slow lane (Router::UseSlowLane) runs on the slow lane's workers;
//   - static files are opened by a fast-lane worker, and streamed from the loop;
//   - an event stream's subscriber stays on the loop: the publisher's events are posted here and
//     queued (bounded) on the connection.
// A response is written with one send when the socket takes it; the rest waits for EPOLLOUT.
//
// The class is defined in three files: connection_loop.cc (accepting, reading, parsing,
// dispatching, responding, deadlines, drain), connection_io.cc (reads and writes through TLS or
// not, the handshake) and connection_streaming.cc (static files' rest, event streams).
//
// Threading: everything but the constructor and events() runs on the loop's thread (Run's
// caller): Adopt, BeginDrain and Complete are posted there by the other threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "oltp/query_executor.h"
#include "portal/event_streams.h"
#include "portal/http_parser.h"
#include "portal/refusals.h"
#include "portal/request_policy.h"
#include "portal/router.h"
#include "portal/server.h"
#include "portal/static_files.h"
#include "portal/tls.h"
#include "portal/worker_pool.h"

namespace migsbyu::portal {

enum class Listener { kApi, kWeb };

// The open connections, in all and per client address, against the server's caps.
// Threading: thread-safe (a mutex, taken once per connection, not per request).
class ConnectionCounts {
 public:
  // Counts a new connection from `peer` unless that would pass a cap: 0 if counted, else the
  // status to refuse it with (503 over `max_total`, 429 over `max_per_client`; the second cap is
  // not applied when `exempt`, a trusted proxy carrying many clients).
  int Admit(const std::string& peer, bool exempt, size_t max_total, size_t max_per_client);
  // Uncounts a connection Admit counted.
  void Release(const std::string& peer, bool exempt);
  size_t open() const;

 private:
  mutable std::mutex mu_;
  size_t open_ = 0;
  std::unordered_map<std::string, size_t> per_client_;
};

// A loop's share of Server::Stats.
struct LoopStats {
  size_t connections = 0;
  size_t buffered_bytes = 0;  // received and not parsed, or to send
};

// What the server's loops share: set before the loops run, and thread-safe from then on.
struct ServerContext {
  ServerContext(const Router& r, const ServerOptions& o)
      : router(r), options(o), static_files(o.web_dir) {}

  const Router& router;
  const ServerOptions& options;
  http::Limits limits;
  RequestPolicy policy;  // listeners numbered as Listener
  Refusals refusals;
  ConnectionCounts connections;
  StaticFiles static_files;
  std::unique_ptr<WorkerPool> workers;       // the fast lane: ordinary routes, static files
  std::unique_ptr<WorkerPool> slow_workers;  // the slow lane: routes under Router::UseSlowLane
  std::unique_ptr<EventStreams> streams;
  std::unique_ptr<TlsContext> tls;  // set: both listeners speak TLS only
  size_t loops = 1;                 // how many ConnectionLoops share the database's executors
  std::atomic<bool> stopping{false};
};

class ConnectionLoop {
 public:
  // `index` is this loop's place among the server's loops (0 accepts).
  ConnectionLoop(ServerContext& context, size_t index) : context_(context), index_(index) {}
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Thread-safe: Post, Stop; the loop's own thread: the rest.
  EventLoop& events() { return loop_; }

  // Runs the loop until BeginDrain has closed every connection (or the drain deadline passed);
  // then closes whatever is left.
  void Run();

  // Takes a newly accepted connection from `peer` (its canonical address). `refusal` is 0 for a
  // connection ConnectionCounts admitted (and counted), else the status it is answered with
  // before it is closed. Loop thread.
  void Adopt(UniqueFd fd, Listener listener, std::string peer, int refusal);

  // Adds this loop's connections and buffers to `stats`. Loop thread.
  void AddStats(LoopStats* stats) const;

  // Appends one event of `channel` to this loop's subscribers of it; a subscriber whose queue
  // would pass options.event_stream_queue_bytes is dropped. Loop thread.
  void DeliverEvent(size_t channel, const FramesPtr& frames);

  // Stops taking requests: idle connections close, busy ones close after their response; the
  // loop ends when none is left, or after options.drain_seconds. Loop thread.
  void BeginDrain();

 private:
  using Clock = std::chrono::steady_clock;

  // One client connection.
  struct Conn {
    uint64_t id = 0;
    UniqueFd fd;
    // Under TLS: the session (after `fd`, so that it goes first), whether the handshake is still
    // on, whether the first byte was checked for plain HTTP, and the epoll events the session
    // waits for besides those of reading and writing.
    std::unique_ptr<TlsSession> tls;
    bool handshaking = false;
    bool tls_checked = false;
    uint32_t tls_wants = 0;
    // A connection over a cap: answered this once it can be (after the handshake, under TLS).
    int refusal = 0;
    std::string refusal_detail;
    Listener listener = Listener::kApi;
    std::string peer;         // the address the connection comes from
    std::string cors_origin;  // the current request's allowed cross origin
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
    Clock::time_point last_active;  // the last bytes read or response finished: keep-alive
    bool counted = false;           // by ConnectionCounts
    bool exempt = false;            // from a trusted proxy: no per-client cap
    bool fresh = true;              // no request yet
    // Deadlines: the head runs from its first byte (or, for the first request, the accept), the
    // body from the head's end; a send from the last byte the client took.
    Clock::time_point head_started;
    Clock::time_point body_started;  // {}: not in a body
    Clock::time_point send_progress;
    // An event stream's subscriber: its channel, and whether its events are chunked.
    std::optional<size_t> stream;
    bool chunked = false;
    // A static file's rest, sent from [file_offset, file_end) as `out` drains.
    UniqueFd file;
    uint64_t file_offset = 0;
    uint64_t file_end = 0;
  };

  void OnEvents(uint64_t id, uint32_t events);
  void Handshake(Conn& c);
  // One read or write on the connection, through TLS or not: bytes done (> 0), 0 at the client's
  // end of stream (reads), or one of these.
  static constexpr ssize_t kWait = -1;          // wait for the socket (EAGAIN, TLS wants it)
  static constexpr ssize_t kWaitReadable = -2;  // a TLS write waits for the socket to be readable
  static constexpr ssize_t kFailed = -3;        // the connection is broken: close it
  ssize_t ReceiveSome(Conn& c, char* buffer, size_t capacity);
  ssize_t SendSome(Conn& c, const char* data, size_t length);
  void Read(Conn& c);
  void Process(Conn& c);
  void Dispatch(Conn& c, http::ParsedRequest parsed);
  // Writes `response` for connection `id` if it is still open, its redirects kept under `prefix`.
  void Complete(uint64_t id, Response response, std::string prefix);
  // Writes a static file's answer, then streams the rest of the file.
  void CompleteFile(uint64_t id, StaticFile file);
  // Writes `response`; `route_table` answers get Cache-Control: no-store unless they set one.
  void Respond(Conn& c, const Response& response, bool route_table = true,
               std::optional<uint64_t> content_length = std::nullopt);
  // Refills `out` from the static file being sent; false (and the connection closed) on error.
  bool ReadFilePiece(Conn& c);
  void Flush(Conn& c);
  void Watch(Conn& c);
  void Close(uint64_t id);
  // Closes with a reset: for a client that stopped taking bytes, whose unsent bytes the kernel
  // would otherwise keep (and try to send) long after.
  void Abort(uint64_t id);
  void Linger(Conn& c);
  // Answers `status` and closes, whatever the connection was doing (a deadline passed).
  void RefuseAndClose(Conn& c, int status, const std::string& detail);
  bool Pending(const Conn& c) const { return c.out_sent < c.out.size() || c.file.valid(); }
  // How often Sweep looks at the deadlines: a quarter of the shortest, within [10 ms, 1 s].
  std::chrono::milliseconds SweepPeriod() const;
  // Makes the connection a subscriber of `channel` (or answers 503 over the cap).
  void Subscribe(Conn& c, size_t channel);
  // Ends a subscriber's stream (the last chunk) and closes it once that is sent.
  void EndStream(Conn& c);
  void Sweep();
  void MaybeFinishDrain();
  Conn* Find(uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  ServerContext& context_;
  const size_t index_;
  EventLoop loop_;
  std::unique_ptr<oltp::QueryExecutor> executor_;  // null without the router's executors
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<std::vector<uint64_t>> subscribers_;  // per channel, this loop's connections
  bool draining_ = false;
};

}  // namespace migsbyu::portal
