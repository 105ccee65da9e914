#include "portal/connection_loop.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/log.h"
#include "portal/response_writer.h"

namespace migsbyu::portal {
namespace {

constexpr std::string_view kApiPrefix = "/api";

// The path of a request target as sent: "/a%20b" of "/a%20b?x=1" or of "http://host/a%20b".
std::string RawPath(std::string_view target) {
  if (!target.starts_with('/')) {
    const size_t scheme_end = target.find("://");
    target =
        scheme_end == std::string_view::npos ? std::string_view() : target.substr(scheme_end + 3);
    const size_t path_start = target.find_first_of("/?");
    target = path_start == std::string_view::npos ? std::string_view() : target.substr(path_start);
  }
  target = target.substr(0, target.find('?'));
  return target.empty() ? std::string("/") : std::string(target);
}

// A decoded path percent-encoded again, so that it may go into a header: every byte but the
// unreserved ones, the sub-delimiters, ':', '@' and '/' becomes %XX.
std::string EncodePath(std::string_view path) {
  static constexpr std::string_view kKeep = "-._~!$&'()*+,;=:@/";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (std::isalnum(c) || kKeep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kKeptBufferBytes = 256 * 1024;

}  // namespace

int ConnectionCounts::Admit(const std::string& peer, bool exempt, size_t max_total,
                            size_t max_per_client) {
  std::lock_guard lock(mu_);
  if (open_ >= max_total) return 503;
  if (!exempt) {
    size_t& n = per_client_[peer];
    if (n >= max_per_client) {
      if (n == 0) per_client_.erase(peer);
      return 429;
    }
    ++n;
  }
  ++open_;
  return 0;
}

void ConnectionCounts::Release(const std::string& peer, bool exempt) {
  std::lock_guard lock(mu_);
  --open_;
  if (exempt) return;
  auto it = per_client_.find(peer);
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

size_t ConnectionCounts::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

void ConnectionLoop::Run() {
  if (const auto* executors = context_.router.query_executors()) {
    executor_ = executors->ForLoop(loop_, index_, context_.loops);
  }
  loop_.RunAfter(SweepPeriod(), [this] { Sweep(); });
  loop_.Run();
  // Whatever is left after the drain deadline is closed; pending callbacks find no connection.
  conns_.clear();
  executor_.reset();
}

void ConnectionLoop::Adopt(UniqueFd fd, Listener listener, std::string peer, int refusal) {
  auto c = std::make_unique<Conn>();
  c->id = next_id_++;
  c->listener = listener;
  c->peer = std::move(peer);
  c->counted = refusal == 0;
  c->exempt = context_.policy.IsTrustedProxy(c->peer);
  c->last_active = c->head_started = Clock::now();
  const uint64_t id = c->id;
  if (context_.tls) {
    auto session = TlsSession::Accept(*context_.tls, fd.Get());
    if (session.ok()) {
      c->tls = std::make_unique<TlsSession>(std::move(session).value());
      c->handshaking = true;
    }
  }
  const bool watched =
      !draining_ && (c->tls || !context_.tls) &&
      loop_.Watch(fd.Get(), EPOLLIN, [this, id](uint32_t events) { OnEvents(id, events); });
  if (!watched) {
    if (c->counted) context_.connections.Release(c->peer, c->exempt);
    return;  // closed
  }
  c->fd = std::move(fd);
  Conn& conn = *conns_.emplace(id, std::move(c)).first->second;
  if (refusal == 0) return;
  const ServerOptions& o = context_.options;
  conn.refusal = refusal;
  if (refusal == 503) {
    conn.refusal_detail =
        "The server has its most connections open (" + std::to_string(o.max_connections) + ")";
    context_.refusals.Record(Refusal::kConnections, conn.peer, conn.refusal_detail);
  } else {
    conn.refusal_detail = "Too many connections from " + conn.peer + " (at most " +
                          std::to_string(o.max_connections_per_client) + ")";
    context_.refusals.Record(Refusal::kClientConnections, conn.peer, conn.refusal_detail);
  }
  if (!conn.handshaking) RefuseAndClose(conn, conn.refusal, conn.refusal_detail);
}

void ConnectionLoop::AddStats(LoopStats* stats) const {
  stats->connections += conns_.size();
  for (const auto& [id, c] : conns_) stats->buffered_bytes += c->in.size() + c->out.size();
}

void ConnectionLoop::RefuseAndClose(Conn& c, int status, const std::string& detail) {
  c.busy = true;
  c.in.clear();
  c.file.Reset();
  c.keep_alive = false;
  c.head = false;
  c.cors_origin.clear();
  c.out.clear();  // whatever was on its way is cut: the connection ends here
  c.out_sent = 0;
  Respond(c, ErrorResponse(status, detail));
}

std::chrono::milliseconds ConnectionLoop::SweepPeriod() const {
  const ServerOptions& o = context_.options;
  auto shortest = std::min({o.head_timeout, o.body_timeout, o.send_timeout,
                            std::chrono::milliseconds(o.keep_alive_seconds * 1000)});
  return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

void ConnectionLoop::OnEvents(uint64_t id, uint32_t events) {
  Conn* c = Find(id);
  if (c == nullptr) return;
  if (events & (EPOLLERR | EPOLLHUP)) {
    // The client is gone (reset, or closed both ways): an answer in progress has nowhere to go.
    Close(id);
    return;
  }
  if (c->handshaking) return Handshake(*c);
  // A TLS read that waited for the socket to be writable, or a write that waited for it to be
  // readable: both are tried again.
  const bool retry = c->tls_wants != 0;
  if (retry) {
    c->tls_wants = 0;
    Watch(*c);
  }
  if ((events & EPOLLOUT) || (retry && Pending(*c))) {
    Flush(*c);
    c = Find(id);
    if (c == nullptr) return;
  }
  if (((events & EPOLLIN) || retry) && c->reading) Read(*c);
}

void ConnectionLoop::Read(Conn& c) {
  const uint64_t id = c.id;
  char buf[kReadChunk];
  // At most 16 chunks per wake-up: a client that sends without pause does not keep the loop
  // from its other connections (level-triggered, the rest is read on the next pass).
  bool more = false;  // stopped by the bound, not because the socket was drained
  for (int chunks = 0;; ++chunks) {
    if (chunks == 16) {
      more = true;
      break;
    }
    const ssize_t n = ReceiveSome(c, buf, sizeof buf);
    // What the client still sends after its answer, or to its event stream, is dropped.
    if (n > 0 && (c.lingering || c.stream)) continue;
    if (n > 0) {
      if (c.in.empty() && !c.busy && !c.fresh) c.head_started = Clock::now();
      c.in.append(buf, static_cast<size_t>(n));
      // Drained: spare the EAGAIN call (a TLS record is at most 16 KiB: read on).
      if (!c.tls && static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) {
      c.read_closed = true;
      break;
    }
    if (n == kWait) break;
    Close(id);
    return;
  }
  // Plaintext that TLS has decrypted already makes no epoll event: it is read on the next pass.
  if (more && c.tls && c.tls->Pending() > 0) {
    loop_.Post([this, id] {
      if (Conn* again = Find(id); again != nullptr && again->reading) Read(*again);
    });
  }
  if (c.lingering || c.stream) {
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
  const size_t backlog_limit = context_.limits.max_head_bytes + context_.limits.max_body_bytes;
  const bool reading = !still->read_closed && !(still->busy && still->in.size() > backlog_limit);
  if (reading != still->reading) {
    still->reading = reading;
    Watch(*still);
  }
}

void ConnectionLoop::Watch(Conn& c) {
  loop_.Modify(c.fd.Get(), (c.reading ? EPOLLIN : 0) | (c.writing ? EPOLLOUT : 0) | c.tls_wants);
}

void ConnectionLoop::Process(Conn& c) {
  // Answering a request may finish at once and come back here (Respond, Flush): the outer call
  // takes the next pipelined request, so that a long pipeline does not nest calls.
  if (c.processing) return;
  c.processing = true;
  const uint64_t id = c.id;
  for (Conn* cur = &c; cur != nullptr && !cur->busy && !cur->in.empty(); cur = Find(id)) {
    http::ParseResult parsed = http::ParseRequest(cur->in, context_.limits);
    if (parsed.status == http::ParseStatus::kIncomplete) {
      if (parsed.head_complete && cur->body_started == Clock::time_point()) {
        cur->body_started = Clock::now();
      }
      if (parsed.expects_continue && !cur->continue_sent) {
        // A request the policy refuses gets its refusal instead, before its body is sent.
        RequestPolicy::Verdict verdict =
            context_.policy.Check(parsed.request, static_cast<size_t>(cur->listener), cur->peer);
        if (verdict.status != 0) {
          context_.refusals.Record(verdict.kind, cur->peer, verdict.detail);
          cur->busy = true;
          cur->in.clear();
          cur->keep_alive = false;
          cur->head = false;
          Respond(*cur, ErrorResponse(verdict.status, verdict.detail));
          continue;
        }
        cur->continue_sent = true;
        cur->out.append("HTTP/1.1 100 Continue\r\n\r\n");
        Flush(*cur);
      }
      break;
    }
    cur->busy = true;
    cur->fresh = false;
    cur->body_started = Clock::time_point();
    if (parsed.status == http::ParseStatus::kError) {
      // The stream cannot be trusted past a malformed request: answer and close.
      cur->in.clear();
      cur->keep_alive = false;
      cur->head = false;
      std::string detail = parsed.error_detail;
      if (parsed.error_status == 413) {
        detail = "Request body larger than " + std::to_string(context_.options.max_body_bytes) +
                 " bytes";
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

void ConnectionLoop::Dispatch(Conn& c, http::ParsedRequest parsed) {
  c.head = parsed.method == "HEAD";
  c.keep_alive = parsed.keep_alive && !draining_;
  c.minor_version = parsed.minor_version;
  c.cors_origin.clear();

  RequestPolicy::Verdict verdict =
      context_.policy.Check(parsed, static_cast<size_t>(c.listener), c.peer);
  if (verdict.status != 0) {
    context_.refusals.Record(verdict.kind, c.peer, verdict.detail);
    return Respond(c, ErrorResponse(verdict.status, verdict.detail));
  }
  c.cors_origin = std::move(verdict.cors_origin);
  if (verdict.preflight) return Respond(c, RequestPolicy::PreflightResponse());

  std::string path = std::move(parsed.path);
  std::string prefix;
  if (c.listener == Listener::kWeb) {
    if (path == kApiPrefix || path.starts_with(std::string(kApiPrefix) + "/")) {
      prefix = kApiPrefix;
      path = path.size() == kApiPrefix.size() ? "/" : path.substr(kApiPrefix.size());
    } else {
      // The front-end's files: opened on a worker, checked on the path as the client sent it.
      const uint64_t id = c.id;
      context_.workers->Submit(
          [this, id, method = std::move(parsed.method), raw = RawPath(parsed.target)] {
            // Shared, because a task is a copyable std::function.
            auto file = std::make_shared<StaticFile>(context_.static_files.Serve(method, raw));
            loop_.Post([this, id, file] { CompleteFile(id, std::move(*file)); });
          });
      return;
    }
  }

  const Router& router = context_.router;
  auto match = router.Find(parsed.method, path);
  if (match.route == nullptr) {
    if (match.path_matched) return Respond(c, ErrorResponse(405, "Method Not Allowed"));
    // As FastAPI does: /students redirects to /students/ (and the reverse), query kept. The
    // location is the decoded path encoded again, never the bytes received.
    std::string other = path.ends_with("/") ? path.substr(0, path.size() - 1) : path + "/";
    if (!other.empty() && router.Find(parsed.method, other).route != nullptr) {
      std::string location = prefix + EncodePath(other);
      Response out = ErrorResponse(307, "Moved to " + location);
      // The raw query is safe to copy: the parser refuses a target with a control character.
      if (!parsed.query_string.empty()) location += "?" + parsed.query_string;
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
  request.peer = std::move(verdict.peer);
  const Router::Route* route = match.route;
  const uint64_t id = c.id;

  if (const Gate* gate = router.gate()) {
    if (!route->doc.permission) {
      MIGSBYU_LOG_ERROR("portal: {} {} declares no permission; refused", route->method,
                        route->pattern);
      return Respond(c, ErrorResponse(403, "Forbidden"));
    }
    Gate::Admission admission = gate->Admit(request, *route->doc.permission);
    if (admission.refusal) return Complete(id, std::move(*admission.refusal), prefix);
    request.principal = std::move(admission.principal);
  }

  if (route->stream) return Subscribe(c, *context_.streams->ChannelOf(route));

  if (route->query) {
    std::variant<Response, DbCall> reply;
    try {
      reply = route->query(request);
    } catch (const std::exception& e) {
      reply = Response::FromError(
          Error::Internal(request.method + " " + request.path + ": " + e.what()));
    }
    if (auto* now = std::get_if<Response>(&reply)) return Complete(id, std::move(*now), prefix);
    if (executor_ == nullptr) {
      return Respond(c, Response::FromError(
                            Error::Unavailable("no database is configured for " + route->pattern)));
    }
    DbCall call = std::move(std::get<DbCall>(reply));
    executor_->Run(std::move(call.query),
                   [this, id, prefix, finish = std::move(call.finish),
                    what = request.method + " " + request.path](oltp::QueryOutcome outcome) {
                     Response out;
                     try {
                       out = finish(std::move(outcome));
                     } catch (const std::exception& e) {
                       out = Response::FromError(Error::Internal(what + ": " + e.what()));
                     }
                     Complete(id, std::move(out), prefix);
                   });
    return;
  }

  WorkerPool& lane = route->lane == Lane::kSlow ? *context_.slow_workers : *context_.workers;
  lane.Submit([this, id, route, prefix, request = std::move(request)] {
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

void ConnectionLoop::Complete(uint64_t id, Response response, std::string prefix) {
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

void ConnectionLoop::Respond(Conn& c, const Response& r, bool route_table,
                             std::optional<uint64_t> content_length) {
  if (draining_) c.keep_alive = false;
  if (!c.keep_alive) c.close_after = true;
  Framing framing;
  framing.head = c.head;
  framing.keep_alive = c.keep_alive;
  framing.minor_version = c.minor_version;
  framing.route_table = route_table;
  framing.content_length = content_length;
  framing.cors_origin = c.cors_origin;
  framing.tls = c.tls != nullptr;
  if (c.out_sent == c.out.size()) c.send_progress = Clock::now();
  if (!AppendResponse(r, framing, &c.out)) c.file.Reset();  // a 500 instead: nothing follows
  c.responding = true;
  Flush(c);
}

void ConnectionLoop::Flush(Conn& c) {
  const uint64_t id = c.id;
  while (true) {
    if (c.out_sent == c.out.size()) {
      if (!c.file) break;
      if (!ReadFilePiece(c)) return;  // closed
    }
    const ssize_t n = SendSome(c, c.out.data() + c.out_sent, c.out.size() - c.out_sent);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.send_progress = Clock::now();
      continue;
    }
    if (n == kWait) {
      if (!c.writing) {
        c.writing = true;
        Watch(c);
      }
      return;
    }
    if (n == kWaitReadable) return;
    Close(id);  // the client is gone
    return;
  }
  // A large response's buffer is not kept for the connection's next small ones.
  if (c.out.capacity() > kKeptBufferBytes) {
    std::string().swap(c.out);
  } else {
    c.out.clear();
  }
  c.out_sent = 0;
  if (c.writing) {
    c.writing = false;
    Watch(c);
  }
  if (!c.responding) return;  // only "100 Continue" went out
  c.responding = false;
  c.busy = false;
  c.last_active = c.head_started = Clock::now();  // a pipelined head's deadline starts now
  if (c.close_after || (c.read_closed && c.in.empty())) {
    Linger(c);
    MaybeFinishDrain();
    return;
  }
  if (!c.reading && !c.read_closed) {
    c.reading = true;
    Watch(c);
    // Under TLS, bytes decrypted while reading was off make no epoll event.
    if (c.tls && c.tls->Pending() > 0) {
      loop_.Post([this, id] {
        if (Conn* again = Find(id); again != nullptr && again->reading) Read(*again);
      });
    }
  }
  // The next pipelined request, if its bytes are already here.
  Process(c);
  MaybeFinishDrain();
}

void ConnectionLoop::Close(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  const Conn& c = *it->second;
  loop_.Unwatch(c.fd.Get());
  if (c.tls && !c.handshaking && !c.lingering) c.tls->Shutdown();
  if (c.counted) context_.connections.Release(c.peer, c.exempt);
  if (c.stream) {
    context_.streams->RemoveSubscriber(*c.stream);
    std::erase(subscribers_[*c.stream], id);
  }
  conns_.erase(it);  // closes the socket
}

void ConnectionLoop::Abort(uint64_t id) {
  if (Conn* c = Find(id)) {
    linger reset{1, 0};
    ::setsockopt(c->fd.Get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  Close(id);
}

void ConnectionLoop::Linger(Conn& c) {
  // Closing with unread bytes from the client (the rest of a refused body, a request behind a
  // malformed one) would reset the connection, and the client could lose the response it has not
  // read yet. So: shut the sending side (the client sees the end after the response), read and
  // drop what still comes until the client closes too, for at most a second.
  if (c.read_closed || draining_) {
    Close(c.id);
    return;
  }
  if (c.tls) c.tls->Shutdown();
  ::shutdown(c.fd.Get(), SHUT_WR);
  c.lingering = true;
  c.in.clear();
  c.reading = true;
  c.busy = true;  // not idle: Sweep ends it by its own deadline
  c.last_active = Clock::now();
  Watch(c);
}

void ConnectionLoop::Sweep() {
  const ServerOptions& o = context_.options;
  const auto keep_alive = std::chrono::seconds(o.keep_alive_seconds);
  const auto linger = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), o.head_timeout);
  const auto now = Clock::now();
  std::vector<uint64_t> close;
  std::vector<std::pair<uint64_t, Refusal>> late;
  for (const auto& [id, c] : conns_) {
    if (c->lingering) {
      if (now - c->last_active > linger) close.push_back(id);
    } else if (Pending(*c)) {
      if (now - c->send_progress > o.send_timeout) late.emplace_back(id, Refusal::kSendTimeout);
    } else if (c->busy) {
      // A request is with its handler: the handler's own limits bound it.
    } else if (c->body_started != Clock::time_point()) {
      if (now - c->body_started > o.body_timeout) late.emplace_back(id, Refusal::kBodyTimeout);
    } else if (!c->in.empty()) {
      if (now - c->head_started > o.head_timeout) late.emplace_back(id, Refusal::kHeadTimeout);
    } else if (now - c->last_active >
               (c->fresh ? std::min<std::chrono::milliseconds>(keep_alive, o.head_timeout)
                         : keep_alive)) {
      close.push_back(id);  // idle
    }
  }
  for (uint64_t id : close) Close(id);
  for (const auto& [id, kind] : late) {
    Conn* c = Find(id);
    if (c == nullptr) continue;
    if (kind == Refusal::kSendTimeout) {
      context_.refusals.Record(kind, c->peer,
                               "took no byte for " + std::to_string(o.send_timeout.count()) +
                                   " ms; closed with " +
                                   std::to_string(c->out.size() - c->out_sent) + " bytes unsent");
      Abort(id);
    } else if (kind == Refusal::kBodyTimeout) {
      const std::string detail =
          "Request body not received within " + std::to_string(o.body_timeout.count()) + " ms";
      context_.refusals.Record(kind, c->peer, detail);
      RefuseAndClose(*c, 408, detail);
    } else {
      const std::string detail =
          "Request head not received within " + std::to_string(o.head_timeout.count()) + " ms";
      context_.refusals.Record(kind, c->peer, detail);
      RefuseAndClose(*c, 408, detail);
    }
  }
  MaybeFinishDrain();
  loop_.RunAfter(SweepPeriod(), [this] { Sweep(); });
}

void ConnectionLoop::BeginDrain() {
  draining_ = true;
  std::vector<uint64_t> idle;
  std::vector<uint64_t> streams;
  for (const auto& [id, c] : conns_) {
    if (c->stream && !c->close_after) {
      streams.push_back(id);
    } else if (c->busy) {
      c->close_after = true;
    } else {
      idle.push_back(id);
    }
  }
  for (uint64_t id : idle) Close(id);
  for (uint64_t id : streams) {
    if (Conn* c = Find(id)) EndStream(*c);
  }
  loop_.RunAfter(std::chrono::seconds(context_.options.drain_seconds), [this] {
    if (!conns_.empty()) {
      MIGSBYU_LOG_WARN("portal: {} requests still unanswered after {} s; closing them",
                       conns_.size(), context_.options.drain_seconds);
    }
    loop_.Stop();
  });
  MaybeFinishDrain();
}

void ConnectionLoop::MaybeFinishDrain() {
  if (draining_ && conns_.empty()) loop_.Stop();
}

}  // namespace migsbyu::portal
