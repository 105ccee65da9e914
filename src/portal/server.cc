#include "portal/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "common/log.h"
#include "portal/connection_loop.h"
#include "portal/listener.h"

namespace migsbyu::portal {

// The listeners, the loops and their threads, and what the loops share.
class Server::Impl {
 public:
  Impl(const Router& router, ServerOptions options)
      : options_(std::move(options)), context_(router, options_) {
    context_.limits.max_body_bytes = options_.max_body_bytes;
  }

  Status Start(int* api_port, int* web_port);
  void Stop();
  bool stopping() const { return context_.stopping.load(); }
  Server::Stats GetStats() const;
  void MarkStopping() { context_.stopping = true; }

 private:
  // On the first loop's thread (or before it runs).
  void WatchListener(int listen_fd, Listener listener);
  void Accept(int listen_fd, Listener listener);

  ServerOptions options_;
  ServerContext context_;
  UniqueFd api_fd_;
  UniqueFd web_fd_;
  std::vector<std::unique_ptr<ConnectionLoop>> loops_;
  std::vector<std::thread> loop_threads_;
  size_t next_loop_ = 0;  // the accepting loop's: where the next connection goes
};

// Plain HTTP beyond this machine would carry passwords and records in clear.
Status CheckExposure(const ServerOptions& options, const BoundListener& listener,
                     const std::string& address) {
  if (listener.loopback || !options.tls_cert.empty() || !options.trusted_proxies.empty()) {
    return OkStatus();
  }
  return Error::InvalidArgument(
      "refusing to serve plain HTTP on " + address + " (" + listener.bound_ip +
      "), which is not a loopback address: give --tls-cert and --tls-key, or --behind-proxy with "
      "the address of the reverse proxy that terminates TLS");
}

Status Server::Impl::Start(int* api_port, int* web_port) {
  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return Error::InvalidArgument("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options_.tls_cert.empty()) {
    MIGSBYU_ASSIGN(TlsContext tls, TlsContext::Load(options_.tls_cert, options_.tls_key));
    context_.tls = std::make_unique<TlsContext>(std::move(tls));
  }
  const bool tls = context_.tls != nullptr;
  MIGSBYU_ASSIGN(BoundListener api, Listen(options_.api_address));
  MIGSBYU_TRY(CheckExposure(options_, api, options_.api_address));
  std::optional<BoundListener> web;
  if (!options_.web_address.empty()) {
    MIGSBYU_ASSIGN(web, Listen(options_.web_address));
    MIGSBYU_TRY(CheckExposure(options_, *web, options_.web_address));
  }
  std::vector<ListenerIdentity> identities;
  identities.push_back({api.host, api.bound_ip, api.port, api.loopback, tls});
  if (web) identities.push_back({web->host, web->bound_ip, web->port, web->loopback, tls});
  MIGSBYU_ASSIGN(context_.policy, RequestPolicy::Make({.public_hosts = options_.public_hosts,
                                                       .cors_origins = options_.cors_origins,
                                                       .trusted_proxies = options_.trusted_proxies},
                                                      identities));
  *api_port = api.port;
  api_fd_ = std::move(api.fd);
  if (web) {
    *web_port = web->port;
    web_fd_ = std::move(web->fd);
  }
  size_t loops = options_.event_loops > 0 ? static_cast<size_t>(options_.event_loops)
                                          : std::max(1u, std::thread::hardware_concurrency());
  context_.loops = loops;
  context_.workers = std::make_unique<WorkerPool>(std::max(1, options_.threads));
  context_.slow_workers = std::make_unique<WorkerPool>(std::max(1, options_.slow_threads));
  context_.streams = std::make_unique<EventStreams>(context_.router, options_.max_event_streams);
  for (size_t i = 0; i < loops; ++i) {
    loops_.push_back(std::make_unique<ConnectionLoop>(context_, i));
  }
  WatchListener(api_fd_.Get(), Listener::kApi);
  if (web_fd_) WatchListener(web_fd_.Get(), Listener::kWeb);
  for (auto& loop : loops_) {
    loop_threads_.emplace_back([l = loop.get()] {
      // OpenSSL writes to its sockets with write(2), which raises SIGPIPE when the client has
      // gone: blocked on the loops (the write fails with EPIPE instead), the process's own
      // handling of the signal left as it is.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      l->Run();
    });
  }
  context_.streams->Start([this](size_t channel, FramesPtr frames) {
    // Every loop may hold subscribers of the channel; each appends the event to its own.
    for (auto& loop : loops_) {
      ConnectionLoop* l = loop.get();
      l->events().Post([l, channel, frames] { l->DeliverEvent(channel, frames); });
    }
  });
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
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    UniqueFd fd(::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop accepting for a moment rather than spin on the backlog.
        MIGSBYU_LOG_WARN("portal: cannot accept: {}", std::strerror(errno));
        EventLoop& first = loops_.front()->events();
        first.Unwatch(listen_fd);
        first.RunAfter(std::chrono::milliseconds(100), [this, listen_fd, listener] {
          if (!stopping()) WatchListener(listen_fd, listener);
        });
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ConnectionLoop* target = loops_[next_loop_++ % loops_.size()].get();
    std::string address = AddressText(peer);
    const int refusal =
        context_.connections.Admit(address, context_.policy.IsTrustedProxy(address),
                                   options_.max_connections, options_.max_connections_per_client);
    if (target == loops_.front().get()) {
      target->Adopt(std::move(fd), listener, std::move(address), refusal);
    } else {
      // Shared, because a task is a copyable std::function: a loop that has stopped drops the
      // task, and the descriptor is closed with it.
      auto owned = std::make_shared<UniqueFd>(std::move(fd));
      target->events().Post(
          [target, owned, listener, address = std::move(address), refusal]() mutable {
            target->Adopt(std::move(*owned), listener, std::move(address), refusal);
          });
    }
  }
}

void Server::Impl::Stop() {
  if (loops_.empty()) return;  // never started
  context_.streams->BeginStop();
  // The accepting loop stops accepting first, so that each connection it hands to another loop
  // is posted there before that loop's own drain begins (and is then closed by it).
  std::promise<void> accepting_stopped;
  ConnectionLoop* first = loops_.front().get();
  first->events().Post([this, first, &accepting_stopped] {
    first->events().Unwatch(api_fd_.Get());
    if (web_fd_) first->events().Unwatch(web_fd_.Get());
    first->BeginDrain();
    accepting_stopped.set_value();
  });
  accepting_stopped.get_future().wait();
  for (size_t i = 1; i < loops_.size(); ++i) {
    ConnectionLoop* l = loops_[i].get();
    l->events().Post([l] { l->BeginDrain(); });
  }
  for (auto& t : loop_threads_) t.join();
  loop_threads_.clear();
  // The publishers may still post to the loops (which have stopped, and drop what comes): the
  // loops go only once they have returned.
  context_.streams->Join();
  context_.workers.reset();  // runs what was submitted, then joins
  context_.slow_workers.reset();
  loops_.clear();
  api_fd_.Reset();
  web_fd_.Reset();
}

Server::Stats Server::Impl::GetStats() const {
  Server::Stats stats;
  for (size_t i = 0; i < kRefusalKinds; ++i) {
    const auto kind = static_cast<Refusal>(i);
    stats.refused[std::string(RefusalName(kind))] = context_.refusals.count(kind);
  }
  if (stopping()) return stats;
  LoopStats sum;
  std::vector<std::future<void>> answers;
  std::mutex mu;
  for (const auto& loop : loops_) {
    auto done = std::make_shared<std::promise<void>>();
    answers.push_back(done->get_future());
    ConnectionLoop* l = loop.get();
    l->events().Post([l, done, &sum, &mu] {
      {
        std::lock_guard lock(mu);
        l->AddStats(&sum);
      }
      done->set_value();  // last: the waiting thread may return (and free `mu`) at once
    });
  }
  for (auto& a : answers) a.wait();
  stats.connections = sum.connections;
  stats.event_streams = context_.streams->subscribers();
  stats.buffered_bytes = sum.buffered_bytes;
  return stats;
}

Server::Server(const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}

Server::~Server() { Stop(); }

Status Server::Start() { return impl_->Start(&api_port_, &web_port_); }

Server::Stats Server::GetStats() const { return impl_->GetStats(); }

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  impl_->MarkStopping();
  impl_->Stop();
}

}  // namespace migsbyu::portal
