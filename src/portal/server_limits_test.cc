// The portal server's resource limits over real loopback HTTP: slow clients cut at their
// deadlines while others are served, a client that stops reading closed with the server's memory
// bounded, and the connection caps. Deadlines are made short here by configuration; no test
// sleeps to wait for the server.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "portal/server.h"
#include "portal/test_http_client.h"

namespace migsbyu::portal {
namespace {

using namespace std::chrono_literals;
using test_http::RawClient;
using test_http::Reply;

constexpr size_t kBig = 8 << 20;

class ServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/hello", [](const Request&) { return Response::Json({{"hello", 1}}); });
    router_.Add("POST", "/echo", [](const Request& r) {
      return Response::Json({{"n", r.body.size()}});
    });
    router_.UseSlowLane("/analytics/");
    router_.Add("GET", "/analytics/held", [this](const Request&) {
      std::unique_lock lock(mu_);
      ++held_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
      return Response::Json({{"held", true}});
    });
    router_.AddEventStream("/events", [this](EventPublisher& events) {
      for (int i = 0; events.WaitFor(std::chrono::milliseconds(2)); ++i) {
        events.Publish("tick", event_data_ + std::to_string(i));
      }
    });
    router_.Add("GET", "/big", [](const Request&) {
      Response r;
      r.content_type = "text/plain";
      r.body.assign(kBig, 'x');
      return r;
    });
  }

  void Start(ServerOptions options) {
    options.api_address = "127.0.0.1:0";
    options.web_address = "";
    options.threads = 2;
    options.event_loops = 2;
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  std::string Get(const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) + "\r\n\r\n";
  }
  int port() const { return server_->api_port(); }

  // Polls the server's stats until `done` holds (true) or 20 s pass (false).
  bool WaitForStats(const std::function<bool(const Server::Stats&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done(server_->GetStats())) return true;
      std::this_thread::yield();
    }
    return false;
  }

  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void TearDown() override {
    Release();
    if (server_) server_->Stop();
  }

  // A subscriber of /events that has its first event.
  std::unique_ptr<RawClient> Subscribe() {
    auto c = std::make_unique<RawClient>(port());
    c->Send(Get("/events"));
    c->ReadUntilContains("event: tick");
    return c;
  }

  std::string event_data_ = "n";  // before each event's number
  std::mutex mu_;
  std::condition_variable cv_;
  int held_ = 0;
  bool released_ = false;
  Router router_;
  std::unique_ptr<Server> server_;
};

int ThreadsOfThisProcess() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
  }
  return -1;
}

TEST_F(ServerLimitsTest, SlowlorisIsCutAtTheHeadDeadlineWhileOthersAreServed) {
  ServerOptions options;
  options.head_timeout = 1000ms;
  options.keep_alive_seconds = 60;  // the head deadline, not idleness, must end it
  Start(options);
  std::atomic<bool> trickling{false};
  std::atomic<bool> answered{false};
  std::optional<Reply> slow_reply;
  std::thread slow([&] {
    RawClient client(port());
    client.Send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) + "\r\nX-A: ");
    trickling = true;
    // One byte of a header that never ends, then a pause that is also the wait for an answer.
    for (int i = 0; i < 400; ++i) {
      if (!client.Send("a")) break;
      pollfd p{client.fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) break;
    }
    slow_reply = client.ReadReply();
    answered = true;
    EXPECT_TRUE(client.WaitClosed());
  });
  while (!trickling) std::this_thread::yield();
  RawClient other(port());
  for (int i = 0; i < 5; ++i) {
    other.Send(Get("/hello"));
    auto reply = other.ReadReply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
  }
  EXPECT_FALSE(answered.load()) << "the others were served while the slow client trickled";
  slow.join();
  ASSERT_TRUE(slow_reply);
  EXPECT_EQ(slow_reply->status, 408);
  EXPECT_NE(slow_reply->body.find("head not received within 1000 ms"), std::string::npos);
  EXPECT_GE(server_->GetStats().refused["head_timeout"], 1u);
}

TEST_F(ServerLimitsTest, SlowBodyIsCutAtTheBodyDeadline) {
  ServerOptions options;
  options.body_timeout = 300ms;
  options.keep_alive_seconds = 60;
  Start(options);
  RawClient client(port());
  client.Send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
              "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":");
  auto reply = client.ReadReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 408);
  EXPECT_NE(reply->body.find("body not received within 300 ms"), std::string::npos);
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_GE(server_->GetStats().refused["body_timeout"], 1u);
}

TEST_F(ServerLimitsTest, AClientThatStopsReadingIsClosedWithTheServersMemoryBounded) {
  ServerOptions options;
  options.send_timeout = 500ms;
  Start(options);
  RawClient client(port());
  int small = 4096;
  ::setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Many large answers asked for at once, and none read: the server holds one at a time.
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += Get("/big");
  client.Send(requests);
  size_t most = 0;
  const bool closed = WaitForStats([&](const Server::Stats& s) {
    most = std::max(most, s.buffered_bytes);
    return s.refused.at("send_timeout") >= 1 && s.connections == 0;
  });
  EXPECT_TRUE(closed);
  EXPECT_GT(most, 0u);
  EXPECT_LT(most, 2 * kBig) << "more than one answer was held for the client";
  // The server is still there for others.
  RawClient other(port());
  other.Send(Get("/hello"));
  auto reply = other.ReadReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
}

TEST_F(ServerLimitsTest, ConnectionsOverTheCapsAreAnswered429And503) {
  ServerOptions options;
  options.max_connections = 3;
  options.max_connections_per_client = 2;
  Start(options);
  auto served = [&](RawClient& c) {
    c.Send(Get("/hello"));
    auto reply = c.ReadReply();
    return reply && reply->status == 200;
  };
  auto first = std::make_unique<RawClient>(port());
  RawClient second(port());
  ASSERT_TRUE(served(*first));
  ASSERT_TRUE(served(second));
  RawClient third(port());
  auto refused = third.ReadReply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_NE(refused->body.find("Too many connections from 127.0.0.1"), std::string::npos);
  EXPECT_TRUE(third.WaitClosed());
  // A closed connection frees its place.
  first.reset();
  ASSERT_TRUE(WaitForStats([](const Server::Stats& s) { return s.connections == 1; }));
  RawClient fourth(port());
  EXPECT_TRUE(served(fourth));
  EXPECT_GE(server_->GetStats().refused["client_connections"], 1u);
}

TEST_F(ServerLimitsTest, TheServerWideCapIs503AndProxiesAreExemptFromThePerClientOne) {
  ServerOptions options;
  options.max_connections = 3;
  options.max_connections_per_client = 1;
  options.trusted_proxies = {"127.0.0.1"};  // every connection here comes from "the proxy"
  Start(options);
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<RawClient>(port()));
    clients.back()->Send(Get("/hello"));
    auto reply = clients.back()->ReadReply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
  }
  RawClient over(port());
  auto refused = over.ReadReply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_GE(server_->GetStats().refused["connections"], 1u);
}

TEST_F(ServerLimitsTest, EventStreamSubscribersAreHeldByTheLoopsUpToTheirCap) {
  ServerOptions options;
  options.max_event_streams = 20;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> subscribers;
  subscribers.push_back(Subscribe());
  const int threads = ThreadsOfThisProcess();
  while (subscribers.size() < 20) subscribers.push_back(Subscribe());
  EXPECT_EQ(ThreadsOfThisProcess(), threads) << "no thread per subscriber";
  EXPECT_EQ(server_->GetStats().event_streams, 20u);

  RawClient extra(port());
  extra.Send(Get("/events"));
  auto refused = extra.ReadReply();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("Too many event streams open (at most 20)"), std::string::npos);
  EXPECT_GE(server_->GetStats().refused["event_streams"], 1u);

  // The others keep receiving.
  for (auto& s : subscribers) {
    const size_t before = RawClient::Count(s->received(), "event: tick");
    EXPECT_GE(RawClient::Count(s->ReadUntilContains("event: tick", before + 3), "event: tick"),
              before + 3);
  }
  // A subscriber that leaves frees its place.
  subscribers.pop_back();
  ASSERT_TRUE(WaitForStats([](const Server::Stats& s) { return s.event_streams == 19; }));
  auto again = Subscribe();
  EXPECT_NE(again->received().find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(again->received().find("Content-Type: text/event-stream"), std::string::npos);
}

TEST_F(ServerLimitsTest, ASubscriberThatFallsBehindIsDroppedWhileOthersKeepReceiving) {
  event_data_ = std::string(16 * 1024, 'e');
  ServerOptions options;
  options.event_stream_queue_bytes = 64 * 1024;
  options.send_timeout = 60s;  // the queue, not the send timeout, must drop it
  Start(options);
  RawClient behind(port());
  int small = 4096;
  ::setsockopt(behind.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  behind.Send(Get("/events"));
  std::atomic<bool> done{false};
  std::atomic<size_t> received{0};
  std::thread reader([&] {
    auto keeping_up = Subscribe();
    while (!done)
      received =
          keeping_up->ReadUntil([&](const std::string&) { return done.load(); }, 100ms).size();
  });
  EXPECT_TRUE(WaitForStats([](const Server::Stats& s) {
    return s.refused.at("event_stream_behind") >= 1 && s.event_streams == 1;
  }));
  const size_t at_drop = received;
  EXPECT_TRUE(WaitForStats([&](const Server::Stats&) { return received > at_drop + (1 << 20); }))
      << "the subscriber that keeps up goes on receiving";
  done = true;
  reader.join();
  EXPECT_TRUE(behind.WaitClosed());
}

TEST_F(ServerLimitsTest, SlowLaneRoutesNeverMakeTheOthersWait) {
  ServerOptions options;
  options.slow_threads = 1;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::make_unique<RawClient>(port()));
    slow.back()->Send(Get("/analytics/held"));
  }
  {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 20s, [this] { return held_ >= 1; }));
  }
  // The slow lane's one worker is held, two more requests wait behind it: the fast lane answers.
  for (int i = 0; i < 5; ++i) {
    RawClient fast(port());
    fast.Send(Get("/hello"));
    auto reply = fast.ReadReply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
  }
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(held_, 1) << "the slow lane has one worker";
  }
  Release();
  for (auto& c : slow) {
    auto reply = c->ReadReply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
  }
}

}  // namespace
}  // namespace migsbyu::portal
