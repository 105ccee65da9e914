// The portal server's HTTP surface under attack, over real loopback HTTP: static-path traversal
// in every encoding against a real web root (with links out of it and a secret beside it),
// response splitting, security headers, and (hostile_http.test) the rest of the hostile corpus.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "portal/server.h"
#include "portal/static_files.h"
#include "portal/test_http_client.h"
#include "portal/testdata/corpus_text.h"

namespace migsbyu::portal {
namespace {

namespace fs = std::filesystem;
using test_http::RawClient;
using test_http::Reply;

constexpr std::string_view kSecret = "the secret beside the web root";

std::string ReadTestData(const std::string& name) {
  std::ifstream in(fs::path(MIGSBYU_PORTAL_TESTDATA) / name);
  EXPECT_TRUE(in) << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const fs::path& file, std::string_view text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// A web root made for the test: the files the corpus names, links out of it, a secret beside it.
class WebRoot {
 public:
  WebRoot() {
    char tmpl[] = "/tmp/migsbyu-webroot-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ / "root";
    files_ = {{"index.html", "<!doctype html><title>index</title>"},
              {"assets/app.js", "console.log('app')"},
              {"assets/.env", "HIDDEN=1"},
              {"sub/page.txt", "a page"},
              {".hidden", "hidden"}};
    for (const auto& [name, text] : files_) Write(root_ / name, text);
    Write(base_ / "outside" / "secret.txt", kSecret);
    fs::create_symlink("assets/app.js", root_ / "link-in");
    fs::create_symlink("../outside/secret.txt", root_ / "link-out");
    fs::create_symlink("/etc/passwd", root_ / "link-abs");
    fs::create_symlink("../outside", root_ / "dir-out");
    EXPECT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  }
  ~WebRoot() {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  const fs::path& root() const { return root_; }
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  fs::path base_;
  fs::path root_;
  std::map<std::string, std::string> files_;
};

class HttpSurfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/students/", [](const Request&) { return Response::Json({{"list", 1}}); });
    router_.Add("POST", "/students/", [](const Request& r) {
      return Response::Json({{"body", r.body}});
    });
    router_.Add("GET", "/students/{id}", [](const Request& r) {
      return Response::Json({{"id", r.PathParam("id")}});
    });
    router_.Add("PUT", "/students/{id}", [](const Request& r) {
      return Response::Json({{"body", r.body}});
    });
    router_.Add("DELETE", "/students/{id}", [](const Request& r) {
      return Response::Json({{"deleted", r.PathParam("id")}});
    });
    router_.Add("GET", "/page", [](const Request&) {
      Response r;
      r.content_type = "text/html; charset=utf-8";
      r.body = "<!doctype html><title>page</title>";
      return r;
    });
    router_.Add("GET", "/peer", [](const Request& r) {
      return Response::Json({{"peer", r.peer}});
    });
    router_.Add("GET", "/bad-header", [](const Request&) {
      Response r = Response::Json({{"ok", true}});
      r.headers.emplace_back("X-Note", "a\r\nSet-Cookie: pwned=1");
      return r;
    });
  }

  void Start(ServerOptions options = {}) {
    options.api_address = "127.0.0.1:0";
    options.web_address = "127.0.0.1:0";
    options.web_dir = web_.root().string();
    options.threads = 2;
    options.public_hosts = {"portal.example.edu"};
    options.cors_origins = {"https://allowed.example"};
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    options.trusted_proxies = {"127.0.0.1"};
    options.web_address = "";
    proxied_ = std::make_unique<Server>(router_, options);
    started = proxied_->Start();
    ASSERT_TRUE(started.ok()) << started.error().ToString();
  }

  // One request on a connection of its own; the response, or a status 0 reply if none came.
  Reply Exchange(int port, const std::string& bytes) {
    RawClient client(port);
    EXPECT_TRUE(client.connected());
    client.Send(bytes);
    return client.ReadReply().value_or(Reply{});
  }
  static std::string Host(int port) { return "127.0.0.1:" + std::to_string(port); }

  WebRoot web_;
  Router router_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Server> proxied_;  // behind a proxy at 127.0.0.1
};

TEST_F(HttpSurfaceTest, StaticPathCorpus) {
  Start();
  const std::string host = Host(server_->web_port());
  std::set<std::string> root_contents;
  for (const auto& [name, text] : web_.files()) root_contents.insert(text);
  int cases = 0;
  std::istringstream lines(ReadTestData("static_paths.test"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.find_first_of(" \t");
    const std::string outcome = line.substr(0, space);
    const std::string path =
        Replace(http::UnescapeCorpusText(line.substr(line.find_first_not_of(" \t", space))),
                "{host}", host);
    SCOPED_TRACE("path " + path);
    ++cases;
    Reply reply =
        Exchange(server_->web_port(), "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    ASSERT_NE(reply.status, 0);
    EXPECT_EQ(reply.body.find(kSecret), std::string::npos);
    // Whatever the case: a refusal, or a file of the root.
    if (reply.status == 200) {
      EXPECT_TRUE(root_contents.contains(reply.body)) << reply.body;
    } else {
      EXPECT_TRUE(reply.status == 400 || reply.status == 404) << reply.status;
    }
    if (outcome == "400" || outcome == "404") {
      EXPECT_EQ(reply.status, std::stoi(outcome));
    } else if (outcome == "index") {
      EXPECT_EQ(reply.status, 200);
      EXPECT_EQ(reply.body, web_.files().at("index.html"));
    } else if (outcome.starts_with("file:") || outcome.starts_with("link:")) {
      EXPECT_EQ(reply.status, 200);
      EXPECT_EQ(reply.body, web_.files().at(outcome.substr(5)));
    } else {
      ADD_FAILURE() << "unknown outcome " << outcome;
    }
  }
  EXPECT_GE(cases, 60);
}

TEST_F(HttpSurfaceTest, LinksAreFollowedOnlyInsideTheRootAndNeverWithoutOpenat2) {
  UniqueFd root(::open(web_.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  using R = StaticFiles::Resolution;
  auto open = [&](std::vector<std::string> names, R how) {
    return StaticFiles::OpenBeneath(root.Get(), names, how);
  };
  for (R how : {R::kBeneath, R::kNoFollow}) {
    EXPECT_TRUE(open({"assets", "app.js"}, how).ok());
    EXPECT_EQ(open({"link-out"}, how).error().code(), ErrorCode::kPermissionDenied);
    EXPECT_EQ(open({"link-abs"}, how).error().code(), ErrorCode::kPermissionDenied);
    EXPECT_EQ(open({"dir-out", "secret.txt"}, how).error().code(), ErrorCode::kPermissionDenied);
    EXPECT_EQ(open({"missing"}, how).error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(open({".."}, how).ok(), false);
  }
  EXPECT_TRUE(open({"link-in"}, R::kBeneath).ok());
  EXPECT_EQ(open({"link-in"}, R::kNoFollow).error().code(), ErrorCode::kPermissionDenied);
}

TEST_F(HttpSurfaceTest, LargeFileIsStreamedWholeAndHeadAnnouncesItsLength) {
  std::string big(3 * StaticFiles::kFirstChunk + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  Write(web_.root() / "assets" / "big.bin", big);
  Start();
  const std::string host = Host(server_->web_port());
  RawClient client(server_->web_port());
  client.Send("HEAD /assets/big.bin HTTP/1.1\r\nHost: " + host + "\r\n\r\n" +
              "GET /assets/big.bin HTTP/1.1\r\nHost: " + host + "\r\n\r\n" +
              "GET /assets/app.js HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  // HEAD: the length, no body (the next bytes are the next response).
  client.ReadUntilContains("\r\n\r\n");
  const std::string head = client.received().substr(0, client.received().find("\r\n\r\n") + 4);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(big.size())), std::string::npos) << head;
  std::string rest = client.ReadUntilContains("console.log('app')").substr(head.size());
  auto got = test_http::ParseReply(rest);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_TRUE(got->body == big) << "streamed body differs";
  EXPECT_NE(rest.find("console.log('app')"), std::string::npos) << "pipelined after the file";
}

TEST_F(HttpSurfaceTest, HostileCorpus) {
  Start();
  struct Case {
    std::string send;
    int port;
    std::vector<std::string> expectations;
  };
  std::vector<Case> cases;
  std::istringstream lines(ReadTestData("hostile_http.test"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("send ")) {
      const size_t end = line.find(' ', 5);
      const std::string where = line.substr(5, end - 5);
      const int port = where == "web"       ? server_->web_port()
                       : where == "proxied" ? proxied_->api_port()
                                            : server_->api_port();
      ASSERT_TRUE(where == "api" || where == "web" || where == "proxied") << line;
      std::string bytes = http::UnescapeCorpusText(line.substr(end + 1));
      bytes = Replace(Replace(bytes, "{host}", Host(port)), "{port}", std::to_string(port));
      cases.push_back({bytes, port, {}});
    } else {
      ASSERT_FALSE(cases.empty()) << line;
      cases.back().expectations.push_back(line);
    }
  }
  EXPECT_GE(cases.size(), 80u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.send);
    Reply reply = Exchange(c.port, c.send);
    ASSERT_NE(reply.status, 0);
    for (const std::string& e : c.expectations) {
      SCOPED_TRACE(e);
      const size_t space = e.find(' ');
      const std::string kind = e.substr(0, space);
      const std::string arg = e.substr(space + 1);
      if (kind == "status") {
        EXPECT_EQ(reply.status, std::stoi(arg)) << reply.body;
      } else if (kind == "header") {
        const size_t sep = arg.find(' ');
        EXPECT_EQ(reply.Header(arg.substr(0, sep)).value_or("<none>"), arg.substr(sep + 1));
      } else if (kind == "no-header") {
        EXPECT_FALSE(reply.Header(arg).has_value()) << *reply.Header(arg);
      } else if (kind == "body-has") {
        EXPECT_NE(reply.body.find(arg), std::string::npos) << reply.body;
      } else {
        ADD_FAILURE() << "unknown expectation";
      }
    }
  }
}

}  // namespace
}  // namespace migsbyu::portal
