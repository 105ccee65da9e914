// The sign-in routes and the gate through real loopback HTTP: the portal's server with the auth
// routes, one probe route per permission, and a manual clock.
#include "auth/auth_api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "auth/gate.h"
#include "auth/secret.h"
#include "auth/testing.h"
#include "portal/docs.h"
#include "portal/server.h"

namespace migsbyu::auth {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using portal::Permission;
using portal::Role;

using testing::Bearer;
using testing::Cookie;
using testing::CookieValue;
using testing::Credential;
using testing::Reply;

class AuthApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(false); }
  void TearDown() override { Stop(); }

  void Start(bool secure_cookie, bool open = false) {
    AuthOptions options;
    options.rate_limits.user_failures = 3;
    options.rate_limits.address_attempts = 1000;
    auth_ = db_.Start(clock_, options);
    ASSERT_NE(auth_, nullptr);
    router_ = std::make_unique<portal::Router>();
    gate_ = std::make_unique<SignInGate>(*auth_, secure_cookie);
    router_->SetGate(open ? static_cast<const portal::Gate*>(&open_) : gate_.get());
    RegisterAuthRoutes(*router_, *auth_, {.open = open, .secure_cookie = secure_cookie});
    portal::RegisterDocs(*router_, "test", "0");
    for (auto p : {Permission::kPublic, Permission::kRead, Permission::kWrite, Permission::kConsole,
                   Permission::kAdmin}) {
      portal::RouteDoc doc;
      doc.permission = p;
      router_->Add("GET", "/t/" + std::string(portal::PermissionName(p)), Echo, doc);
    }
    router_->Add("GET", "/t/undeclared", Echo);  // declares no permission
    server_ = std::make_unique<portal::Server>(
        *router_, portal::ServerOptions{.api_address = "127.0.0.1:0", .web_address = ""});
    ASSERT_TRUE(server_->Start().ok());
    if (!open && auth_->Users()->empty()) {
      ASSERT_TRUE(auth_->AddUser({"root", Role::kAdmin, std::nullopt, "root password 1"}).ok());
    }
  }

  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
    router_.reset();
    gate_.reset();
    auth_.reset();
  }

  static portal::Response Echo(const portal::Request& request) {
    if (!request.principal) return portal::Response::Json({{"principal", nullptr}});
    return portal::Response::Json({{"user", request.principal->user},
                                   {"role", portal::RoleName(request.principal->role)},
                                   {"pii", request.principal->pii}});
  }

  Reply Call(const std::string& method, const std::string& path, const Credential& cred = {},
             const std::string& body = "") {
    return testing::HttpClient(server_->api_port()).Call(method, path, cred, body);
  }
  Reply Call(const std::string& method, const std::string& path, const Credential& cred,
             const json& body) {
    return Call(method, path, cred, body.dump());
  }
  Reply Login(const std::string& user, const std::string& password) {
    return testing::HttpClient(server_->api_port()).Login(user, password);
  }

  // Signs in as a new user of `role` and returns the session cookie's value.
  std::string SessionOf(const std::string& name, Role role) {
    EXPECT_TRUE(auth_->AddUser({name, role, std::nullopt, "password of " + name}).ok());
    Reply r = Login(name, "password of " + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return CookieValue(r.Header("Set-Cookie"));
  }

  std::string Root() { return SessionOf("root2", Role::kAdmin); }

  testing::AuthDatabase db_;
  testing::ManualClock clock_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<SignInGate> gate_;
  OpenGate open_;
  std::unique_ptr<portal::Router> router_;
  std::unique_ptr<portal::Server> server_;
};

TEST_F(AuthApiTest, SignInSetsAStrictHttpOnlyCookieThatAdmitsTheBrowser) {
  Reply r = Login("root", "root password 1");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = r.Header("Set-Cookie");
  EXPECT_TRUE(cookie.starts_with("migsbyu_session=mgs_")) << cookie;
  for (const char* attribute : {"; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age=43200"}) {
    EXPECT_NE(cookie.find(attribute), std::string::npos) << cookie;
  }
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << cookie;
  json body = r.Json();
  EXPECT_EQ(body["user"], "root");
  EXPECT_EQ(body["role"], "admin");
  EXPECT_EQ(body["pii"], true);
  EXPECT_EQ(body["via"], "session");
  EXPECT_EQ(body["idle_timeout_seconds"], 1800);
  EXPECT_EQ(body["permissions"], json({"public", "read", "write", "console", "admin"}));
  EXPECT_EQ(body.dump().find("password"), std::string::npos);

  Reply me = Call("GET", "/auth/me", Cookie(CookieValue(cookie)));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Json()["user"], "root");
  EXPECT_EQ(me.Json()["via"], "session");
}

TEST_F(AuthApiTest, UnderTlsTheCookieIsSecure) {
  Stop();
  Start(true);
  Reply r = Login("root", "root password 1");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Set-Cookie").find("; Secure"), std::string::npos) << r.Header("Set-Cookie");
  Reply out = Call("POST", "/auth/logout", Cookie(CookieValue(r.Header("Set-Cookie"))));
  EXPECT_NE(out.Header("Set-Cookie").find("; Secure"), std::string::npos);
}

TEST_F(AuthApiTest, AWrongUserAndAWrongPasswordAnswerTheSame) {
  Reply wrong_password = Login("root", "not the password");
  Reply wrong_user = Login("nobody", "root password 1");
  ASSERT_EQ(wrong_password.status, 401);
  EXPECT_EQ(wrong_user.status, 401);
  EXPECT_EQ(wrong_user.body, wrong_password.body);
  EXPECT_EQ(wrong_password.Json(), json({{"detail", "Invalid user name or password"}}));
  EXPECT_EQ(wrong_user.Header("Set-Cookie"), "");
  EXPECT_EQ(wrong_password.Header("Set-Cookie"), "");
}

TEST_F(AuthApiTest, SignInIsRateLimitedWithA429AndRetryAfter) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Login("root", "guess " + std::to_string(i)).status, 401);
  Reply limited = Login("root", "root password 1");
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.Header("Retry-After"), "900");
  EXPECT_NE(limited.Json()["detail"].get<std::string>().find("Too many sign-in attempts"),
            std::string::npos);
  // An unknown name is limited the same way, so a 429 says nothing about who exists.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Login("nobody", "guess " + std::to_string(i)).status, 401);
  EXPECT_EQ(Login("nobody", "guess").status, 429);
  clock_.Advance(15min);
  EXPECT_EQ(Login("root", "root password 1").status, 200);
}

TEST_F(AuthApiTest, SignInBodiesAreValidated) {
  EXPECT_EQ(Call("POST", "/auth/login", {}, std::string("{")).status, 400);
  EXPECT_EQ(Call("POST", "/auth/login", {}, json{{"user", "root"}}).status, 422);
  Reply extra = Call("POST", "/auth/login", {},
                     json{{"user", "root"}, {"password", "root password 1"}, {"role", "admin"}});
  ASSERT_EQ(extra.status, 422);
  EXPECT_EQ(extra.Json()["detail"][0]["loc"], json({"body", "role"}));
  EXPECT_EQ(Call("POST", "/auth/login", {}, json{{"user", 1}, {"password", "x"}}).status, 422);
}

TEST_F(AuthApiTest, EachRoleIsAdmittedExactlyWhereItsPermissionsReach) {
  std::map<Role, std::string> cookies = {{Role::kViewer, SessionOf("v", Role::kViewer)},
                                         {Role::kAnalyst, SessionOf("a", Role::kAnalyst)},
                                         {Role::kRegistrar, SessionOf("r", Role::kRegistrar)},
                                         {Role::kAdmin, SessionOf("d", Role::kAdmin)}};
  for (auto p : {Permission::kPublic, Permission::kRead, Permission::kWrite, Permission::kConsole,
                 Permission::kAdmin}) {
    const std::string path = "/t/" + std::string(portal::PermissionName(p));
    Reply anonymous = Call("GET", path);
    Reply forged = Call("GET", path, Bearer(NewSecret(SecretKind::kToken)));
    Reply garbage = Call("GET", path, Cookie("not-a-session"));
    if (p == Permission::kPublic) {
      EXPECT_EQ(anonymous.status, 200);
      EXPECT_EQ(anonymous.Json(), json({{"principal", nullptr}}));
      EXPECT_EQ(forged.status, 200);
    } else {
      for (const Reply* r : {&anonymous, &forged, &garbage}) {
        EXPECT_EQ(r->status, 401) << path;
        EXPECT_TRUE(r->Json()["detail"].is_string()) << r->body;
        EXPECT_EQ(r->Header("WWW-Authenticate"), "Bearer realm=\"migsbyu\"");
      }
      EXPECT_EQ(anonymous.body, forged.body);  // no tell between none and a guessed one
    }
    for (const auto& [role, cookie] : cookies) {
      Reply r = Call("GET", path, Cookie(cookie));
      if (portal::RoleHolds(role, p)) {
        EXPECT_EQ(r.status, 200) << path << " as " << portal::RoleName(role) << ": " << r.body;
        EXPECT_EQ(r.Json()["role"], portal::RoleName(role));
      } else {
        EXPECT_EQ(r.status, 403) << path << " as " << portal::RoleName(role);
        EXPECT_NE(r.Json()["detail"].get<std::string>().find(portal::PermissionName(p)),
                  std::string::npos)
            << r.body;
      }
    }
  }
  // A route that declares nothing is refused even to an admin.
  EXPECT_EQ(Call("GET", "/t/undeclared", Cookie(cookies[Role::kAdmin])).status, 403);
}

TEST_F(AuthApiTest, SignOutEndsTheSessionAndClearsTheCookie) {
  std::string cookie = CookieValue(Login("root", "root password 1").Header("Set-Cookie"));
  ASSERT_EQ(Call("GET", "/t/read", Cookie(cookie)).status, 200);
  Reply out = Call("POST", "/auth/logout", Cookie(cookie));
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.Json(), json({{"ok", true}}));
  EXPECT_TRUE(out.Header("Set-Cookie").starts_with("migsbyu_session=; Path=/; Max-Age=0"))
      << out.Header("Set-Cookie");
  EXPECT_EQ(Call("GET", "/t/read", Cookie(cookie)).status, 401);
  EXPECT_EQ(Call("POST", "/auth/logout").status, 200);  // signed out already: fine
}

TEST_F(AuthApiTest, AnIdleSessionIsRefusedAndItsCookieCleared) {
  std::string cookie = CookieValue(Login("root", "root password 1").Header("Set-Cookie"));
  clock_.Advance(29min);
  ASSERT_EQ(Call("GET", "/t/read", Cookie(cookie)).status, 200);
  clock_.Advance(30min);
  Reply r = Call("GET", "/t/read", Cookie(cookie));
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.Header("Set-Cookie").starts_with("migsbyu_session=;")) << r.Header("Set-Cookie");
}

TEST_F(AuthApiTest, AdminsManageUsers) {
  Credential root = Cookie(Root());
  Reply added = Call("POST", "/auth/users", root,
                     json{{"name", "ana"}, {"role", "analyst"}, {"password", "analyst password"}});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.Json()["pii"], false);
  EXPECT_EQ(added.Json()["disabled"], false);
  EXPECT_EQ(added.body.find("password"), std::string::npos);
  EXPECT_EQ(Call("POST", "/auth/users", root,
                 json{{"name", "ana"}, {"role", "viewer"}, {"password", "another password"}})
                .status,
            409);
  Reply bad = Call("POST", "/auth/users", root,
                   json{{"name", "Bad Name"}, {"role", "king"}, {"password", "short"}});
  ASSERT_EQ(bad.status, 422);
  EXPECT_EQ(bad.Json()["detail"].size(), 3u) << bad.body;

  Reply changed =
      Call("PATCH", "/auth/users/ana", root, json{{"role", "registrar"}, {"pii", true}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.Json()["role"], "registrar");
  EXPECT_EQ(changed.Json()["pii"], true);
  Reply listed = Call("GET", "/auth/users", root);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.Json().size(), 3u);  // root, root2, ana
  EXPECT_EQ(listed.body.find("argon2"), std::string::npos);

  ASSERT_EQ(Call("PATCH", "/auth/users/ana", root, json{{"password", "reset by an admin"}}).status,
            200);
  EXPECT_EQ(Login("ana", "analyst password").status, 401);
  std::string ana = CookieValue(Login("ana", "reset by an admin").Header("Set-Cookie"));
  ASSERT_EQ(Call("GET", "/t/write", Cookie(ana)).status, 200);
  ASSERT_EQ(Call("PATCH", "/auth/users/ana", root, json{{"disabled", true}}).status, 200);
  EXPECT_EQ(Call("GET", "/t/read", Cookie(ana)).status, 401);
  EXPECT_EQ(Call("PATCH", "/auth/users/nobody", root, json{{"pii", true}}).status, 404);
  // Two admins: one may step down, not both.
  ASSERT_EQ(Call("PATCH", "/auth/users/root", root, json{{"role", "viewer"}}).status, 200);
  EXPECT_EQ(Call("PATCH", "/auth/users/root2", root, json{{"disabled", true}}).status, 409);
}

TEST_F(AuthApiTest, AdminsCreateAndRevokeTokens) {
  Credential root = Cookie(Root());
  Reply created = Call("POST", "/auth/tokens", root, json{{"name", "etl"}, {"role", "registrar"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string secret = created.Json()["token"];
  EXPECT_TRUE(IsSecretOf(secret, SecretKind::kToken));
  EXPECT_EQ(created.Json()["created_by"], "root2");
  EXPECT_EQ(created.Json()["pii"], true);
  Reply used = Call("GET", "/t/write", Bearer(secret));
  ASSERT_EQ(used.status, 200);
  EXPECT_EQ(used.Json()["user"], "token:etl");
  Reply me = Call("GET", "/auth/me", Bearer(secret));
  EXPECT_EQ(me.Json()["via"], "token");
  Reply listed = Call("GET", "/auth/tokens", root);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.Json().size(), 1u);
  EXPECT_EQ(listed.body.find(secret), std::string::npos);
  EXPECT_FALSE(listed.Json()[0]["last_used_at"].is_null());
  EXPECT_EQ(Call("POST", "/auth/tokens", root, json{{"name", "etl"}, {"role", "viewer"}}).status,
            409);
  const std::string id = std::to_string(listed.Json()[0]["id"].get<int64_t>());
  ASSERT_EQ(Call("DELETE", "/auth/tokens/" + id, root).status, 200);
  EXPECT_EQ(Call("GET", "/t/read", Bearer(secret)).status, 401);
  EXPECT_EQ(Call("DELETE", "/auth/tokens/" + id, root).status, 404);
  EXPECT_EQ(Call("DELETE", "/auth/tokens/x1", root).status, 404);
  EXPECT_EQ(Call("GET", "/auth/tokens?include_revoked=true", root).Json().size(), 1u);
  EXPECT_EQ(Call("GET", "/auth/tokens", root).Json().size(), 0u);
  Reply expiring = Call("POST", "/auth/tokens", root,
                        json{{"name", "short"}, {"role", "viewer"}, {"expires_in_days", 1}});
  ASSERT_EQ(expiring.status, 200);
  const std::string short_lived = expiring.Json()["token"];
  ASSERT_EQ(Call("GET", "/t/read", Bearer(short_lived)).status, 200);
  clock_.Advance(24h);
  EXPECT_EQ(Call("GET", "/t/read", Bearer(short_lived)).status, 401);
}

TEST_F(AuthApiTest, AdminsListAndRevokeSessions) {
  Credential root = Cookie(Root());
  std::string viewer = SessionOf("vera", Role::kViewer);
  Reply listed = Call("GET", "/auth/sessions", root);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.Json().size(), 2u);
  EXPECT_EQ(listed.body.find(viewer), std::string::npos);
  int64_t vera = 0;
  for (const auto& s : listed.Json()) {
    if (s["user"] == "vera") vera = s["id"];
  }
  ASSERT_NE(vera, 0);
  ASSERT_EQ(Call("DELETE", "/auth/sessions/" + std::to_string(vera), root).status, 200);
  EXPECT_EQ(Call("GET", "/t/read", Cookie(viewer)).status, 401);
  EXPECT_EQ(Call("GET", "/auth/sessions", root).Json().size(), 1u);
  // Not for others.
  EXPECT_EQ(Call("GET", "/auth/sessions", Cookie(SessionOf("reg", Role::kRegistrar))).status, 403);
}

TEST_F(AuthApiTest, TheOpenApiDocumentShowsHowEachOperationIsReached) {
  Reply doc = Call("GET", "/openapi.json");
  ASSERT_EQ(doc.status, 200);
  json d = doc.Json();
  EXPECT_EQ(d["components"]["securitySchemes"]["session"]["in"], "cookie");
  EXPECT_EQ(d["components"]["securitySchemes"]["session"]["name"], "migsbyu_session");
  EXPECT_EQ(d["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  json read = d["paths"]["/t/read"]["get"];
  EXPECT_EQ(read["x-permission"], "read");
  EXPECT_EQ(read["x-roles"], json({"viewer", "analyst", "registrar", "admin"}));
  EXPECT_EQ(read["security"], json::parse(R"([{"bearer": []}, {"session": []}])"));
  EXPECT_TRUE(read["responses"].contains("401"));
  EXPECT_TRUE(read["responses"].contains("403"));
  EXPECT_EQ(d["paths"]["/t/admin"]["get"]["x-roles"], json({"admin"}));
  EXPECT_EQ(d["paths"]["/auth/login"]["post"]["security"], json::array());
  EXPECT_EQ(d["paths"]["/auth/login"]["post"]["x-permission"], "public");
  EXPECT_FALSE(d["paths"]["/t/undeclared"]["get"].contains("x-permission"));
}

TEST_F(AuthApiTest, TheOpenGateActsAsTheLocalAdminForEveryRequest) {
  Stop();
  Start(false, true);
  for (const char* path : {"/t/read", "/t/write", "/t/console", "/t/admin", "/t/public"}) {
    Reply r = Call("GET", path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.Json(), json({{"user", "local"}, {"role", "admin"}, {"pii", true}})) << path;
  }
  EXPECT_EQ(Call("GET", "/auth/me").Json()["via"], "open");
}

TEST(LoopbackTest, TheOpenGateIsForLoopbackAddressesOnly) {
  EXPECT_TRUE(
      CheckLoopbackOnly({"127.0.0.1:8000", "127.8.9.1:1", "[::1]:8501", "localhost:1", ""}).ok());
  for (const char* address :
       {"0.0.0.0:8000", "10.0.0.1:80", "[::]:8000", "example.org:80", "128.0.0.1:1"}) {
    auto r = CheckLoopbackOnly({"127.0.0.1:8000", address});
    ASSERT_FALSE(r.ok()) << address;
    EXPECT_NE(r.error().message().find(address), std::string::npos);
  }
}

}  // namespace
}  // namespace migsbyu::auth
