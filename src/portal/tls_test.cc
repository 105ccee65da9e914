// HTTPS on both listeners, with a self-signed certificate the test makes with the openssl CLI:
// TLS clients are served (pipelining, large answers, event streams), plain HTTP to a TLS port is
// refused cleanly, a stalled handshake is cut at the head deadline, and plain HTTP on an address
// beyond loopback is refused at start.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "portal/server.h"
#include "portal/test_http_client.h"

namespace migsbyu::portal {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test_http::RawClient;
using test_http::Reply;

// A blocking TLS client that verifies the server's certificate against `ca_file`.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_file) {
    fd_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    timeval timeout{10, 0};
    ::setsockopt(fd_.Get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), "127.0.0.1");
    SSL_set_fd(ssl_.get(), fd_.Get());
    connected_ = SSL_connect(ssl_.get()) == 1;
    if (!connected_) error_ = ERR_error_string(ERR_get_error(), nullptr);
  }
  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }

  void Send(std::string_view bytes) {
    size_t n = 0;
    ASSERT_EQ(SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &n), 1);
  }
  // Reads until `done` holds or the connection ends.
  const std::string& ReadUntil(const std::function<bool(const std::string&)>& done) {
    char buf[65536];
    size_t n = 0;
    while (!done(received_) && SSL_read_ex(ssl_.get(), buf, sizeof buf, &n) == 1) {
      received_.append(buf, n);
    }
    return received_;
  }
  std::optional<Reply> ReadReply() {
    size_t used = 0;
    ReadUntil([&](const std::string& s) { return test_http::ParseReply(s, &used).has_value(); });
    auto reply = test_http::ParseReply(received_, &used);
    if (reply) received_.erase(0, used);
    return reply;
  }

 private:
  struct FreeCtx {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct FreeSsl {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  UniqueFd fd_;
  std::unique_ptr<SSL_CTX, FreeCtx> ctx_;
  std::unique_ptr<SSL, FreeSsl> ssl_;
  bool connected_ = false;
  std::string error_;
  std::string received_;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/migsbyu-tls-XXXXXX";
    dir_ = new fs::path(::mkdtemp(tmpl));
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        (*dir_ / "key.pem").string() + " -out " + (*dir_ / "cert.pem").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    fs::create_directories(*dir_ / "web");
    std::ofstream(*dir_ / "web" / "index.html") << "<!doctype html><title>tls</title>";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  void SetUp() override {
    router_.Add("GET", "/hello", [](const Request&) { return Response::Json({{"hello", 1}}); });
    router_.Add("POST", "/echo", [](const Request& r) {
      return Response::Json({{"body", r.body}});
    });
    router_.Add("GET", "/big", [](const Request&) {
      Response r;
      r.content_type = "text/plain";
      r.body.assign(8 << 20, 'x');
      return r;
    });
    router_.AddEventStream("/events", [](EventPublisher& events) {
      for (int i = 0; events.WaitFor(10ms); ++i) events.Publish("tick", std::to_string(i));
    });
  }

  ServerOptions TlsOptions() const {
    ServerOptions options;
    options.api_address = "127.0.0.1:0";
    options.web_address = "127.0.0.1:0";
    options.web_dir = (*dir_ / "web").string();
    options.threads = 2;
    options.event_loops = 2;
    options.tls_cert = cert();
    options.tls_key = (*dir_ / "key.pem").string();
    return options;
  }
  void Start(ServerOptions options) {
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }
  static std::string cert() { return (*dir_ / "cert.pem").string(); }
  static std::string Get(int port, const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
  }

  static fs::path* dir_;
  Router router_;
  std::unique_ptr<Server> server_;
};

fs::path* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, BothPortsSpeakTlsOnly) {
  Start(TlsOptions());
  for (int port : {server_->api_port(), server_->web_port()}) {
    SCOPED_TRACE(port);
    TlsClient tls(port, cert());
    ASSERT_TRUE(tls.connected()) << tls.error();
    const std::string path = port == server_->api_port() ? "/hello" : "/api/hello";
    tls.Send(Get(port, path) + Get(port, path));  // pipelined, in one record
    for (int i = 0; i < 2; ++i) {
      auto reply = tls.ReadReply();
      ASSERT_TRUE(reply);
      EXPECT_EQ(reply->status, 200);
      EXPECT_EQ(reply->body, "{\"hello\":1}");
      EXPECT_EQ(reply->Header("Strict-Transport-Security").value_or(""), "max-age=31536000");
    }
    // Plain HTTP gets a plain refusal that says why, and the connection ends.
    RawClient plain(port);
    plain.Send(Get(port, path));
    auto refused = plain.ReadReply();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400);
    EXPECT_NE(refused->body.find("This port speaks HTTPS only"), std::string::npos);
    EXPECT_FALSE(refused->Header("Strict-Transport-Security"));
    EXPECT_TRUE(plain.WaitClosed());
  }
  TlsClient page(server_->web_port(), cert());
  ASSERT_TRUE(page.connected());
  page.Send(Get(server_->web_port(), "/students/S1"));
  auto index = page.ReadReply();
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "<!doctype html><title>tls</title>");
  EXPECT_GE(server_->GetStats().refused["tls"], 2u);
}

TEST_F(TlsTest, TheOwnOriginIsHttpsAndLargeAnswersAndStreamsArriveWhole) {
  Start(TlsOptions());
  const int port = server_->api_port();
  const std::string host = "127.0.0.1:" + std::to_string(port);
  auto post = [&](const std::string& origin) {
    TlsClient tls(port, cert());
    EXPECT_TRUE(tls.connected());
    tls.Send("POST /echo HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin +
             "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    return tls.ReadReply().value_or(Reply{}).status;
  };
  EXPECT_EQ(post("https://" + host), 200);
  EXPECT_EQ(post("http://" + host), 403);

  TlsClient big(port, cert());
  ASSERT_TRUE(big.connected());
  big.Send(Get(port, "/big"));
  auto reply = big.ReadReply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body.size(), 8u << 20);
  EXPECT_EQ(reply->body.find_first_not_of('x'), std::string::npos);

  TlsClient events(port, cert());
  ASSERT_TRUE(events.connected());
  events.Send(Get(port, "/events"));
  const std::string& got = events.ReadUntil(
      [](const std::string& s) { return RawClient::Count(s, "event: tick\n") >= 3; });
  EXPECT_GE(RawClient::Count(got, "event: tick\n"), 3u);
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos);
}

TEST_F(TlsTest, AStalledOrBrokenHandshakeIsCut) {
  ServerOptions options = TlsOptions();
  options.head_timeout = 300ms;
  Start(options);
  RawClient silent(server_->api_port());  // connects, never says hello
  EXPECT_TRUE(silent.WaitClosed());
  RawClient garbage(server_->api_port());
  garbage.Send(std::string("\x16\x03\x01\x00\x05hello", 10));
  EXPECT_TRUE(garbage.WaitClosed());
  EXPECT_EQ(garbage.received().find("HTTP/"), std::string::npos);
  TlsClient fine(server_->api_port(), cert());
  EXPECT_TRUE(fine.connected()) << "the server still serves";
}

TEST_F(TlsTest, StartRefusesPlainHttpBeyondLoopbackAndBadTlsSettings) {
  ServerOptions plain;
  plain.api_address = "0.0.0.0:0";
  plain.web_address = "";
  {
    Server server(router_, plain);
    auto started = server.Start();
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(started.error().message().find("refusing to serve plain HTTP on 0.0.0.0:0"),
              std::string::npos)
        << started.error().message();
  }
  {
    ServerOptions proxied = plain;
    proxied.trusted_proxies = {"127.0.0.1"};
    Server server(router_, proxied);
    EXPECT_TRUE(server.Start().ok());
  }
  {
    ServerOptions tls = TlsOptions();
    tls.api_address = "0.0.0.0:0";
    tls.web_address = "";
    Server server(router_, tls);
    EXPECT_TRUE(server.Start().ok());
  }
  {
    ServerOptions half = TlsOptions();
    half.tls_key.clear();
    Server server(router_, half);
    auto started = server.Start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message().find("go together"), std::string::npos);
  }
  {
    ServerOptions wrong = TlsOptions();
    wrong.tls_key = cert();  // a certificate is not a key
    Server server(router_, wrong);
    auto started = server.Start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message().find("TLS key"), std::string::npos);
  }
}

}  // namespace
}  // namespace migsbyu::portal
