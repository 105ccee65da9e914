// The HTTP layer of portal::Server over raw loopback sockets: what a client library would hide
// (pipelining, 100-continue, HEAD, HTTP/1.0, malformed requests, idle connections, large
// responses). The REST API's behaviour through this server is tested in tests/api.
#include "portal/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "portal/test_http_client.h"

namespace migsbyu::portal {
namespace {

using namespace std::chrono_literals;

using test_http::RawClient;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/echo/{word}", [](const Request& r) {
      return Response::Json({{"word", r.PathParam("word")}, {"q", r.Query("q").value_or("")}});
    });
    router_.Add("POST", "/body", [](const Request& r) {
      return Response::Json({{"length", r.body.size()}, {"body", r.body}});
    });
    router_.Add("GET", "/big", [](const Request&) {
      Response r;
      r.content_type = "text/plain";
      r.body.assign(8 << 20, 'x');
      return r;
    });
    router_.Add("GET", "/held", [this](const Request&) {
      std::unique_lock lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
      return Response::Json({{"held", true}});
    });
    router_.AddQuery("GET", "/now/{answer}",
                     [](const Request& r) -> std::variant<Response, DbCall> {
                       return Response::Json({{"answer", r.PathParam("answer")}});
                     });
    router_.AddQuery("GET", "/db", [](const Request&) -> std::variant<Response, DbCall> {
      return DbCall{{"SELECT 1", {}, true, false}, [](oltp::QueryOutcome) {
                      return Response::Json({{"ran", true}});
                    }};
    });
  }

  void Start(ServerOptions options = {}) {
    options.api_address = "127.0.0.1:0";
    options.web_address = "";
    options.threads = 4;
    options.public_hosts = {"portal.test"};  // the requests' Host
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  int port() const { return server_->api_port(); }

  // Blocks until a request has entered /held.
  void WaitUntilHeld() {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 30s, [this] { return entered_; }));
  }
  void ReleaseHeld() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  void TearDown() override {
    ReleaseHeld();
    if (server_) server_->Stop();
  }

  Router router_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  RawClient client(port());
  ASSERT_TRUE(client.connected());
  // Three requests in one write: a worker route, a query route answered at once, a worker route.
  client.Send(
      "GET /echo/one HTTP/1.1\r\nHost: portal.test\r\n\r\n"
      "GET /now/two HTTP/1.1\r\nHost: portal.test\r\n\r\n"
      "GET /echo/three?q=a%20b HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  std::string got = client.ReadUntilContains("HTTP/1.1 200 OK", 3);
  auto one = got.find("\"word\":\"one\"");
  auto two = got.find("\"answer\":\"two\"");
  auto three = got.find("\"q\":\"a b\",\"word\":\"three\"");
  ASSERT_NE(one, std::string::npos) << got;
  ASSERT_NE(two, std::string::npos) << got;
  ASSERT_NE(three, std::string::npos) << got;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST_F(ServerTest, ResponseCarriesLengthTypeAndDate) {
  Start();
  RawClient client(port());
  client.Send("GET /echo/x HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  std::string got = client.ReadUntilContains("}");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_NE(got.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\nDate: "), std::string::npos) << got;
  std::string body = got.substr(got.find("\r\n\r\n") + 4);
  EXPECT_NE(got.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << got;
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  Start();
  RawClient client(port());
  client.Send(
      "POST /body HTTP/1.1\r\nHost: portal.test\r\nContent-Type: "
      "application/json\r\nContent-Length: 5\r\nExpect: "
      "100-continue\r\n\r\n");
  std::string interim = client.ReadUntilContains("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  client.Send("hello");
  std::string got = client.ReadUntilContains("\"body\":\"hello\"");
  EXPECT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
}

TEST_F(ServerTest, ChunkedRequestBodyIsJoined) {
  Start();
  RawClient client(port());
  client.Send(
      "POST /body HTTP/1.1\r\nHost: portal.test\r\nContent-Type: "
      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n");
  std::string got = client.ReadUntilContains("}");
  EXPECT_NE(got.find("\"body\":\"abcdefg\""), std::string::npos) << got;
}

TEST_F(ServerTest, HeadSendsTheHeadersOfGetWithoutTheBody) {
  Start();
  RawClient client(port());
  client.Send(
      "HEAD /echo/x HTTP/1.1\r\nHost: portal.test\r\n\r\nGET /echo/y HTTP/1.1\r\nHost: "
      "portal.test\r\n\r\n");
  std::string got = client.ReadUntilContains("\"word\":\"y\"");
  // The HEAD response's Content-Length announces GET's body, but none follows it: the next
  // bytes are the second response.
  auto second = got.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << got;
  std::string head = got.substr(0, second);
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(head.find("\"word\""), std::string::npos);
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  Start();
  {
    RawClient client(port());
    client.Send("GET /echo/a HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(client.WaitClosed());
    std::string got = client.ReadUntilContains("}");
    EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  }
  {
    RawClient client(port());
    client.Send("GET /echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    std::string got = client.ReadUntilContains("}");
    EXPECT_NE(got.find("Connection: keep-alive"), std::string::npos) << got;
    client.Send("GET /echo/b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    got = client.ReadUntilContains("\"word\":\"b\"");
    EXPECT_NE(got.find("\"word\":\"b\""), std::string::npos) << got;
  }
}

TEST_F(ServerTest, MalformedRequestIs400JsonAndCloses) {
  Start();
  RawClient client(port());
  client.Send(
      "GET /echo/a HTTP/1.1\r\nHost: portal.test\r\nBad Header: x\r\n\r\nGET /echo/b "
      "HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  EXPECT_TRUE(client.WaitClosed());
  std::string got = client.ReadUntilContains("}");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 400 Bad Request\r\n")) << got;
  EXPECT_NE(got.find("{\"detail\":"), std::string::npos) << got;
  EXPECT_EQ(got.find("\"word\""), std::string::npos) << "nothing after a malformed request runs";
}

TEST_F(ServerTest, OversizedBodyIs413WithoutReadingIt) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  Start(options);
  RawClient client(port());
  client.Send(
      "POST /body HTTP/1.1\r\nHost: portal.test\r\nContent-Type: "
      "application/json\r\nContent-Length: 5000\r\n\r\n");
  std::string got = client.ReadUntilContains("}");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 413 ")) << got;
  EXPECT_NE(got.find("Request body larger than 1000 bytes"), std::string::npos) << got;
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(ServerTest, LargeResponseArrivesWhole) {
  Start();
  RawClient client(port());
  client.Send("GET /big HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  // 8 MiB outgrows the socket's buffer: the loop must finish it when the socket drains.
  std::string got = client.ReadUntil([](const std::string& s) {
    auto end = s.find("\r\n\r\n");
    return end != std::string::npos && s.size() - end - 4 >= (8u << 20);
  });
  auto end = got.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(got.size() - end - 4, 8u << 20);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options;
  options.keep_alive_seconds = 1;
  Start(options);
  RawClient client(port());
  client.Send("GET /echo/a HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  client.ReadUntilContains("}");
  auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.WaitClosed());
  EXPECT_GE(std::chrono::steady_clock::now() - before, 900ms);
}

TEST_F(ServerTest, QueryRouteWithoutADatabaseIs503) {
  Start();
  RawClient client(port());
  client.Send("GET /db HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  std::string got = client.ReadUntilContains("}");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 503 ")) << got;
  EXPECT_NE(got.find("no database is configured"), std::string::npos) << got;
}

TEST_F(ServerTest, StopFinishesTheRequestInFlightAndRefusesNewConnections) {
  ServerOptions options;
  options.event_loops = 1;  // so that the idle connection's drain is the held one's too
  Start(options);
  RawClient idle(port());
  idle.Send("GET /echo/a HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  idle.ReadUntilContains("}");
  RawClient client(port());
  client.Send("GET /held HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  WaitUntilHeld();
  const int old_port = port();
  std::thread stopper([this] { server_->Stop(); });
  // The drain closes idle connections at once: once this one is closed, the held request is
  // known to be answered as the last on its connection.
  EXPECT_TRUE(idle.WaitClosed());
  ReleaseHeld();
  std::string got = client.ReadUntilContains("}");
  stopper.join();
  EXPECT_NE(got.find("\"held\":true"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos) << got;
  RawClient late(old_port);
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, ManyConnectionsSpreadOverLoopsAreAllServed) {
  ServerOptions options;
  options.event_loops = 3;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(std::make_unique<RawClient>(port()));
  for (int i = 0; i < 50; ++i) {
    clients[i]->Send("GET /now/" + std::to_string(i) + " HTTP/1.1\r\nHost: portal.test\r\n\r\n");
  }
  for (int i = 0; i < 50; ++i) {
    std::string want = "\"answer\":\"" + std::to_string(i) + "\"";
    EXPECT_NE(clients[i]->ReadUntilContains(want).find(want), std::string::npos);
  }
}

}  // namespace
}  // namespace migsbyu::portal
