#include "auth/auth_api.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "auth/gate.h"
#include "portal/rest_api.h"

namespace migsbyu::auth {
namespace {

using nlohmann::json;
using portal::Permission;
using portal::Request;
using portal::Response;

constexpr int64_t kMicros = 1000000;

json Instant(int64_t us) {
  time_t seconds = static_cast<time_t>(us / kMicros);
  int64_t fraction = us % kMicros;
  if (fraction < 0) {
    fraction += kMicros;
    --seconds;
  }
  tm t{};
  ::gmtime_r(&seconds, &t);
  char buf[48];
  size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(fraction));
  return buf;
}

json Instant(const std::optional<int64_t>& us) { return us ? Instant(*us) : json(nullptr); }

json Permissions(portal::Role role) {
  json out = json::array();
  for (auto p : {Permission::kPublic, Permission::kRead, Permission::kWrite, Permission::kConsole,
                 Permission::kAdmin}) {
    if (portal::RoleHolds(role, p)) out.push_back(portal::PermissionName(p));
  }
  return out;
}

json MeJson(const portal::Principal& p, std::string_view via) {
  return {{"user", p.user},
          {"role", portal::RoleName(p.role)},
          {"pii", p.pii},
          {"permissions", Permissions(p.role)},
          {"via", via}};
}

json UserJson(const User& u) {
  return {{"name", u.name},
          {"role", portal::RoleName(u.role)},
          {"pii", u.pii},
          {"disabled", u.disabled},
          {"created_at", Instant(u.created_us)}};
}

json TokenJson(const Token& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", portal::RoleName(t.role)},
          {"pii", t.pii},
          {"created_by", t.created_by},
          {"created_at", Instant(t.created_us)},
          {"expires_at", Instant(t.expires_us)},
          {"revoked_at", Instant(t.revoked_us)},
          {"last_used_at", Instant(t.last_used_us)}};
}

json SessionJson(const Session& s) {
  return {{"id", s.id},
          {"user", s.user},
          {"created_at", Instant(s.created_us)},
          {"last_seen_at", Instant(s.last_seen_us)},
          {"expires_at", Instant(s.expires_us)},
          {"peer", s.peer}};
}

// A JSON object body read field by field; every problem becomes one 422 entry.
class Body {
 public:
  static Result<Body> Parse(const std::string& text, std::vector<std::string> known) {
    MIGSBYU_ASSIGN(json body, portal::ParseJsonBody(text));
    if (!body.is_object()) return Error::Validation({{"body", "value is not a valid dict"}});
    Body out(std::move(body));
    for (const auto& [name, value] : out.json_.items()) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        out.errors_.push_back({"body." + name, "extra fields not permitted"});
      }
    }
    return out;
  }

  std::optional<std::string> String(const std::string& name, bool required, size_t max_bytes) {
    const json* v = Find(name, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) return Fail(name, "str type expected");
    auto s = v->get<std::string>();
    if (s.empty() || s.size() > max_bytes) {
      return Fail(name, "1 to " + std::to_string(max_bytes) + " bytes");
    }
    return s;
  }

  std::optional<bool> Bool(const std::string& name) {
    const json* v = Find(name, false);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) return Fail(name, "value is not a valid boolean");
    return v->get<bool>();
  }

  std::optional<int64_t> Integer(const std::string& name, int64_t min, int64_t max) {
    const json* v = Find(name, false);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) return Fail(name, "value is not a valid integer");
    auto i = v->get<int64_t>();
    if (i < min || i > max) {
      return Fail(name, "ensure this value is at least " + std::to_string(min) + " and at most " +
                            std::to_string(max));
    }
    return i;
  }

  std::optional<portal::Role> Role(bool required) {
    auto name = String("role", required, 16);
    if (!name) return std::nullopt;
    auto role = portal::ParseRole(*name);
    if (!role) return Fail("role", "one of viewer, analyst, registrar, admin");
    return role;
  }

  // Adds a rule's failure (a Validation error from accounts.h) for `name`.
  void Check(const Status& status) {
    if (status.ok()) return;
    for (const auto& f : status.error().fields()) errors_.push_back({"body." + f.field, f.message});
  }

  Status Done() const {
    if (!errors_.empty()) return Error::Validation(errors_);
    return OkStatus();
  }

 private:
  explicit Body(json j) : json_(std::move(j)) {}

  const json* Find(const std::string& name, bool required) {
    auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) {
      if (required) errors_.push_back({"body." + name, "field required"});
      return nullptr;
    }
    return &*it;
  }

  std::nullopt_t Fail(const std::string& name, std::string message) {
    errors_.push_back({"body." + name, std::move(message)});
    return std::nullopt;
  }

  json json_;
  std::vector<FieldError> errors_;
};

// Runs `fn`, whose errors become responses (Response::FromError).
Response Answer(const std::function<Result<Response>()>& fn) {
  auto r = fn();
  if (!r.ok()) return Response::FromError(r.error());
  return std::move(r).value();
}

Result<int64_t> PathId(const Request& request) {
  const std::string text = request.PathParam("id");
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return Error::NotFound("no such id '" + text + "'");
  }
  return id;
}

json Ok(const std::string& description) { return {{"description", description}}; }

portal::RouteDoc Doc(std::string summary, Permission permission, json body = nullptr,
                     json responses = nullptr) {
  portal::RouteDoc doc;
  doc.summary = std::move(summary);
  doc.tag = "Sign-in";
  doc.request_body = std::move(body);
  doc.responses = std::move(responses);
  doc.permission = permission;
  return doc;
}

json BodySchema(json properties, json required) {
  return {{"required", true},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"properties", std::move(properties)},
                {"required", std::move(required)},
                {"additionalProperties", false}}}}}}}};
}

json RoleSchema() {
  return {{"type", "string"}, {"enum", {"viewer", "analyst", "registrar", "admin"}}};
}

void RegisterSignIn(portal::Router& router, Authenticator& auth, const AuthRoutesOptions& o) {
  const bool secure = o.secure_cookie;
  router.Add(
      "POST", "/auth/login",
      [&auth, secure](const Request& request) {
        std::string user;
        Result<Authenticator::SignedIn> signed_in = [&]() -> Result<Authenticator::SignedIn> {
          MIGSBYU_ASSIGN(Body body, Body::Parse(request.body, {"user", "password"}));
          auto name = body.String("user", true, 256);
          auto password = body.String("password", true, 1024);
          MIGSBYU_TRY(body.Done());
          user = *name;
          return auth.SignIn(*name, *password, request.peer);
        }();
        if (!signed_in.ok()) {
          Response r = Response::FromError(signed_in.error());
          if (signed_in.error().code() == ErrorCode::kTooManyRequests) {
            int64_t wait =
                auth.rate_limiter().RetryAfterSeconds(user, request.peer, auth.NowMicros());
            r.headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, wait)));
          }
          return r;
        }
        json out = MeJson(signed_in->principal, "session");
        out["expires_at"] = Instant(signed_in->session.expires_us);
        out["idle_timeout_seconds"] = auth.options().session_idle.count();
        Response r = Response::Json(out);
        r.headers.emplace_back(
            "Set-Cookie",
            SessionCookieValue(signed_in->secret, auth.options().session_lifetime.count(), secure));
        return r;
      },
      Doc("Sign in: a session cookie for the browser", Permission::kPublic,
          BodySchema({{"user", {{"type", "string"}}}, {"password", {{"type", "string"}}}},
                     {"user", "password"}),
          {{"200", Ok("Signed in: who, and the session's end; the cookie is set")},
           {"401", Ok("Invalid user name or password (the same answer for either)")},
           {"422", Ok("A malformed body")},
           {"429", Ok("Too many attempts for this user or from this address; see Retry-After")}}));

  router.Add(
      "POST", "/auth/logout",
      [&auth, secure](const Request& request) {
        if (auto cookie = SessionCookie(request)) {
          if (auto ended = auth.SignOut(*cookie); !ended.ok()) {
            return Response::FromError(ended.error());
          }
        }
        Response r = Response::Json({{"ok", true}});
        r.headers.emplace_back("Set-Cookie", ClearedSessionCookie(secure));
        return r;
      },
      Doc("Sign out: ends the cookie's session and clears the cookie", Permission::kPublic));

  const bool open = o.open;
  router.Add(
      "GET", "/auth/me",
      [open](const Request& request) {
        // The gate admitted the request, so it has a principal.
        const portal::Principal who = request.principal.value_or(portal::Principal{});
        const char* via = open ? "open" : BearerToken(request) ? "token" : "session";
        return Response::Json(MeJson(who, via));
      },
      Doc("Who the request acts for: user, role, pii grant, permissions", Permission::kRead));
}

void RegisterUsers(portal::Router& router, Authenticator& auth) {
  router.Add(
      "GET", "/auth/users",
      [&auth](const Request&) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(auto users, auth.Users());
          json out = json::array();
          for (const auto& u : users) out.push_back(UserJson(u));
          return Response::Json(out);
        });
      },
      Doc("The users (never their passwords)", Permission::kAdmin));
  router.Add(
      "POST", "/auth/users",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(Body body, Body::Parse(request.body, {"name", "role", "pii", "password"}));
          NewUser user;
          auto name = body.String("name", true, 64);
          auto role = body.Role(true);
          user.pii = body.Bool("pii");
          auto password = body.String("password", true, 1024);
          if (name) body.Check(CheckName(*name));
          if (password) body.Check(CheckPasswordRules(*password));
          MIGSBYU_TRY(body.Done());
          user.name = *name;
          user.role = *role;
          user.password = *password;
          MIGSBYU_ASSIGN(auto created, auth.AddUser(user));
          return Response::Json(UserJson(created));
        });
      },
      Doc("Add a user (pii defaults to the role's: on for admin and registrar)", Permission::kAdmin,
          BodySchema({{"name", {{"type", "string"}}},
                      {"role", RoleSchema()},
                      {"pii", {{"type", "boolean"}}},
                      {"password", {{"type", "string"}, {"minLength", 10}}}},
                     {"name", "role", "password"})));
  router.Add(
      "PATCH", "/auth/users/{name}",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(Body body,
                         Body::Parse(request.body, {"role", "pii", "disabled", "password"}));
          UserChange change;
          change.role = body.Role(false);
          change.pii = body.Bool("pii");
          change.disabled = body.Bool("disabled");
          change.password = body.String("password", false, 1024);
          if (change.password) body.Check(CheckPasswordRules(*change.password));
          MIGSBYU_TRY(body.Done());
          MIGSBYU_ASSIGN(auto user, auth.ChangeUser(request.PathParam("name"), change));
          return Response::Json(UserJson(user));
        });
      },
      Doc("Change a user's role or pii grant, disable or enable them, or set a new password (a "
          "new password or disabling ends their sessions)",
          Permission::kAdmin,
          BodySchema({{"role", RoleSchema()},
                      {"pii", {{"type", "boolean"}}},
                      {"disabled", {{"type", "boolean"}}},
                      {"password", {{"type", "string"}, {"minLength", 10}}}},
                     json::array())));
}

void RegisterTokens(portal::Router& router, Authenticator& auth) {
  router.Add(
      "GET", "/auth/tokens",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(
              bool all, oltp::ParseBoolQuery([&](const std::string& n) { return request.Query(n); },
                                             "include_revoked", false));
          MIGSBYU_ASSIGN(auto tokens, auth.Tokens(all));
          json out = json::array();
          for (const auto& t : tokens) out.push_back(TokenJson(t));
          return Response::Json(out);
        });
      },
      Doc("The bearer tokens (never their secrets)", Permission::kAdmin));
  router.Add(
      "POST", "/auth/tokens",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(Body body,
                         Body::Parse(request.body, {"name", "role", "pii", "expires_in_days"}));
          NewToken token;
          auto name = body.String("name", true, 64);
          auto role = body.Role(true);
          token.pii = body.Bool("pii");
          auto days = body.Integer("expires_in_days", 1, 3650);
          if (name) body.Check(CheckName(*name));
          MIGSBYU_TRY(body.Done());
          token.name = *name;
          token.role = *role;
          if (days) token.expires_us = auth.NowMicros() + *days * 86400 * kMicros;
          token.created_by = request.principal ? request.principal->user : "";
          MIGSBYU_ASSIGN(auto created, auth.AddToken(token));
          json out = TokenJson(created.token);
          out["token"] = created.secret;
          return Response::Json(out);
        });
      },
      Doc("Create a bearer token; its secret is in this answer only", Permission::kAdmin,
          BodySchema({{"name", {{"type", "string"}}},
                      {"role", RoleSchema()},
                      {"pii", {{"type", "boolean"}}},
                      {"expires_in_days", {{"type", "integer"}, {"minimum", 1}}}},
                     {"name", "role"})));
  router.Add(
      "DELETE", "/auth/tokens/{id}",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(int64_t id, PathId(request));
          MIGSBYU_TRY(auth.RevokeToken(id));
          return Response::Json({{"ok", true}});
        });
      },
      Doc("Revoke a token: refused from the next request on", Permission::kAdmin));
}

void RegisterSessions(portal::Router& router, Authenticator& auth) {
  router.Add(
      "GET", "/auth/sessions",
      [&auth](const Request&) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(auto sessions, auth.Sessions());
          json out = json::array();
          for (const auto& s : sessions) out.push_back(SessionJson(s));
          return Response::Json(out);
        });
      },
      Doc("The browser sessions still signed in", Permission::kAdmin));
  router.Add(
      "DELETE", "/auth/sessions/{id}",
      [&auth](const Request& request) {
        return Answer([&]() -> Result<Response> {
          MIGSBYU_ASSIGN(int64_t id, PathId(request));
          MIGSBYU_TRY(auth.RevokeSession(id));
          return Response::Json({{"ok", true}});
        });
      },
      Doc("End a session: refused from the next request on", Permission::kAdmin));
}

}  // namespace

void RegisterAuthRoutes(portal::Router& router, Authenticator& auth, AuthRoutesOptions options) {
  router.AddSecurityScheme("session",
                           {{"type", "apiKey"},
                            {"in", "cookie"},
                            {"name", std::string(kSessionCookie)},
                            {"description", "The browser's session, set by POST /auth/login"}});
  router.AddSecurityScheme(
      "bearer", {{"type", "http"},
                 {"scheme", "bearer"},
                 {"description", "A token from POST /auth/tokens or `migsbyu token create`"}});
  RegisterSignIn(router, auth, options);
  RegisterUsers(router, auth);
  RegisterTokens(router, auth);
  RegisterSessions(router, auth);
}

}  // namespace migsbyu::auth
