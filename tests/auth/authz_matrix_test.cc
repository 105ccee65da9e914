// Every route of the real route table (`migsbyu serve` with capture, enumerated from its
// /openapi.json, which is generated from the table) is called without credentials, with a
// revoked token, and with a token and a session of each role; each answer is checked against the
// permission the route declares. A new route is covered without touching this file; one that
// declares no permission, or another than testdata/route_permissions.txt says, fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "serve_process.h"
#include "support/test_database.h"

namespace migsbyu::auth::testing {
namespace {

using nlohmann::json;

// Who may call what (docs/SECURITY.md), written out here rather than asked of the code under test.
const std::map<std::string, std::set<std::string>>& Allowed() {
  static const std::map<std::string, std::set<std::string>> allowed = {
      {"public", {"viewer", "analyst", "registrar", "admin"}},
      {"read", {"viewer", "analyst", "registrar", "admin"}},
      {"write", {"registrar", "admin"}},
      {"console", {"analyst", "admin"}},
      {"admin", {"admin"}}};
  return allowed;
}
const std::vector<std::string> kRoles = {"viewer", "analyst", "registrar", "admin"};

struct Operation {
  std::string method;
  std::string pattern;
  std::string path;  // the pattern with its parameters filled in
  std::optional<std::string> permission;
  bool stream = false;
};

// A value for each {parameter}: the first of its enum when it has one (so that the route's own
// checks pass), else an id that exists nowhere.
std::string FillPath(const std::string& pattern, const json& op) {
  std::string path = pattern;
  for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{')) {
    size_t close = path.find('}', open);
    std::string name = path.substr(open + 1, close - open - 1);
    std::string value = "matrix-none-such";
    for (const auto& p : op.value("parameters", json::array())) {
      if (p.value("name", "") == name && p.value("in", "") == "path" &&
          p["schema"].contains("enum")) {
        value = p["schema"]["enum"][0];
      }
    }
    path.replace(open, close - open + 1, value);
  }
  return path;
}

std::vector<Operation> Operations(const json& openapi) {
  std::vector<Operation> out;
  for (const auto& [pattern, methods] : openapi["paths"].items()) {
    for (const auto& [method, op] : methods.items()) {
      Operation o;
      o.method = method;
      for (auto& c : o.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      o.pattern = pattern;
      o.path = FillPath(pattern, op);
      if (op.contains("x-permission")) o.permission = op["x-permission"];
      o.stream =
          op["responses"].contains("200") &&
          op["responses"]["200"].value("content", json::object()).contains("text/event-stream");
      out.push_back(std::move(o));
    }
  }
  // Signing out ends the session it is called with: last, so the sessions serve every other.
  std::stable_partition(out.begin(), out.end(),
                        [](const Operation& o) { return o.pattern != "/auth/logout"; });
  return out;
}

// The status of one call. Writes carry a JSON body that every route refuses (an unknown field),
// so that an admitted call changes nothing; event streams are left after their head.
int StatusOf(int port, const Operation& op, const Credential& cred, const std::string& prefix) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!cred.bearer.empty()) headers.emplace("Authorization", "Bearer " + cred.bearer);
  if (!cred.cookie.empty()) headers.emplace("Cookie", "migsbyu_session=" + cred.cookie);
  const std::string path = prefix + op.path;
  if (op.stream) {
    int status = 0;
    client.Get(
        path, headers,
        [&](const httplib::Response& r) {
          status = r.status;
          return r.status != 200;  // an admitted stream: stop reading at once
        },
        [](const char*, size_t) { return false; });
    return status;
  }
  httplib::Request req;
  req.method = op.method;
  req.path = path;
  req.headers = headers;
  if (op.method != "GET" && op.method != "HEAD") {
    req.body = R"({"matrix_probe_unknown_field": true})";
    req.set_header("Content-Type", "application/json");
  }
  auto res = client.send(req);
  return res ? res->status : 0;
}

std::map<std::pair<std::string, std::string>, std::string> DeclaredInTestdata() {
  std::ifstream in(std::string(MIGSBYU_AUTH_TESTDATA) + "/route_permissions.txt");
  EXPECT_TRUE(in.good());
  std::map<std::pair<std::string, std::string>, std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string method, pattern, permission;
    fields >> method >> pattern >> permission;
    EXPECT_FALSE(permission.empty()) << "malformed line: " << line;
    EXPECT_TRUE(out.emplace(std::make_pair(method, pattern), permission).second)
        << "listed twice: " << line;
  }
  return out;
}

class AuthzMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new migsbyu::testing::TestDatabase("authz");
    // A web root of two files: the static UI is public, as the page must load to sign in.
    web_dir_ = new std::string(
        (std::filesystem::temp_directory_path() / ("migsbyu-authz-web-" + db_->name())).string());
    std::filesystem::create_directories(*web_dir_ + "/assets");
    std::ofstream(*web_dir_ + "/index.html") << "<!doctype html><title>matrix</title>";
    std::ofstream(*web_dir_ + "/assets/app-0123abcd.js") << "console.log('matrix');";
    serve_ = new ServeProcess(db_->url(), db_->name(), /*pipeline=*/true, {"--web-dir", *web_dir_});
    ASSERT_TRUE(serve_->running());
    const std::string admin_password = serve_->FirstPassword();
    ASSERT_FALSE(admin_password.empty()) << serve_->Output();
    auto& creds = *new std::map<std::string, std::pair<Credential, Credential>>();
    creds_ = &creds;
    for (const auto& role : kRoles) {
      std::string user = role == "admin" ? "admin" : "matrix-" + role;
      std::string password = role == "admin" ? admin_password : "password of " + user;
      if (role != "admin") {
        auto added = RunMigsbyu(
            {"user", "add", user, "--role", role, "--password-stdin", "--database-url", db_->url()},
            password + "\n");
        ASSERT_EQ(added.exit_code, 0) << added.err;
      }
      auto token = RunMigsbyu({"token", "create", "--role", role, "--name", "matrix-" + role,
                               "--database-url", db_->url()});
      ASSERT_EQ(token.exit_code, 0) << token.err;
      std::string secret = token.out.substr(0, token.out.find('\n'));
      // Seen by the server within its poll interval.
      ASSERT_TRUE(Eventually(
          [&] { return serve_->api().Call("GET", "/auth/me", Bearer(secret)).status == 200; }));
      Reply login = serve_->api().Login(user, password);
      ASSERT_EQ(login.status, 200) << login.body;
      creds[role] = {Bearer(secret), Cookie(CookieValue(login.Header("Set-Cookie")))};
    }
    auto token = RunMigsbyu(
        {"token", "create", "--role", "admin", "--name", "revoked", "--database-url", db_->url()});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    revoked_ = new std::string(token.out.substr(0, token.out.find('\n')));
    ASSERT_TRUE(Eventually(
        [&] { return serve_->api().Call("GET", "/auth/me", Bearer(*revoked_)).status == 200; }));
    auto revoke = RunMigsbyu({"token", "revoke", "revoked", "--database-url", db_->url()});
    ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
    ASSERT_TRUE(Eventually(
        [&] { return serve_->api().Call("GET", "/auth/me", Bearer(*revoked_)).status == 401; }));
    // The analytics routes register with capture: wait until they are served.
    ASSERT_TRUE(Eventually([&] {
      return serve_->api().Call("GET", "/analytics/status", creds["viewer"].first).status == 200;
    }));
    Reply doc = serve_->api().Call("GET", "/openapi.json");
    ASSERT_EQ(doc.status, 200);
    openapi_ = new json(doc.Json());
  }

  static void TearDownTestSuite() {
    delete serve_;
    delete db_;
    delete creds_;
    delete revoked_;
    delete openapi_;
    std::error_code ec;
    if (web_dir_) std::filesystem::remove_all(*web_dir_, ec);
    delete web_dir_;
  }

  static migsbyu::testing::TestDatabase* db_;
  static ServeProcess* serve_;
  static std::map<std::string, std::pair<Credential, Credential>>* creds_;  // role: token, session
  static std::string* revoked_;
  static json* openapi_;
  static std::string* web_dir_;
};

migsbyu::testing::TestDatabase* AuthzMatrixTest::db_ = nullptr;
ServeProcess* AuthzMatrixTest::serve_ = nullptr;
std::map<std::string, std::pair<Credential, Credential>>* AuthzMatrixTest::creds_ = nullptr;
std::string* AuthzMatrixTest::revoked_ = nullptr;
json* AuthzMatrixTest::openapi_ = nullptr;
std::string* AuthzMatrixTest::web_dir_ = nullptr;

TEST_F(AuthzMatrixTest, EveryRouteDeclaresThePermissionItsRulesGiveIt) {
  ASSERT_NE(openapi_, nullptr);
  auto declared = DeclaredInTestdata();
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& op : Operations(*openapi_)) {
    served.insert({op.method, op.pattern});
    if (!op.permission) {
      ADD_FAILURE() << op.method << " " << op.pattern
                    << " declares no permission (RouteDoc::permission): everyone is refused";
      continue;
    }
    auto it = declared.find({op.method, op.pattern});
    if (it == declared.end()) {
      ADD_FAILURE() << op.method << " " << op.pattern << " (" << *op.permission
                    << ") is not in testdata/route_permissions.txt: decide its permission there";
      continue;
    }
    EXPECT_EQ(*op.permission, it->second) << op.method << " " << op.pattern;
  }
  for (const auto& [route, permission] : declared) {
    EXPECT_TRUE(served.count(route))
        << route.first << " " << route.second << " is listed in testdata but not served";
  }
  EXPECT_GE(served.size(), 60u);  // the whole table, analytics included
}

TEST_F(AuthzMatrixTest, EachRouteAnswersEachCallerAsItsPermissionSays) {
  ASSERT_NE(openapi_, nullptr);
  const int port = serve_->api_port();
  int calls = 0;
  auto admitted = [](int status) { return status != 0 && status != 401 && status != 403; };
  for (const auto& op : Operations(*openapi_)) {
    if (!op.permission) continue;  // failed above
    const std::string what = op.method + " " + op.path;
    const bool open = *op.permission == "public";
    for (const Credential& cred : {Credential{}, Bearer(*revoked_)}) {
      int status = StatusOf(port, op, cred, "");
      ++calls;
      if (open) {
        EXPECT_TRUE(admitted(status)) << what << " without a valid credential: " << status;
      } else {
        EXPECT_EQ(status, 401) << what << (cred.bearer.empty() ? " anonymous" : " revoked token");
      }
    }
    for (const auto& role : kRoles) {
      const bool allowed = Allowed().at(*op.permission).count(role) > 0;
      const auto& [token, session] = creds_->at(role);
      for (const Credential* cred : {&token, &session}) {
        int status = StatusOf(port, op, *cred, "");
        ++calls;
        const char* via = cred->bearer.empty() ? " session" : " token";
        if (allowed) {
          EXPECT_TRUE(admitted(status)) << what << " as " << role << via << ": " << status;
          EXPECT_TRUE(status < 500 || status == 503) << what << " as " << role << ": " << status;
        } else {
          EXPECT_EQ(status, 403) << what << " as " << role << via;
        }
      }
    }
    // The web address serves the same table under /api, behind the same gate.
    int web = StatusOf(serve_->web_port(), op, {}, "/api");
    if (open) {
      EXPECT_TRUE(admitted(web)) << "/api" << what << ": " << web;
    } else {
      EXPECT_EQ(web, 401) << "/api" << what;
    }
  }
  EXPECT_GT(calls, 500);
}

// The web UI's files are served before routing, to anyone: the login page is one of them. They
// hold no data; every call they make goes to /api, behind the gate (above).
TEST_F(AuthzMatrixTest, TheWebUisFilesArePublic) {
  ASSERT_NE(serve_, nullptr);
  std::vector<Credential> callers = {Credential{}, Bearer(*revoked_)};
  for (const auto& role : kRoles) {
    callers.push_back(creds_->at(role).first);
    callers.push_back(creds_->at(role).second);
  }
  const Operation get{.method = "GET"};
  for (const char* path :
       {"/", "/index.html", "/assets/app-0123abcd.js", "/operational/students", "/login"}) {
    for (const auto& cred : callers) {
      Operation op = get;
      op.path = path;
      EXPECT_EQ(StatusOf(serve_->web_port(), op, cred, ""), 200) << path;
    }
  }
  Operation missing = get;
  missing.path = "/assets/none-such.js";
  EXPECT_EQ(StatusOf(serve_->web_port(), missing, {}, ""), 404);
}

}  // namespace
}  // namespace migsbyu::auth::testing
